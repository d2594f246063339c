package fastscan_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/race"
	"github.com/kume-ann/kume/internal/simdtest"
	"github.com/kume-ann/kume/internal/testvec"
	"github.com/kume-ann/kume/metric"
)

var ctx = context.Background()

// lowRank draws clustered vectors of low intrinsic dimension.
func lowRank(seed uint64, n, d int) []float32 {
	return testvec.LowRank{Latent: 8, Centers: 20, MapSeed: 77, Noise: 0.2}.Draw(seed, n, d)
}

func init() { slog.SetDefault(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))) }

func buildIndex(t testing.TB, s string, d int, m metric.Metric, base []float32) kume.Index {
	t.Helper()
	idx, err := factory.New(d, s, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Train(ctx, base); err != nil {
		t.Fatal(err)
	}
	if err := idx.Add(ctx, base); err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestRecallAgainstExact(t *testing.T) {
	const n, d, nq, k = 4000, 32, 100, 10
	base, queries := lowRank(1, n, d), lowRank(2, nq, d)
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		exact, _ := flat.New(d, m)
		_ = exact.Add(ctx, base)
		truth, _ := exact.Search(ctx, queries, k, nil)
		for _, c := range []struct {
			s      string
			params string
			min    float64
		}{
			// Sanity floors; the comparison with FAISS is in faiss_test.go.
			{"PQ16x4fs", "", 0.3},
			{"PQ16x4fs,RFlat", "k_factor_rf=8", 0.9},
			{"IVF16,PQ16x4fs", "nprobe=16", 0.3},
			{"IVF16,PQ16x4fsr", "nprobe=16", 0.3},
			{"IVF16,PQ16x4fsr,RFlat", "nprobe=16,k_factor_rf=8", 0.9},
		} {
			idx := buildIndex(t, c.s, d, m, base)
			p, err := kume.ParseSearchParams(c.params)
			if err != nil {
				t.Fatal(err)
			}
			res, err := idx.Search(ctx, queries, k, &p)
			if err != nil {
				t.Fatal(err)
			}
			r := testvec.Recall(res, truth, k)
			t.Logf("%v %s %s: recall@10 %.3f", m, c.s, c.params, r)
			if r < c.min {
				t.Errorf("%v %s %s: recall@10 %.3f, want at least %.2f", m, c.s, c.params, r, c.min)
			}
			// Results come best first, with finite scores.
			for q := 0; q < nq; q++ {
				dist, ids := res.Row(q)
				for j := 1; j < k; j++ {
					if ids[j] < 0 || math.IsInf(float64(dist[j]), 0) || m.Better(dist[j], dist[j-1]) {
						t.Fatalf("%s query %d: bad order %v %v", c.s, q, dist, ids)
					}
				}
			}
		}
	}
}

func TestEstimatesTrackExactDistances(t *testing.T) {
	const n, d = 2000, 32
	base := lowRank(3, n, d)
	idx := buildIndex(t, "PQ32x4fs", d, metric.L2, base)
	res, _ := idx.Search(ctx, base[:d], 20, nil)
	exact, _ := flat.New(d, metric.L2)
	_ = exact.Add(ctx, base)
	dst := make([]float32, 20)
	exact.DistancesByID(base[:d], res.IDs, dst)
	// The quantized estimate of ||q - decode(code)||² differs from the true
	// squared distance by the quantization error; it must be in the same
	// range.
	for i := range dst {
		if math.Abs(float64(res.Distances[i]-dst[i])) > 0.5*float64(dst[len(dst)-1])+5 {
			t.Errorf("rank %d: estimate %v, exact %v", i, res.Distances[i], dst[i])
		}
	}
}

func TestRefineWithLargeKFactorIsExact(t *testing.T) {
	const n, d, nq, k = 600, 16, 20, 5
	base, queries := lowRank(4, n, d), lowRank(5, nq, d)
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		exact, _ := flat.New(d, m)
		_ = exact.Add(ctx, base)
		want, _ := exact.Search(ctx, queries, k, nil)
		for _, s := range []string{"PQ8x4fs,RFlat", "IVF8,PQ8x4fsr,RFlat"} {
			idx := buildIndex(t, s, d, m, base)
			got, err := idx.Search(ctx, queries, k, &kume.SearchParams{NProbe: 8, KFactor: n / k})
			if err != nil {
				t.Fatal(err)
			}
			for i := range want.IDs {
				if got.IDs[i] != want.IDs[i] {
					t.Fatalf("%v %s: result %d is %d, exact %d", m, s, i, got.IDs[i], want.IDs[i])
				}
			}
		}
	}
}

