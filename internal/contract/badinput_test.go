package contract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/internal/race"
	"github.com/kume-ann/kume/metric"
)

// The small index every bad-input test uses.
const (
	badDim   = 16
	badLists = 4
	badM     = 4
	badSeed  = 71
	badN     = 60
)

// badVector describes a vector no index may accept.
type badVector struct {
	name string
	set  func(row []float32)
}

var badVectors = []badVector{
	{"NaN", func(r []float32) { r[5] = float32(math.NaN()) }},
	{"+Inf", func(r []float32) { r[0] = float32(math.Inf(1)) }},
	{"-Inf", func(r []float32) { r[badDim-1] = float32(math.Inf(-1)) }},
	{"a coordinate of 2e19 (its square overflows float32)", func(r []float32) { r[3] = 2e19 }},
	{"coordinates of 5e18 (the squared norm overflows float32)", func(r []float32) {
		for j := range r {
			r[j] = 5e18
		}
	}},
}

// withBadRow returns n gaussian vectors of which row `at` is made bad.
func withBadRow(rng *rand.Rand, n, at int, b badVector) []float32 {
	v := gaussian(rng, n, badDim, 0, 1)
	b.set(v[at*badDim : (at+1)*badDim])
	return v
}

// TestNonFiniteInput checks that every index type, with both metrics,
// rejects with an error wrapping kume.ErrNonFinite a NaN, an infinity, or a
// vector whose squared norm overflows float32, in Train, Add, AddWithIDs and
// Search, wherever the bad row is in its batch (in a batch spread over
// goroutines, the error names the first bad query); that a rejected Add stores
// nothing; and that a vector with large but representable values (1e18) is
// accepted.
func TestNonFiniteInput(t *testing.T) {
	for _, desc := range descriptions(badLists, badM) {
		for _, m := range metrics {
			t.Run(fmt.Sprintf("%s/%v", desc, m), func(t *testing.T) { nonFinite(t, desc, m) })
		}
	}
}

// nonFinite runs the cases of TestNonFiniteInput on one index type.
func nonFinite(t *testing.T, desc string, m metric.Metric) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(badSeed, 0))
	train := gaussian(rng, 200, badDim, 0, 1)
	idx := build(t, badDim, desc, m, train, gaussian(rng, badN, badDim, 0, 1))
	for _, b := range badVectors {
		label := fmt.Sprintf("seed %d, %s %v, %s", badSeed, desc, m, b.name)
		fresh, err := factory.New(badDim, desc, m)
		if err != nil {
			t.Fatal(err)
		}
		quiet(fresh)
		bad := withBadRow(rng, 200, 7, b)
		if err := call(func() error { return fresh.Train(ctx, bad) }); !errors.Is(err, kume.ErrNonFinite) {
			t.Errorf("%s: Train with row 7 bad: err = %v, want ErrNonFinite", label, err)
		}
		for _, at := range []int{0, 3} {
			v := withBadRow(rng, 5, at, b)
			if err := call(func() error { return idx.Add(ctx, v) }); !errors.Is(err, kume.ErrNonFinite) {
				t.Errorf("%s: Add with row %d of 5 bad: err = %v, want ErrNonFinite", label, at, err)
			}
			ids := []int64{1000, 1001, 1002, 1003, 1004}
			if err := call(func() error { return idx.AddWithIDs(ctx, v, ids) }); !errors.Is(err, kume.ErrNonFinite) {
				t.Errorf("%s: AddWithIDs with row %d of 5 bad: err = %v, want ErrNonFinite", label, at, err)
			}
			if n := idx.Len(); n != badN {
				t.Fatalf("%s: after rejected adds Len() = %d, want %d", label, n, badN)
			}
			for _, q := range [][]float32{v, v[at*badDim : (at+1)*badDim]} {
				res, err := search(idx, q, 3, &kume.SearchParams{NProbe: badLists})
				if !errors.Is(err, kume.ErrNonFinite) {
					t.Errorf("%s: Search of %d queries, one bad: err = %v (result %s), want ErrNonFinite", label, len(q)/badDim, err, shape(res))
				}
			}
		}
	}
	// A batch large enough to be spread over goroutines in chunks, each of
	// which checks its own queries: the error names the first bad query,
	// whichever chunk finds one first.
	for _, b := range badVectors {
		many := gaussian(rng, 700, badDim, 0, 1)
		b.set(many[690*badDim : 691*badDim])
		b.set(many[430*badDim : 431*badDim])
		for _, procs := range []int{1, 2} {
			old := runtime.GOMAXPROCS(procs)
			res, err := search(idx, many, 3, &kume.SearchParams{NProbe: badLists})
			runtime.GOMAXPROCS(old)
			if !errors.Is(err, kume.ErrNonFinite) || !strings.Contains(err.Error(), "queries row 430") {
				t.Errorf("seed %d, %s %v, %s, GOMAXPROCS %d: Search of 700 queries, rows 430 and 690 bad: err = %v (result %s), want ErrNonFinite naming row 430", badSeed, desc, m, b.name, procs, err, shape(res))
			}
		}
	}
	label := fmt.Sprintf("seed %d, %s %v", badSeed, desc, m)
	big := gaussian(rng, 2, badDim, 0, 1)
	big[4] = 1e18
	res, err := search(idx, big, 3, nil)
	if err != nil || res == nil {
		t.Errorf("%s: Search with a coordinate of 1e18: %v", label, err)
	}
	if err := call(func() error { return idx.AddWithIDs(ctx, big, []int64{5000, 5001}) }); err != nil {
		t.Errorf("%s: AddWithIDs with a coordinate of 1e18: %v", label, err)
	}
}

