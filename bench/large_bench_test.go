package bench

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// largeSizes selects BenchmarkLargeIVF: go test -bench LargeIVF ./bench
// -large, or KUME_BENCH=large. It builds two indexes of a million vectors
// (minutes of k-means), so it is off by default.
var largeSizes = flag.Bool("large", false, "run BenchmarkLargeIVF on a million vectors (also KUME_BENCH=large)")

// largeData is the data set of BenchmarkLargeIVF, as `kume export -data`
// names it.
const largeData = "synth256:n=1000000,nq=1000"

// largeTrainRows is the training sample of BenchmarkLargeIVF's indexes: 16
// vectors per list (faiss_bench.py --train 262144 trains FAISS's alike).
const largeTrainRows = 16 * 16384

// largeSettings are FAISS's indexes for a million vectors and more: 16,384
// lists, over an HNSW graph of the centroids or over all of them exactly.
var largeSettings = []benchSetting{
	{"IVF16384_HNSW32,Flat", []string{
		"nprobe=1,quantizer_efSearch=16", "nprobe=8,quantizer_efSearch=16", "nprobe=32,quantizer_efSearch=16",
		"nprobe=1,quantizer_efSearch=64", "nprobe=8,quantizer_efSearch=64", "nprobe=32,quantizer_efSearch=64",
	}},
	{"IVF16384,Flat", []string{"nprobe=1", "nprobe=8", "nprobe=32"}},
}

// BenchmarkLargeIVF measures IVF16384_HNSW32,Flat and IVF16384,Flat on a
// million 256-d vectors (k = 10, 1,000 queries per batch), named
// BenchmarkLargeIVF/<factory string>/<parameters>, with the metrics of
// BenchmarkSearch. The indexes are trained on the first 262,144 vectors.
// With KUME_LARGE_INDEXES set to a folder of FAISS's files for the same data
// (bench/faiss_bench.py --save on `kume export -data synth256:n=1000000,nq=1000`),
// it searches FAISS's indexes instead of building its own, so that both
// engines answer from the same lists.
func BenchmarkLargeIVF(b *testing.B) {
	if !*largeSizes && os.Getenv("KUME_BENCH") != "large" {
		b.Skip("a million vectors: run with -large or KUME_BENCH=large")
	}
	ctx := context.Background()
	d := loadBenchData(b, largeData, true)
	r := &Runner{Data: d.ds, GT: d.gt, GTK: d.gtk, K: 10, TrainRows: largeTrainRows}
	from := os.Getenv("KUME_LARGE_INDEXES")
	for _, set := range largeSettings {
		b.Run(set.factory, func(b *testing.B) {
			built := cachedIndex(b, largeData+"/"+set.factory+"/"+from, set.factory, func() (*Built, error) {
				if from != "" {
					return r.Load(filepath.Join(from, IndexFileName(set.factory)), set.factory)
				}
				return r.Build(ctx, set.factory)
			})
			for _, params := range set.params {
				b.Run(params, func(b *testing.B) {
					benchSearch(b, r, built, params)
				})
			}
		})
	}
}