func TestOddMAndIDs(t *testing.T) {
	const n, d = 700, 15
	base := lowRank(6, n, d)
	for _, s := range []string{"PQ5x4fs", "IVF4,PQ5x4fsr", "IVF4,PQ3x4fs"} {
		idx, err := factory.New(d, s, metric.L2)
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.Train(ctx, base); err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = int64(5000 + 3*i)
		}
		if err := idx.AddWithIDs(ctx, base, ids); err != nil {
			t.Fatal(err)
		}
		res, err := idx.Search(ctx, base[7*d:8*d], 3, &kume.SearchParams{NProbe: 4})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range res.IDs {
			if id < 5000 || (id-5000)%3 != 0 {
				t.Fatalf("%s: id %d was never added", s, id)
			}
		}
		rec, err := idx.(kume.Reconstructor).Reconstruct(5000+3*7, nil)
		if err != nil || len(rec) != d {
			t.Fatalf("%s: Reconstruct: %v", s, err)
		}
		removed, err := idx.(kume.Remover).RemoveIDs([]int64{5000 + 3*7, 5000 + 3*8})
		if err != nil || removed != 2 || idx.Len() != n-2 {
			t.Fatalf("%s: RemoveIDs %d %v, Len %d", s, removed, err, idx.Len())
		}
		res, _ = idx.Search(ctx, base[7*d:8*d], 3, &kume.SearchParams{NProbe: 4})
		for _, id := range res.IDs {
			if id == 5000+3*7 || id == 5000+3*8 {
				t.Fatalf("%s: removed id %d found", s, id)
			}
		}
	}
}

func TestBadInputAndEdges(t *testing.T) {
	if _, err := factory.New(256, "PQ7x4fs", metric.L2); !errors.Is(err, kume.ErrFactory) {
		t.Errorf("M not dividing d: %v", err)
	}
	if _, err := fastscan.NewPQ(256, 7, metric.L2); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("NewPQ with M not dividing d: %v", err)
	}
	idx, _ := factory.New(8, "PQ4x4fs", metric.L2)
	if _, err := idx.Search(ctx, make([]float32, 8), 1, nil); !errors.Is(err, kume.ErrNotTrained) {
		t.Errorf("search before train: %v", err)
	}
	if err := idx.Add(ctx, make([]float32, 8)); !errors.Is(err, kume.ErrNotTrained) {
		t.Errorf("add before train: %v", err)
	}
	base := lowRank(7, 100, 8)
	if err := idx.Train(ctx, base); err != nil { // fewer than 624: a warning only
		t.Fatal(err)
	}
	// No codes yet: every slot empty.
	res, err := idx.Search(ctx, base[:8], 4, nil)
	if err != nil || res.IDs[0] != -1 || !math.IsInf(float64(res.Distances[0]), 1) {
		t.Errorf("empty index: %v %v", res, err)
	}
	_ = idx.Add(ctx, base[:5*8])
	res, _ = idx.Search(ctx, base[:8], 10, nil) // k larger than the number of codes
	if res.IDs[4] < 0 || res.IDs[5] != -1 {
		t.Errorf("k > n: %v", res.IDs)
	}
	ip, _ := factory.New(8, "IVF2,PQ4x4fs", metric.InnerProduct)
	_ = ip.Train(ctx, base)
	res, _ = ip.Search(ctx, base[:8], 3, nil)
	if res.IDs[0] != -1 || !math.IsInf(float64(res.Distances[0]), -1) {
		t.Errorf("empty IP index: %v", res)
	}
}

func TestSearchAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	const d = 16
	base := lowRank(8, 1000, d)
	for _, s := range []string{"PQ8x4fs", "IVF8,PQ8x4fsr", "IVF8,PQ8x4fs"} {
		idx := buildIndex(t, s, d, metric.L2, base)
		var res kume.Results
		p := &kume.SearchParams{NProbe: 3}
		_ = idx.SearchInto(ctx, &res, base[:d], 8, p)
		if a := testing.AllocsPerRun(50, func() { _ = idx.SearchInto(ctx, &res, base[:d], 8, p) }); a > 0 {
			t.Errorf("%s: %v allocations per search", s, a)
		}
	}
}

// TestBatchMatchesSingleQueries checks that a batch, whose queries scan the
// blocks together in groups, answers exactly as the same queries one by one,
// for both metrics, odd M, explicit ids and sizes around the block size.
func TestBatchMatchesSingleQueries(t *testing.T) { simdtest.ForEach(t, testBatchMatchesSingleQueries) }