// TestBadK checks that k <= 0 is rejected with kume.ErrInvalidArgument by
// Search and SearchInto of every index type.
func TestBadK(t *testing.T) {
	rng := rand.New(rand.NewPCG(badSeed, 1))
	train := gaussian(rng, 200, badDim, 0, 1)
	q := gaussian(rng, 3, badDim, 0, 1)
	for _, desc := range descriptions(badLists, badM) {
		idx := build(t, badDim, desc, metric.L2, train, train[:badN*badDim])
		for _, k := range []int{0, -1, math.MinInt} {
			label := fmt.Sprintf("seed %d, %s, k = %d", badSeed, desc, k)
			res, err := search(idx, q, k, nil)
			if !errors.Is(err, kume.ErrInvalidArgument) {
				t.Errorf("%s: Search: err = %v (result %s), want ErrInvalidArgument", label, err, shape(res))
			}
			var dst kume.Results
			err = call(func() error { return idx.SearchInto(context.Background(), &dst, q, k, nil) })
			if !errors.Is(err, kume.ErrInvalidArgument) {
				t.Errorf("%s: SearchInto: err = %v, want ErrInvalidArgument", label, err)
			}
		}
	}
}

// childEnv names, in the environment of a child process TestHugeRequests
// runs, the index type the child checks.
const childEnv = "KUME_CONTRACT_HUGE_CHILD"

// TestHugeRequests checks that searches asking for more results than any
// machine holds (nq*k beyond kume.MaxResults, nq*k overflowing int, k*k_factor
// beyond the bound or overflowing) fail with kume.ErrInvalidArgument before
// allocating, and that ReconstructN with ranges that are negative, overflow
// or run past the stored ids fails with ErrInvalidArgument or ErrNotFound,
// never panicking or returning nothing with a nil error.
//
// An index that tried to allocate such results would end the process with
// an out-of-memory error that no recover catches, so each index type is
// checked in a child process, with its address space limited where the
// system allows.
func TestHugeRequests(t *testing.T) {
	if desc := os.Getenv(childEnv); desc != "" {
		hugeRequests(t, desc)
		return
	}
	descs := descriptions(badLists, badM)
	if testing.Short() || race.Enabled {
		// Every process start costs a second under the race detector and
		// qemu: one index type per code and wrapper.
		descs = []string{"Flat", fmt.Sprintf("IVF%d,Flat,RFlat", badLists), fmt.Sprintf("PQ%dx4fs", badM),
			fmt.Sprintf("L2norm,IVF%d,PQ%dx4fsr,RFlat", badLists, badM)}
	}
	for _, desc := range descs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHugeRequests$", "-test.v")
		if testing.Short() {
			cmd.Args = append(cmd.Args, "-test.short")
		}
		cmd.Env = append(os.Environ(), childEnv+"="+desc)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exit):
			t.Errorf("%s (checked in a child process, %v):\n%s", desc, err, crashReport(out))
		default:
			t.Skipf("cannot run the test binary again as a child process: %v", err)
		}
	}
}

