package asm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// argMinRef and atMostRef are the definitions, one value at a time.
func argMinRef(x []float32) int {
	best := -1
	for i, v := range x {
		if v == v && (best < 0 || v < x[best]) {
			best = i
		}
	}
	return max(best, 0)
}

func atMostRef(x []float32, thr float32) []int32 {
	var out []int32
	for i, v := range x {
		if v <= thr {
			out = append(out, int32(i))
		}
	}
	return out
}

// selectionInputs returns slices of every length up to 80 and a few long
// ones, with ties, signed zeros, infinities and NaNs among them.
func selectionInputs(rng *rand.Rand) [][]float32 {
	var out [][]float32
	lengths := []int{1000, 1024, 4099}
	for n := 1; n <= 80; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for variant := 0; variant < 6; variant++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.IntN(50)) - 10 // many ties
			}
			switch variant {
			case 1:
				for i := range x {
					x[i] = rng.Float32()
				}
			case 2:
				x[rng.IntN(n)] = float32(math.Copysign(0, -1))
				x[rng.IntN(n)] = 0
				for i := range x {
					x[i] = float32(math.Abs(float64(x[i])))
				}
			case 3:
				x[rng.IntN(n)] = float32(math.NaN())
				x[rng.IntN(n)] = float32(math.Inf(-1))
			case 4:
				for i := range x {
					x[i] = float32(math.NaN())
				}
				x[rng.IntN(n)] = 7
			case 5:
				for i := range x {
					x[i] = float32(math.Inf(1))
				}
			}
			out = append(out, x)
		}
	}
	return out
}

func TestArgMin(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, x := range selectionInputs(rng) {
			if got, want := ArgMin(x), argMinRef(x); got != want {
				t.Fatalf("len %d: ArgMin = %d (%v), want %d (%v)", len(x), got, x[got], want, x[want])
			}
		}
		allNaN := []float32{float32(math.NaN()), float32(math.NaN())}
		if got := ArgMin(allNaN); got != 0 {
			t.Fatalf("all NaN: %d", got)
		}
	})
}

func TestMin(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, x := range selectionInputs(rng) {
			want := float32(math.Inf(1))
			for _, v := range x {
				if v < want {
					want = v
				}
			}
			if got := Min(x); got != want { // -0 == +0
				t.Fatalf("len %d: Min = %v, want %v", len(x), got, want)
			}
			// Every start and length within the first values (the
			// kernel's part and the tail in every alignment).
			for lo := 0; lo < min(len(x), 17); lo++ {
				for hi := lo; hi <= min(len(x), lo+40); hi++ {
					w := float32(math.Inf(1))
					for _, v := range x[lo:hi] {
						if v < w {
							w = v
						}
					}
					if got := Min(x[lo:hi]); got != w {
						t.Fatalf("x[%d:%d]: Min = %v, want %v", lo, hi, got, w)
					}
				}
			}
		}
		if got := Min(nil); !math.IsInf(float64(got), 1) {
			t.Fatalf("Min(nil) = %v", got)
		}
	})
}

func TestAppendAtMost(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		thrs := []float32{-11, -10, 0, 5.5, 20, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0.5}
		prefix := []int32{-7, 99}
		for _, x := range selectionInputs(rng) {
			for _, thr := range thrs {
				want := append(slices.Clone(prefix), atMostRef(x, thr)...)
				got := AppendAtMost(slices.Clone(prefix), x, thr)
				if !slices.Equal(got, want) {
					t.Fatalf("len %d thr %v: %v, want %v", len(x), thr, got, want)
				}
			}
		}
	})
}

func TestSelectionAllocatesNothing(t *testing.T) {
	x := make([]float32, 1000)
	dst := make([]int32, 0, 1000)
	if a := testing.AllocsPerRun(100, func() { _ = ArgMin(x); dst = AppendAtMost(dst[:0], x, 1) }); a > 0 {
		t.Fatalf("%v allocations", a)
	}
}

func BenchmarkSelection(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, 5128)
	for i := range x {
		x[i] = rng.Float32()
	}
	dst := make([]int32, 0, len(x))
	forEachImpl(b, FloatImplementation, func(b *testing.B) {
		b.Run("ArgMin", func(b *testing.B) {
			for b.Loop() {
				_ = ArgMin(x)
			}
		})
		b.Run("AppendAtMost", func(b *testing.B) {
			for b.Loop() {
				dst = AppendAtMost(dst[:0], x, 0.001)
			}
		})
	})
}