func testBatchMatchesSingleQueries(t *testing.T) {
	const d = 24
	train := lowRank(31, 5000, d)
	queries := lowRank(32, 29, d)
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		for _, desc := range []string{"PQ8x4fs", "PQ3x4fs"} {
			for _, n := range []int{1, 31, 33, 700, 5000} { // 5000: three batches of blocks
				idx, err := factory.New(d, desc, m)
				if err != nil {
					t.Fatal(err)
				}
				if err := idx.Train(ctx, train); err != nil {
					t.Fatal(err)
				}
				ids := make([]int64, n)
				for i := range ids {
					ids[i] = int64(5*i + 3)
				}
				if err := idx.AddWithIDs(ctx, train[:n*d], ids); err != nil {
					t.Fatal(err)
				}
				for _, k := range []int{1, 10, n + 5} {
					batch, err := idx.Search(ctx, queries, k, nil)
					if err != nil {
						t.Fatal(err)
					}
					for q := 0; q < len(queries)/d; q++ {
						one, err := idx.Search(ctx, queries[q*d:(q+1)*d], k, nil)
						if err != nil {
							t.Fatal(err)
						}
						bd, bi := batch.Row(q)
						if !slices.Equal(bi, one.IDs) || !slices.Equal(bd, one.Distances) {
							t.Fatalf("%s %v n=%d k=%d query %d: batch %v %v, alone %v %v", desc, m, n, k, q, bi, bd, one.IDs, one.Distances)
						}
					}
				}
			}
		}
	}
}

// TestIVFBatchMatchesSingleQueries checks that an IVF fast-scan batch, whose
// queries are grouped by list and scanned together, answers as the same
// queries one at a time: the same distances, and ids that differ only among
// equal distances (quantized distances tie often).
func TestIVFBatchMatchesSingleQueries(t *testing.T) {
	simdtest.ForEach(t, testIVFBatchMatchesSingleQueries)
}

func testIVFBatchMatchesSingleQueries(t *testing.T) {
	const d, nq, k = 32, 200, 10
	base := lowRank(51, 6000, d)
	queries := lowRank(52, nq, d)
	for _, c := range []struct {
		desc string
		m    metric.Metric
	}{
		{"IVF16,PQ8x4fs", metric.L2},
		{"IVF16,PQ4x4fs", metric.InnerProduct},
		{"IVF16,PQ8x4fsr", metric.InnerProduct},
		{"IVF16,PQ8x4fsr", metric.L2},
	} {
		idx := buildIndex(t, c.desc, d, c.m, base)
		if _, err := idx.(kume.Remover).RemoveIDs([]int64{1, 2, 3, 4000}); err != nil {
			t.Fatal(err)
		}
		for _, nprobe := range []int{1, 4, 16} {
			p := &kume.SearchParams{NProbe: nprobe}
			batch, err := idx.Search(ctx, queries, k, p)
			if err != nil {
				t.Fatal(err)
			}
			for q := 0; q < nq; q++ {
				// k+1 results alone: a tie may straddle the k-th.
				one, err := idx.Search(ctx, queries[q*d:(q+1)*d], k+1, p)
				if err != nil {
					t.Fatal(err)
				}
				// The coarse search of a batch uses the many-to-many kernel,
				// whose sums may differ from a single query's in the last
				// bits; with inner product on residuals that moves the
				// offset of the estimates by as much.
				same := func(a, b float32) bool {
					return math.Abs(float64(a-b)) <= 1e-5*math.Max(1, math.Abs(float64(b)))
				}
				bd, bi := batch.Row(q)
				for j := range bi {
					if !same(bd[j], one.Distances[j]) {
						t.Fatalf("%s %v nprobe=%d query %d rank %d: distance %v in the batch, %v alone", c.desc, c.m, nprobe, q, j, bd[j], one.Distances[j])
					}
					tied := (j > 0 && same(one.Distances[j-1], bd[j])) || same(one.Distances[j+1], bd[j])
					if bi[j] != one.IDs[j] && !tied {
						t.Fatalf("%s %v nprobe=%d query %d rank %d: id %d in the batch, %d alone", c.desc, c.m, nprobe, q, j, bi[j], one.IDs[j])
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
	const d = 16
	base := lowRank(8, 3000, d)
	for _, s := range []string{"PQ8x4fs", "IVF8,PQ8x4fsr", "IVF8,PQ8x4fs"} {
		idx := buildIndex(t, s, d, metric.L2, base)
		var res kume.Results
		p := &kume.SearchParams{NProbe: 3}
		for _, nq := range []int{40, 640} {
			q := base[:nq*d]
			_ = idx.SearchInto(ctx, &res, q, 8, p)
			if a := testing.AllocsPerRun(10, func() { _ = idx.SearchInto(ctx, &res, q, 8, p) }); a > 4 {
				t.Errorf("%s: a batch of %d queries allocates %v times", s, nq, a)
			}
		}
	}
}
