package fastscan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/kmeans"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/pq"
)

// BenchmarkPQFastScan measures a whole flat fast-scan search (tables,
// quantization, scan, top 10) over 1M random codes of 256-d vectors, as
// nanoseconds per code and query, for M = 32, 64, 128 and batches of 1, 16
// and 64 queries: the shape of FAISS's IndexPQFastScan figures in the
// project's reference.
func BenchmarkPQFastScan(b *testing.B) {
	const d, n = 256, 1 << 20
	rng := rand.New(rand.NewPCG(1, 2))
	train := make([]float32, 4096*d)
	for i := range train {
		train[i] = float32(rng.NormFloat64())
	}
	queries := make([]float32, 64*d)
	for i := range queries {
		queries[i] = float32(rng.NormFloat64())
	}
	for _, m := range []int{32, 64, 128} {
		q, err := pq.New(d, m)
		if err != nil {
			b.Fatal(err)
		}
		if err := q.Train(context.Background(), train, kmeans.Config{NIter: 5}); err != nil {
			b.Fatal(err)
		}
		packed := make([]byte, Blocks(n)*BlockBytes(m))
		for i := range packed {
			packed[i] = byte(rng.IntN(256))
		}
		x, err := FromParts(q, metric.L2, n, packed, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, nq := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("M=%d/nq=%d", m, nq), func(b *testing.B) {
				var res kume.Results
				qs := queries[:nq*d]
				for b.Loop() {
					if err := x.SearchInto(context.Background(), &res, qs, 10, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/float64(n)/float64(nq), "ns/code/query")
			})
		}
	}
}
