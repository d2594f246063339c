package check

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
)

func TestVectors(t *testing.T) {
	if n, err := Vectors("x", []float32{1, 2, 3, 4}, 2); n != 2 || err != nil {
		t.Errorf("Vectors = %d, %v; want 2, nil", n, err)
	}
	if n, err := Vectors("x", nil, 2); n != 0 || err != nil {
		t.Errorf("Vectors(nil) = %d, %v; want 0, nil", n, err)
	}
	if _, err := Vectors("x", []float32{1, 2, 3}, 2); !errors.Is(err, kume.ErrDimension) {
		t.Errorf("ragged input: %v, want ErrDimension", err)
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		if _, err := Vectors("x", []float32{1, bad}, 2); !errors.Is(err, kume.ErrNonFinite) {
			t.Errorf("%v: %v, want ErrNonFinite", bad, err)
		}
	}
	if _, err := Vectors("x", []float32{1}, 0); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("d = 0: %v, want ErrInvalidArgument", err)
	}
}

func TestSearchAndIDs(t *testing.T) {
	if _, err := Search([]float32{1, 2}, 2, 0); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("k = 0: %v", err)
	}
	if err := IDs([]int64{1}, 2); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("too few ids: %v", err)
	}
	if err := IDs([]int64{1, -1}, 2); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("negative id: %v", err)
	}
	if err := IDs([]int64{5, 5}, 2); err != nil {
		t.Errorf("duplicate ids are allowed here: %v", err)
	}
}

func TestAdd(t *testing.T) {
	v := []float32{1, 2, 3, 4}
	if n, err := Add(v, 2, nil); n != 2 || err != nil {
		t.Errorf("Add without ids = %d, %v; want 2, nil", n, err)
	}
	if n, err := Add(v, 2, []int64{7, 9}); n != 2 || err != nil {
		t.Errorf("Add with ids = %d, %v; want 2, nil", n, err)
	}
	if _, err := Add(v, 2, Given(nil)); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("AddWithIDs with nil ids: %v, want ErrInvalidArgument", err)
	}
	if n, err := Add(nil, 2, Given(nil)); n != 0 || err != nil {
		t.Errorf("AddWithIDs of nothing with nil ids = %d, %v; want 0, nil", n, err)
	}
	if _, err := Add(v[:3], 2, []int64{-1}); !errors.Is(err, kume.ErrDimension) {
		t.Errorf("ragged vectors with a bad id: %v, want ErrDimension (vectors first)", err)
	}
}

func TestFirstNonFinite(t *testing.T) {
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	finite := []float32{0, -0, 1, -1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1e-40}
	for _, n := range []int{0, 1, 63, 64, 65, 130} {
		x := make([]float32, n)
		for i := range x {
			x[i] = finite[i%len(finite)]
		}
		if got := firstNonFinite(x); got != -1 {
			t.Fatalf("n=%d finite: %d", n, got)
		}
		for _, pos := range []int{0, n / 2, n - 1} {
			if n == 0 {
				continue
			}
			for _, bad := range specials {
				y := append([]float32(nil), x...)
				y[pos] = bad
				if pos < n-1 {
					y[n-1] = bad // a later one must not be reported first
				}
				if got := firstNonFinite(y); got != pos {
					t.Fatalf("n=%d, %v at %d: reported %d", n, bad, pos, got)
				}
			}
		}
	}
}

func TestOverflowingNorms(t *testing.T) {
	d := 4
	ok := []float32{1e18, 1e18, 1e18, 1e18, -3, 0, 1, 2}
	if _, err := Vectors("v", ok, d); err != nil {
		t.Fatalf("norm 4e36 refused: %v", err)
	}
	for _, huge := range []float32{2e19, -2e19, 3e38} {
		bad := append(append([]float32(nil), ok...), 0, huge, 0, 0)
		_, err := Vectors("v", bad, d)
		if !errors.Is(err, kume.ErrNonFinite) || !strings.Contains(err.Error(), "row 2") {
			t.Errorf("component %v: err = %v, want ErrNonFinite naming row 2", huge, err)
		}
	}
	// Each component fine, the sum of squares too large.
	many := make([]float32, 1000)
	for i := range many {
		many[i] = 6e17
	}
	if _, err := Vectors("v", many, 1000); !errors.Is(err, kume.ErrNonFinite) {
		t.Errorf("norm 3.6e38 over 1000 components: err = %v", err)
	}
}

func TestResultBound(t *testing.T) {
	for _, c := range []struct{ nq, k int }{{1, kume.MaxResults + 1}, {2, kume.MaxResults/2 + 1}, {1 << 40, 1 << 40}, {1, 1 << 62}, {3, math.MaxInt}} {
		if err := Results(c.nq, c.k); !errors.Is(err, kume.ErrInvalidArgument) {
			t.Errorf("nq %d k %d: err = %v", c.nq, c.k, err)
		}
	}
	for _, c := range []struct{ nq, k int }{{1, kume.MaxResults}, {0, 5}, {1000, 1000}} {
		if err := Results(c.nq, c.k); err != nil {
			t.Errorf("nq %d k %d: %v", c.nq, c.k, err)
		}
	}
}

// TestAnyLarge: the branch-free test finds a component at or above the
// limit, NaN (of either sign) and ±Inf at any position, and nothing below.
func TestAnyLarge(t *testing.T) {
	for _, d := range []int{1, 7, 256, 100000} {
		lim := largeBits(d)
		limf := math.Float32frombits(lim)
		if float64(limf)*float64(limf)*float64(d) >= math.MaxFloat32 {
			t.Fatalf("d=%d: limit %v is not safe", d, limf)
		}
		below := math.Float32frombits(lim - 1)
		for _, n := range []int{1, 63, 64, 65, 200} {
			x := make([]float32, n)
			for i := range x {
				x[i] = below
				if i%2 == 1 {
					x[i] = -below
				}
			}
			if anyLarge(x, lim) {
				t.Fatalf("d=%d n=%d: values just below the limit reported", d, n)
			}
			for _, bad := range []float32{limf, -limf, float32(math.NaN()), -float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
				for _, pos := range []int{0, n / 2, n - 1} {
					y := append([]float32(nil), x...)
					y[pos] = bad
					if !anyLarge(y, lim) {
						t.Fatalf("d=%d n=%d: %v at %d not found", d, n, bad, pos)
					}
				}
			}
		}
	}
}

func BenchmarkVectors(b *testing.B) {
	x := make([]float32, 2000*768)
	for i := range x {
		x[i] = float32(i%97) - 48
	}
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		if _, err := Vectors("x", x, 768); err != nil {
			b.Fatal(err)
		}
	}
}
