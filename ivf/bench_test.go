package ivf

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/testvec"
	"github.com/kume-ann/kume/metric"
)

// rvcCase is an RVC-sized index: 200,000 clustered 256-d vectors of low
// intrinsic dimension (the size of
// a v1 voice model's features) in IVF1024,Flat, built once for all
// benchmarks, with exact top-10 ground truth for 1,000 queries.
var rvcCase struct {
	once    sync.Once
	idx     *Index
	queries []float32
	truth   *kume.Results
}

func rvcIndex(b *testing.B) {
	rvcCase.once.Do(func() {
		const n, d, nq = 200_000, 256, 1000
		base := lowRank(21, 1, n, d, 200)
		rvcCase.queries = lowRank(22, 1, nq, d, 200)
		idx, err := NewFlat(d, 1024, metric.L2)
		if err != nil {
			b.Fatal(err)
		}
		idx.KMeans = quietKMeans()
		if err := idx.Train(ctx, base); err != nil {
			b.Fatal(err)
		}
		if err := idx.Add(ctx, base); err != nil {
			b.Fatal(err)
		}
		exact, _ := flat.New(d, metric.L2)
		_ = exact.Add(ctx, base)
		rvcCase.truth, _ = exact.Search(ctx, rvcCase.queries, 10, nil)
		rvcCase.idx = idx
	})
}

// lowRank draws n points with low intrinsic dimension, as speech features
// have: a latent 24-d mixture of `centers` Gaussians, mapped to d dimensions
// by a fixed random linear map, plus a little isotropic noise. Both calls with
// the same mapSeed share the map, so queries come from the base's
// distribution.
func lowRank(seed, mapSeed uint64, n, d, centers int) []float32 {
	return testvec.LowRank{Latent: 24, Centers: centers, MapSeed: mapSeed, ScaleMap: true, Noise: 0.1}.Draw(seed, n, d)
}

// BenchmarkSearchRVC reports recall@1, recall@10 and queries per second.
func BenchmarkSearchRVC(b *testing.B) {
	rvcIndex(b)
	idx, queries, truth := rvcCase.idx, rvcCase.queries, rvcCase.truth
	d := idx.Dim()
	nq := len(queries) / d
	for _, threads := range []int{1, runtime.GOMAXPROCS(0)} {
		for _, nprobe := range []int{1, 16} {
			for _, k := range []int{8, 10} {
				for _, batch := range []int{1, 1000} {
					name := fmt.Sprintf("IVF1024,Flat/nprobe=%d/k=%d/batch=%d/threads=%d", nprobe, k, batch, threads)
					b.Run(name, func(b *testing.B) {
						old := runtime.GOMAXPROCS(threads)
						defer runtime.GOMAXPROCS(old)
						p := &kume.SearchParams{NProbe: nprobe}
						all := kume.Results{}
						all.Resize(nq, k)
						var res kume.Results
						done := 0
						for b.Loop() {
							for q0 := 0; q0 < nq; q0 += batch {
								q1 := min(q0+batch, nq)
								if err := idx.SearchInto(ctx, &res, queries[q0*d:q1*d], k, p); err != nil {
									b.Fatal(err)
								}
								copy(all.IDs[q0*k:q1*k], res.IDs)
							}
							done += nq
						}
						b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "qps")
						b.ReportMetric(recallAt1(&all, truth), "recall@1")
						if k >= 10 {
							b.ReportMetric(testvec.Recall(&all, truth, 10), "recall@10")
						}
					})
				}
			}
		}
	}
}

// recallAt1 is the fraction of queries whose first result is the true
// nearest neighbour.
func recallAt1(got, want *kume.Results) float64 {
	hits := 0
	for q := 0; q < want.NQ; q++ {
		if got.IDs[q*got.K] == want.IDs[q*want.K] {
			hits++
		}
	}
	return float64(hits) / float64(want.NQ)
}
