package ivf

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/race"
	"github.com/kume-ann/kume/internal/simdtest"
	"github.com/kume-ann/kume/internal/testvec"
	"github.com/kume-ann/kume/kmeans"
	"github.com/kume-ann/kume/metric"
)

var ctx = context.Background()

// clustered returns n points drawn around `centers` random centres with
// anisotropic spread, the shape of speech features.
func clustered(seed uint64, n, d, centers int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	c := make([]float32, centers*d)
	for i := range c {
		c[i] = float32(rng.NormFloat64())
	}
	scale := make([]float64, d)
	for j := range scale {
		scale[j] = 0.1 + 0.4*rng.Float64()
	}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		ci := rng.IntN(centers)
		for j := 0; j < d; j++ {
			x[i*d+j] = c[ci*d+j] + float32(rng.NormFloat64()*scale[j])
		}
	}
	return x
}

func quietKMeans() kmeans.Config {
	return kmeans.Config{Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}
}

func build(t testing.TB, m metric.Metric, base []float32, d, nlist int) *Index {
	t.Helper()
	idx, err := NewFlat(d, nlist, m)
	if err != nil {
		t.Fatal(err)
	}
	idx.KMeans = quietKMeans()
	if err := idx.Train(ctx, base); err != nil {
		t.Fatal(err)
	}
	if err := idx.Add(ctx, base); err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestAllListsIsExact(t *testing.T) {
	const n, d, nlist, k = 3000, 16, 32, 10
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		base := clustered(1, n, d, 50)
		queries := clustered(2, 40, d, 50)
		idx := build(t, m, base, d, nlist)
		exact, _ := flat.New(d, m)
		_ = exact.Add(ctx, base)
		want, _ := exact.Search(ctx, queries, k, nil)
		got, err := idx.Search(ctx, queries, k, &kume.SearchParams{NProbe: nlist + 5}) // clamped
		if err != nil {
			t.Fatal(err)
		}
		for i := range want.IDs {
			if math.Abs(float64(got.Distances[i]-want.Distances[i])) > 1e-4*(1+math.Abs(float64(want.Distances[i]))) {
				t.Fatalf("%v result %d: (%d, %v), exact (%d, %v)", m, i, got.IDs[i], got.Distances[i], want.IDs[i], want.Distances[i])
			}
		}
	}
}

func TestNProbeRaisesRecall(t *testing.T) {
	const n, d, nlist, k = 4000, 16, 64, 10
	base := clustered(3, n, d, 100)
	queries := clustered(4, 100, d, 100)
	idx := build(t, metric.L2, base, d, nlist)
	exact, _ := flat.New(d, metric.L2)
	_ = exact.Add(ctx, base)
	want, _ := exact.Search(ctx, queries, k, nil)
	prev := -1.0
	for _, np := range []int{1, 4, 16, 64} {
		got, err := idx.Search(ctx, queries, k, &kume.SearchParams{NProbe: np})
		if err != nil {
			t.Fatal(err)
		}
		r := testvec.Recall(got, want, k)
		if r < prev-1e-9 {
			t.Errorf("recall fell from %v to %v at nprobe %d", prev, r, np)
		}
		prev = r
	}
	if prev != 1 {
		t.Errorf("recall with every list probed is %v, want 1", prev)
	}
}

func TestReconstruct(t *testing.T) {
	const d = 8
	base := clustered(5, 500, d, 10)
	idx := build(t, metric.L2, base, d, 8)
	got, err := idx.ReconstructN(0, 500, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range base {
		if got[i] != base[i] {
			t.Fatalf("ReconstructN differs at float %d", i)
		}
	}
	extra := clustered(6, 3, d, 10)
	if err := idx.AddWithIDs(ctx, extra, []int64{1000, 77777, 5000}); err != nil {
		t.Fatal(err)
	}
	for i, id := range []int64{1000, 77777, 5000} {
		v, err := idx.Reconstruct(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j := range v {
			if v[j] != extra[i*d+j] {
				t.Fatalf("Reconstruct(%d) = %v", id, v)
			}
		}
	}
	v, _ := idx.Reconstruct(123, nil)
	if v[0] != base[123*d] {
		t.Errorf("Reconstruct(123) = %v", v)
	}
	if _, err := idx.Reconstruct(501, nil); !errors.Is(err, kume.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := idx.ReconstructN(498, 5, nil); !errors.Is(err, kume.ErrNotFound) {
		t.Errorf("range past the sequential ids: %v", err)
	}
	if n, _ := idx.RemoveIDs([]int64{77777, 3, 4}); n != 3 || idx.Len() != 500 {
		t.Errorf("RemoveIDs removed %d, Len %d", n, idx.Len())
	}
	if _, err := idx.Reconstruct(77777, nil); !errors.Is(err, kume.ErrNotFound) {
		t.Errorf("removed id: %v", err)
	}
	res, _ := idx.Search(ctx, base[3*d:4*d], 1, &kume.SearchParams{NProbe: 8})
	if res.IDs[0] == 3 {
		t.Error("removed vector still found")
	}
}

func TestBadInput(t *testing.T) {
	const d = 4
	idx, _ := NewFlat(d, 16, metric.L2)
	idx.KMeans = quietKMeans()
	x := clustered(7, 100, d, 5)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"add before train", idx.Add(ctx, x), kume.ErrNotTrained},
		{"search before train", idx.SearchInto(ctx, &kume.Results{}, x[:d], 1, nil), kume.ErrNotTrained},
		{"fewer points than lists", idx.Train(ctx, x[:10*d]), kume.ErrInvalidArgument},
		{"NaN", idx.Train(ctx, append([]float32{float32(math.NaN())}, x[1:]...)), kume.ErrNonFinite},
		{"ragged", idx.Train(ctx, x[:d+1]), kume.ErrDimension},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	if _, err := NewFlat(d, 0, metric.L2); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("nlist 0: %v", err)
	}
	if err := idx.Train(ctx, x); err != nil {
		t.Fatal(err)
	}
	// Nothing added: every list is empty and results are empty slots.
	res, err := idx.Search(ctx, x[:d], 3, &kume.SearchParams{NProbe: 4})
	if err != nil || res.IDs[0] != -1 || !math.IsInf(float64(res.Distances[0]), 1) {
		t.Errorf("empty index: %v, %v", res, err)
	}
	if err := idx.SetNProbe(0); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("nprobe 0: %v", err)
	}
	if _, err := idx.Search(ctx, x[:d], 3, &kume.SearchParams{NProbe: -2}); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("negative nprobe: %v", err)
	}
	if err := idx.SetParam("nprobe", 5); err != nil || idx.NProbe() != 5 {
		t.Errorf("SetParam(nprobe): %v", err)
	}
	if err := idx.SetParam("efSearch", 5); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("unknown parameter: %v", err)
	}
	if err := idx.AddWithIDs(ctx, x[:2*d], []int64{1}); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("id count: %v", err)
	}
}

func TestSearchAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	const d = 32
	base := clustered(8, 2000, d, 20)
	idx := build(t, metric.L2, base, d, 16)
	var res kume.Results
	q := base[:d]
	p := &kume.SearchParams{NProbe: 4}
	_ = idx.SearchInto(ctx, &res, q, 8, p)
	if a := testing.AllocsPerRun(100, func() { _ = idx.SearchInto(ctx, &res, q, 8, p) }); a > 0 {
		t.Errorf("SearchInto allocates %v times per query", a)
	}
}

func TestConcurrentSearchAndAdd(t *testing.T) {
	const d = 8
	base := clustered(9, 1000, d, 20)
	idx := build(t, metric.L2, base, d, 16)
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var res kume.Results
			for i := 0; i < 40; i++ {
				if err := idx.SearchInto(ctx, &res, base[:20*d], 5, &kume.SearchParams{NProbe: 3}); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	for i := 0; i < 20; i++ {
		if err := idx.Add(ctx, base[:50*d]); err != nil {
			t.Fatal(err)
		}
		if _, err := idx.Reconstruct(int64(1000+i*50), nil); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if idx.Len() != 2000 {
		t.Errorf("Len = %d", idx.Len())
	}
}

// TestBatchMatchesSingleQueries checks that a batch, whose queries are
// grouped by list (lists probed by minTiledQueries(d) or more go through the
// many-to-many kernel), answers as the same queries one at a time: the same
// ids, distances within float rounding of the expanded form, and only
// near-ties in another order.
func TestBatchMatchesSingleQueries(t *testing.T) { simdtest.ForEach(t, testBatchMatchesSingleQueries) }

func testBatchMatchesSingleQueries(t *testing.T) {
	const d, n, nq, k = 16, 3000, 300, 10
	base := clustered(41, n, d, 12)
	queries := clustered(42, nq, d, 12)
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		x := build(t, m, base, d, 8)
		// Remove a few vectors so that list rows and ids no longer line up.
		if _, err := x.RemoveIDs([]int64{3, 500, 501, 2999}); err != nil {
			t.Fatal(err)
		}
		for _, nprobe := range []int{1, 3, 8} {
			p := &kume.SearchParams{NProbe: nprobe}
			batch, err := x.Search(ctx, queries, k, p)
			if err != nil {
				t.Fatal(err)
			}
			for q := 0; q < nq; q++ {
				one, err := x.Search(ctx, queries[q*d:(q+1)*d], k, p)
				if err != nil {
					t.Fatal(err)
				}
				bd, bi := batch.Row(q)
				for j := range bi {
					tol := 1e-4 * math.Max(1, math.Abs(float64(one.Distances[j])))
					if math.Abs(float64(bd[j]-one.Distances[j])) > tol {
						t.Fatalf("%v nprobe=%d query %d rank %d: distance %v in the batch, %v alone", m, nprobe, q, j, bd[j], one.Distances[j])
					}
					if bi[j] != one.IDs[j] && !(j+1 < k && math.Abs(float64(bd[j]-bd[j+1])) <= tol) && !(j > 0 && math.Abs(float64(bd[j]-bd[j-1])) <= tol) {
						t.Fatalf("%v nprobe=%d query %d rank %d: id %d in the batch, %d alone", m, nprobe, q, j, bi[j], one.IDs[j])
					}
				}
			}
		}
	}
}

// TestBatchAllocationsDoNotGrow checks that a batch allocates a few objects
// for its goroutines and nothing per query once its buffers have grown.
func TestBatchAllocationsDoNotGrow(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	const d = 32
	base := clustered(8, 4000, d, 20)
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		idx := build(t, m, base, d, 16)
		var res kume.Results
		p := &kume.SearchParams{NProbe: 4}
		for _, nq := range []int{40, 640} {
			q := base[:nq*d]
			_ = idx.SearchInto(ctx, &res, q, 8, p)
			if a := testing.AllocsPerRun(20, func() { _ = idx.SearchInto(ctx, &res, q, 8, p) }); a > 4 {
				t.Errorf("%v: a batch of %d queries allocates %v times", m, nq, a)
			}
		}
	}
}
