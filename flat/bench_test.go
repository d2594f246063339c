package flat

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/metric"
)

// BenchmarkSearch measures exact search on random data: one query at a time
// (the re-ranking and coarse-quantizer shape) and batches (ground truth).
func BenchmarkSearch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ n, d, nq int }{{1024, 256, 1}, {1024, 256, 500}, {60000, 784, 1}, {60000, 784, 200}} {
		base := randVecs(rng, c.n, c.d)
		queries := randVecs(rng, c.nq, c.d)
		for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
			idx, _ := New(c.d, m)
			_ = idx.Add(ctx, base)
			b.Run(fmt.Sprintf("n=%d/d=%d/nq=%d/%v", c.n, c.d, c.nq, m), func(b *testing.B) {
				var res kume.Results
				for b.Loop() {
					if err := idx.SearchInto(ctx, &res, queries, 10, nil); err != nil {
						b.Fatal(err)
					}
				}
				flops := 2 * float64(c.n) * float64(c.d) * float64(c.nq) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(float64(c.nq*b.N)/b.Elapsed().Seconds(), "qps")
				b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "threads")
			})
		}
	}
}
