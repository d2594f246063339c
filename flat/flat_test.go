package flat

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/race"
	"github.com/kume-ann/kume/metric"
)

var ctx = context.Background()

func randVecs(rng *rand.Rand, n, d int) []float32 {
	v := make([]float32, n*d)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// bruteForce is the reference: float64 distances, full sort, ties by id.
func bruteForce(base, q []float32, d, k int, m metric.Metric) ([]float64, []int64) {
	n := len(base) / d
	type hit struct {
		s  float64
		id int64
	}
	hits := make([]hit, n)
	for i := 0; i < n; i++ {
		var s float64
		for j := 0; j < d; j++ {
			a, b := float64(q[j]), float64(base[i*d+j])
			if m == metric.L2 {
				s += (a - b) * (a - b)
			} else {
				s += a * b
			}
		}
		hits[i] = hit{s, int64(i)}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].s != hits[j].s {
			if m == metric.L2 {
				return hits[i].s < hits[j].s
			}
			return hits[i].s > hits[j].s
		}
		return hits[i].id < hits[j].id
	})
	ds, ids := make([]float64, k), make([]int64, k)
	for i := 0; i < k; i++ {
		if i < n {
			ds[i], ids[i] = hits[i].s, hits[i].id
		} else {
			ds[i], ids[i] = float64(m.Worst()), -1
		}
	}
	return ds, ids
}

// checkAgainstBruteForce compares every row; where two reference distances
// are within tolerance of each other the ids may come in either order, so
// each returned id must have the reference distance of its rank.
func checkAgainstBruteForce(t *testing.T, idx *Index, base, queries []float32, d, k int, m metric.Metric) {
	t.Helper()
	res, err := idx.Search(ctx, queries, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	nq := len(queries) / d
	if res.NQ != nq || res.K != k {
		t.Fatalf("results shaped %dx%d, want %dx%d", res.NQ, res.K, nq, k)
	}
	for i := 0; i < nq; i++ {
		q := queries[i*d : (i+1)*d]
		wantD, wantI := bruteForce(base, q, d, k, m)
		gotD, gotI := res.Row(i)
		for j := 0; j < k; j++ {
			if wantI[j] == -1 {
				if gotI[j] != -1 || gotD[j] != m.Worst() {
					t.Fatalf("query %d slot %d: got (%v, %d), want an empty slot", i, j, gotD[j], gotI[j])
				}
				continue
			}
			tol := 1e-4 * (1 + math.Abs(wantD[j]))
			if math.Abs(float64(gotD[j])-wantD[j]) > tol {
				t.Fatalf("query %d rank %d: distance %v, want %v (ids %v vs %v)", i, j, gotD[j], wantD[j], gotI, wantI)
			}
			if gotI[j] < 0 || int(gotI[j]) >= len(base)/d {
				t.Fatalf("query %d rank %d: id %d out of range", i, j, gotI[j])
			}
			// The id must really be at that distance.
			own, _ := bruteForce(base[gotI[j]*int64(d):(gotI[j]+1)*int64(d)], q, d, 1, m)
			if math.Abs(own[0]-wantD[j]) > tol {
				t.Fatalf("query %d rank %d: id %d is at %v, not %v", i, j, gotI[j], own[0], wantD[j])
			}
		}
	}
}

func TestSearchMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		for _, c := range []struct{ n, d, nq, k int }{
			{0, 8, 3, 5},      // empty index
			{5, 3, 4, 10},     // k > n
			{1, 1, 1, 1},      // smallest
			{100, 17, 1, 7},   // one query
			{700, 33, 9, 12},  // tiled L2 path
			{1500, 64, 40, 8}, // several tiles and row blocks
			{300, 8, 0, 3},    // no queries
		} {
			base := randVecs(rng, c.n, c.d)
			queries := randVecs(rng, c.nq, c.d)
			idx, err := New(c.d, m)
			if err != nil {
				t.Fatal(err)
			}
			if err := idx.Add(ctx, base); err != nil {
				t.Fatal(err)
			}
			if idx.Len() != c.n {
				t.Fatalf("Len = %d, want %d", idx.Len(), c.n)
			}
			checkAgainstBruteForce(t, idx, base, queries, c.d, c.k, m)
		}
	}
}

