package kmeans

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkTrain clusters 100,000 clustered 256-d points into 1,024
// centroids in 10 iterations, FAISS's IVF1024 coarse training at the size of
// its published figure (3.7 s on one thread of this machine kind).
func BenchmarkTrain(b *testing.B) {
	const n, d, k = 100_000, 256, 1024
	x, _ := blobs(42, n, d, 3000, 4)
	for _, threads := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("100kx256/k=1024/threads=%d", threads), func(b *testing.B) {
			old := runtime.GOMAXPROCS(threads)
			defer runtime.GOMAXPROCS(old)
			for b.Loop() {
				if _, err := Train(ctx, x, d, k, Config{NIter: 10, Logger: quiet()}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/train")
		})
	}
}
