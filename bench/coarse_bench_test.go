package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/rvc"
)

// BenchmarkCoarsePruning times an IVF index's coarse search on real data:
// the centroids of IVF{n},Flat trained on Fashion-MNIST's 60,000 training
// images (n by RVC's rule, 1,538, and 256), searched for the nprobe nearest
// of each of its 10,000 test images in one call, exhaustively and pruned
// (flat.EnablePruning, which IVF indexes use). Both return the same lists.
func BenchmarkCoarsePruning(b *testing.B) {
	ds, err := loadFashionMNIST(0, 0)
	if errors.Is(err, ErrNotInstalled) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, nlist := range []int{rvc.NList(len(ds.Base) / ds.D), 256} {
		x, err := ivf.NewFlat(ds.D, nlist, metric.L2)
		if err != nil {
			b.Fatal(err)
		}
		if err := x.Train(ctx, ds.Base); err != nil {
			b.Fatal(err)
		}
		cent, _ := x.Quantizer().Vectors()
		nq := len(ds.Queries) / ds.D
		for _, nprobe := range []int{1, 8} {
			for _, prune := range []bool{false, true} {
				q, _ := flat.New(ds.D, metric.L2)
				q.EnablePruning(prune)
				if err := q.Add(ctx, cent); err != nil {
					b.Fatal(err)
				}
				var res kume.Results
				b.Run(fmt.Sprintf("nlist=%d/nprobe=%d/pruned=%v", nlist, nprobe, prune), func(b *testing.B) {
					for b.Loop() {
						if err := q.SearchInto(ctx, &res, ds.Queries, nprobe, nil); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(b.Elapsed().Seconds()*1e6/float64(b.N*nq), "µs/query")
				})
			}
		}
	}
}