func TestExplicitIDsReconstructAndRemove(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const d = 4
	v := randVecs(rng, 6, d)
	idx, _ := New(d, metric.L2)
	if err := idx.Add(ctx, v[:2*d]); err != nil {
		t.Fatal(err)
	}
	if err := idx.AddWithIDs(ctx, v[2*d:], []int64{100, 7, 42, 9}); err != nil {
		t.Fatal(err)
	}
	for row, id := range []int64{0, 1, 100, 7, 42, 9} {
		got, err := idx.Reconstruct(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j := range got {
			if got[j] != v[row*d+j] {
				t.Fatalf("Reconstruct(%d) = %v, want row %d", id, got, row)
			}
		}
		// Each vector's own nearest neighbour is itself, with its id.
		res, _ := idx.Search(ctx, v[row*d:(row+1)*d], 1, nil)
		if res.IDs[0] != id || res.Distances[0] != 0 {
			t.Fatalf("self search of id %d gave %v at %v", id, res.IDs, res.Distances)
		}
	}
	if _, err := idx.Reconstruct(8, nil); !errors.Is(err, kume.ErrNotFound) {
		t.Errorf("Reconstruct(unknown) error = %v", err)
	}
	removed, err := idx.RemoveIDs([]int64{7, 1, 12345})
	if err != nil || removed != 2 || idx.Len() != 4 {
		t.Fatalf("RemoveIDs = %d, %v; Len %d", removed, err, idx.Len())
	}
	res, _ := idx.Search(ctx, v[3*d:4*d], 4, nil)
	for _, id := range res.IDs {
		if id == 7 || id == 1 {
			t.Fatalf("removed id %d still found: %v", id, res.IDs)
		}
	}
	got, err := idx.Reconstruct(42, nil)
	if err != nil || got[0] != v[4*d] {
		t.Fatalf("Reconstruct(42) after removal = %v, %v", got, err)
	}
}

func TestReconstructN(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	v := randVecs(rng, 10, 3)
	idx, _ := New(3, metric.L2)
	_ = idx.Add(ctx, v)
	got, err := idx.ReconstructN(2, 5, nil)
	if err != nil || len(got) != 15 || got[0] != v[6] || got[14] != v[20] {
		t.Fatalf("ReconstructN(2,5) = %v, %v", got, err)
	}
	if _, err := idx.ReconstructN(8, 5, nil); !errors.Is(err, kume.ErrNotFound) {
		t.Errorf("ReconstructN past the end: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New(0, metric.L2); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("New(0): %v", err)
	}
	if _, err := New(4, metric.Metric(9)); !errors.Is(err, kume.ErrUnsupported) {
		t.Errorf("New with bad metric: %v", err)
	}
	idx, _ := New(2, metric.L2)
	nan := float32(math.NaN())
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"ragged add", idx.Add(ctx, []float32{1, 2, 3}), kume.ErrDimension},
		{"NaN add", idx.Add(ctx, []float32{1, nan}), kume.ErrNonFinite},
		{"ids count", idx.AddWithIDs(ctx, []float32{1, 2}, []int64{1, 2}), kume.ErrInvalidArgument},
		{"negative id", idx.AddWithIDs(ctx, []float32{1, 2}, []int64{-1}), kume.ErrInvalidArgument},
		{"k = 0", idx.SearchInto(ctx, &kume.Results{}, []float32{1, 2}, 0, nil), kume.ErrInvalidArgument},
		{"ragged query", idx.SearchInto(ctx, &kume.Results{}, []float32{1}, 1, nil), kume.ErrDimension},
		{"Inf query", idx.SearchInto(ctx, &kume.Results{}, []float32{1, float32(math.Inf(1))}, 1, nil), kume.ErrNonFinite},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, c.err, c.want)
		}
	}
	if idx.Len() != 0 {
		t.Errorf("failed adds stored %d vectors", idx.Len())
	}
	// nil slices are empty inputs, not errors.
	if err := idx.Add(ctx, nil); err != nil {
		t.Errorf("Add(nil): %v", err)
	}
	if res, err := idx.Search(ctx, nil, 3, nil); err != nil || res.NQ != 0 {
		t.Errorf("Search(nil): %v, %v", res, err)
	}
}

func TestSearchIntoReusesBuffers(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	idx, _ := New(16, metric.L2)
	_ = idx.Add(ctx, randVecs(rng, 2000, 16))
	q := randVecs(rng, 1, 16)
	var res kume.Results
	_ = idx.SearchInto(ctx, &res, q, 8, nil) // warm up
	allocs := testing.AllocsPerRun(50, func() {
		if err := idx.SearchInto(ctx, &res, q, 8, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("SearchInto allocates %v times per call", allocs)
	}
}

func TestConcurrentSearchAndAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const d = 8
	idx, _ := New(d, metric.L2)
	_ = idx.Add(ctx, randVecs(rng, 500, d))
	queries := randVecs(rng, 20, d)
	more := randVecs(rng, 50, d)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res kume.Results
			for i := 0; i < 30; i++ {
				if err := idx.SearchInto(ctx, &res, queries, 5, nil); err != nil {
					t.Error(err)
					return
				}
				for _, id := range res.IDs {
					if id < 0 || id >= 500+50*30 {
						t.Errorf("impossible id %d", id)
						return
					}
				}
			}
		}()
	}
	for i := 0; i < 30; i++ {
		if err := idx.Add(ctx, more); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if idx.Len() != 500+50*30 {
		t.Errorf("Len = %d", idx.Len())
	}
}

func TestCancelledSearch(t *testing.T) {
	idx, _ := New(2, metric.L2)
	_ = idx.Add(ctx, []float32{1, 2, 3, 4})
	c, cancel := context.WithCancel(ctx)
	cancel()
	if err := idx.SearchInto(c, &kume.Results{}, []float32{1, 2}, 1, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled search: %v", err)
	}
}

func TestDistancesByID(t *testing.T) {
	idx, _ := New(2, metric.L2)
	_ = idx.AddWithIDs(ctx, []float32{1, 0, 0, 3}, []int64{10, 20})
	dst := make([]float32, 3)
	idx.DistancesByID([]float32{1, 1}, []int64{20, -1, 10}, dst)
	if dst[0] != 5 || !math.IsInf(float64(dst[1]), 1) || dst[2] != 1 {
		t.Errorf("DistancesByID = %v, want [5 +Inf 1]", dst)
	}
}
