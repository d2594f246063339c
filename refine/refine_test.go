package refine

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/metric"
)

var ctx = context.Background()

// coarse is an approximate index for the tests: a flat index over a
// coarsely rounded copy of each vector, so its ranking is wrong in places.
type coarse struct{ *flat.Index }

func round(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(math.Round(float64(x)))
	}
	return out
}

func (c coarse) Add(ctx context.Context, v []float32) error { return c.Index.Add(ctx, round(v)) }
func (c coarse) AddWithIDs(ctx context.Context, v []float32, ids []int64) error {
	return c.Index.AddWithIDs(ctx, round(v), ids)
}

func setup(t *testing.T, m metric.Metric, n, d int) (*Index, *flat.Index, coarse, []float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), uint64(d)))
	v := make([]float32, n*d)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	fb, _ := flat.New(d, m)
	base := coarse{fb}
	idx, err := New(base)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Add(ctx, v); err != nil {
		t.Fatal(err)
	}
	exact, _ := flat.New(d, m)
	_ = exact.Add(ctx, v)
	return idx, exact, base, v
}

func TestLargeKFactorIsExact(t *testing.T) {
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		const n, d, k = 200, 6, 5
		idx, exact, _, v := setup(t, m, n, d)
		queries := v[:20*d]
		want, _ := exact.Search(ctx, queries, k, nil)
		got, err := idx.Search(ctx, queries, k, &kume.SearchParams{KFactor: n / k})
		if err != nil {
			t.Fatal(err)
		}
		for i := range want.IDs {
			if got.IDs[i] != want.IDs[i] || math.Abs(float64(got.Distances[i]-want.Distances[i])) > 1e-5 {
				t.Fatalf("%v: result %d = (%d, %v), exact (%d, %v)", m, i, got.IDs[i], got.Distances[i], want.IDs[i], want.Distances[i])
			}
		}
	}
}

func TestKFactorOneReordersBaseResults(t *testing.T) {
	const n, d, k = 300, 6, 10
	idx, _, base, v := setup(t, metric.L2, n, d)
	queries := v[5*d : 15*d]
	b, _ := base.Search(ctx, queries, k, nil)
	got, err := idx.Search(ctx, queries, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	for qi := 0; qi < 10; qi++ {
		_, bi := b.Row(qi)
		gd, gi := got.Row(qi)
		set := map[int64]bool{}
		for _, id := range bi {
			set[id] = true
		}
		for j, id := range gi {
			if !set[id] {
				t.Fatalf("query %d: id %d was not among the base's %v", qi, id, bi)
			}
			if j > 0 && gd[j] < gd[j-1] {
				t.Fatalf("query %d: distances not sorted: %v", qi, gd)
			}
			// Exact distance, not the base's rounded one.
			var s float32
			for c := 0; c < d; c++ {
				x := queries[qi*d+c] - v[int(id)*d+c]
				s += x * x
			}
			if math.Abs(float64(s-gd[j])) > 1e-4 {
				t.Fatalf("query %d: distance %v for id %d, exact %v", qi, gd[j], id, s)
			}
		}
	}
}

func TestParamsAndErrors(t *testing.T) {
	idx, _, _, v := setup(t, metric.L2, 50, 4)
	if err := idx.SetParam("k_factor_rf", 4); err != nil || idx.KFactor() != 4 {
		t.Errorf("SetParam(k_factor_rf, 4): %v, KFactor %v", err, idx.KFactor())
	}
	if err := idx.SetParam("k_factor_rf", 0.5); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("k_factor 0.5: %v", err)
	}
	if err := idx.SetParam("nprobe", 4); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("nprobe on a flat base must be unknown: %v", err)
	}
	if _, err := idx.Search(ctx, v[:4], 3, &kume.SearchParams{KFactor: 0.5}); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("per-call k_factor 0.5: %v", err)
	}
	if _, err := idx.Search(ctx, v[:3], 3, nil); !errors.Is(err, kume.ErrDimension) {
		t.Errorf("ragged query: %v", err)
	}
	// k larger than the index: empty slots.
	res, err := idx.Search(ctx, v[:4], 60, nil)
	if err != nil || res.IDs[59] != -1 || !math.IsInf(float64(res.Distances[59]), 1) {
		t.Errorf("k > n: %v", err)
	}
	got, err := idx.Reconstruct(3, nil)
	if err != nil || got[0] != v[12] {
		t.Errorf("Reconstruct(3) = %v, %v", got, err)
	}
	if n, err := idx.RemoveIDs([]int64{3, 4}); err != nil || n != 2 || idx.Len() != 48 || idx.Base().Len() != 48 {
		t.Errorf("RemoveIDs: %d, %v; lens %d %d", n, err, idx.Len(), idx.Base().Len())
	}
}

// TestIDsAfterRemoveStayTrue: after RemoveIDs, Add gives new ids in both
// halves, so re-ranking measures each candidate on its own vector and a
// stored vector is found first at distance 0.
func TestIDsAfterRemoveStayTrue(t *testing.T) {
	const n, d = 50, 8
	idx, _, _, v := setup(t, metric.L2, n, d)
	if _, err := idx.RemoveIDs([]int64{3, 7, 11}); err != nil {
		t.Fatal(err)
	}
	extra := make([]float32, 3*d)
	for i := range extra {
		extra[i] = float32(i%5) + 10
	}
	if err := idx.Add(ctx, extra); err != nil {
		t.Fatal(err)
	}
	if idx.Len() != n || idx.NextID() != n+3 {
		t.Fatalf("Len %d NextID %d", idx.Len(), idx.NextID())
	}
	for i := 0; i < 3; i++ {
		q := extra[i*d : (i+1)*d]
		res, err := idx.Search(ctx, q, 3, &kume.SearchParams{KFactor: 10})
		if err != nil {
			t.Fatal(err)
		}
		if res.IDs[0] != int64(n+i) || res.Distances[0] != 0 {
			t.Errorf("added vector %d: first result (%d, %v), want (%d, 0)", i, res.IDs[0], res.Distances[0], n+i)
		}
	}
	// A surviving old vector is still found under its own id.
	res, _ := idx.Search(ctx, v[20*d:21*d], 1, &kume.SearchParams{KFactor: 10})
	if res.IDs[0] != 20 || res.Distances[0] != 0 {
		t.Errorf("old vector 20: (%d, %v)", res.IDs[0], res.Distances[0])
	}
	if err := idx.Train(ctx, v); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("Train on a populated index: %v", err)
	}
}