// hugeRequests runs the cases of TestHugeRequests on one index type.
func hugeRequests(t *testing.T, desc string) {
	// qemu's user mode accepts an address-space limit and ignores it, and
	// the race detector's shadow memory does not fit one: -short (the qemu
	// runs) and -race skip the cases only a limit keeps cheap.
	limited := !race.Enabled && !testing.Short() && limitAddressSpace(1<<30) == nil
	if !limited {
		t.Log("address space not limited: only cases whose wrong handling could not be allocated run")
	}
	rng := rand.New(rand.NewPCG(badSeed, 2))
	train := gaussian(rng, 200, badDim, 0, 1)
	q1 := gaussian(rng, 1, badDim, 0, 1)
	q4 := gaussian(rng, 4, badDim, 0, 1)
	type kcase struct {
		q  []float32
		k  int
		kf float32
		// small: a wrong answer would allocate no more than a few GiB,
		// which only the address-space limit keeps from being used.
		small bool
	}
	cases := []kcase{
		{q1, 1 << 40, 0, false},
		{q1, 1 << 62, 0, false},
		{q1, math.MaxInt, 0, false},
		{q4, 1 << 62, 0, false}, // nq*k overflows int
		{q4, math.MaxInt/2 + 1, 0, false},
		{q1, 1 << 53, 1000, false},     // k*k_factor overflows int
		{q1, math.MaxInt, 1000, false}, // and float64 rounding up
		{q1, kume.MaxResults + 1, 0, true},
		{q4, kume.MaxResults/4 + 1, 0, true},
		{q1, 1 << 20, 1000, true}, // k*k_factor beyond the bound
		{q4, 1 << 18, 1000, true}, // nq*k*k_factor beyond the bound
	}
	idx := build(t, badDim, desc, metric.L2, train, train[:badN*badDim])
	refined := kindOf(t, badDim, desc).spec.Refine
	for _, c := range cases {
		if (c.small && !limited) || (c.kf != 0 && !refined) {
			continue
		}
		p := &kume.SearchParams{NProbe: badLists, KFactor: c.kf}
		label := fmt.Sprintf("seed %d, %s, nq = %d, k = %d, k_factor = %g", badSeed, desc, len(c.q)/badDim, c.k, c.kf)
		t.Logf("case: %s", label)
		res, err := search(idx, c.q, c.k, p)
		if !errors.Is(err, kume.ErrInvalidArgument) {
			t.Errorf("%s: Search: err = %v (result %s), want ErrInvalidArgument", label, err, shape(res))
		}
		var dst kume.Results
		err = call(func() error { return idx.SearchInto(context.Background(), &dst, c.q, c.k, p) })
		if !errors.Is(err, kume.ErrInvalidArgument) {
			t.Errorf("%s: SearchInto: err = %v, want ErrInvalidArgument", label, err)
		}
	}
	r, ok := idx.(kume.Reconstructor)
	if !ok {
		t.Fatalf("%s: %T does not reconstruct", desc, idx)
	}
	const maxI = math.MaxInt64
	for _, rc := range [][2]int64{
		{-1, 1}, {0, -1}, {math.MinInt64, 5}, {5, math.MinInt64},
		{maxI, 1}, {maxI - 1, 10}, {10, maxI}, {maxI, maxI}, {1, maxI},
		{badN - 10, 20}, {0, badN + 1}, {badN, 1},
	} {
		label := fmt.Sprintf("seed %d, %s holding ids 0..%d: ReconstructN(%d, %d)", badSeed, desc, badN-1, rc[0], rc[1])
		t.Logf("case: %s", label)
		var got []float32
		err := call(func() (err error) { got, err = r.ReconstructN(rc[0], rc[1], nil); return })
		if !errors.Is(err, kume.ErrInvalidArgument) && !errors.Is(err, kume.ErrNotFound) {
			t.Errorf("%s: err = %v (%d floats), want ErrInvalidArgument or ErrNotFound", label, err, len(got))
		}
	}
	got, err := r.ReconstructN(badN-3, 3, nil)
	if err != nil || len(got) != 3*badDim {
		t.Errorf("seed %d, %s: ReconstructN(%d, 3) of stored ids: %d floats, %v", badSeed, desc, badN-3, len(got), err)
	}
}

// crashReport picks out of a child test's output the failures, and for a
// crash the case that was running and the first lines of the crash.
func crashReport(out []byte) string {
	var keep [][]byte
	var lastCase []byte
	lines := bytes.Split(out, []byte("\n"))
	for i, l := range lines {
		switch {
		case bytes.Contains(l, []byte("case: ")):
			lastCase = l
		case bytes.HasPrefix(l, []byte("fatal error:")), bytes.HasPrefix(l, []byte("panic:")):
			if lastCase != nil {
				keep = append(keep, append([]byte("running "), bytes.TrimSpace(lastCase)...))
			}
			keep = append(keep, lines[i:min(len(lines), i+3)]...)
			return string(bytes.Join(keep, []byte("\n")))
		case bytes.Contains(l, []byte("want ")), bytes.Contains(l, []byte("floats,")):
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return tail(out, 20)
	}
	return string(bytes.Join(keep, []byte("\n")))
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(out, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
