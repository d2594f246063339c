package ivf

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/simdtest"
	"github.com/kume-ann/kume/metric"
)

// TestCoarseSearchIsExact: the coarse quantizer an IVF index gets by default
// prunes its search over the centroids, and returns exactly the lists (and
// coarse distances) that comparing with every centroid returns, for
// k-means centroids of clustered data, centroids with exact duplicates, and
// centroids far from the origin, at several nprobe, under L2 and inner
// product.
func TestCoarseSearchIsExact(t *testing.T) {
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		t.Run(m.String(), func(t *testing.T) { coarseSearchIsExact(t, m) })
	}
}

func coarseSearchIsExact(t *testing.T, m metric.Metric) {
	simdtest.ForEach(t, func(t *testing.T) {
		d, n, nlist := 128, 6000, 200
		if testing.Short() {
			n, nlist = 3000, 130
		}
		rng := rand.New(rand.NewPCG(31, 32))
		base := clustered(31, n, d, 40)
		trained := build(t, m, base, d, nlist)
		cent, _ := trained.Quantizer().Vectors()
		dup := slices.Clone(cent)
		for i := 1; i < nlist; i += 3 { // every third centroid repeats the one before
			copy(dup[i*d:(i+1)*d], dup[(i-1)*d:i*d])
		}
		far := slices.Clone(cent)
		for i := range far {
			far[i] += 1e4
		}
		for name, c := range map[string][]float32{"kmeans": cent, "duplicates": dup, "offset1e4": far} {
			t.Run(name, func(t *testing.T) {
				x, err := NewFlat(d, nlist, m)
				if err != nil {
					t.Fatal(err)
				}
				if err := x.SetCentroids(c); err != nil {
					t.Fatal(err)
				}
				if q, ok := x.Quantizer().(*flat.Index); !ok || !q.Pruning() {
					t.Fatalf("the default quantizer %T does not prune", x.Quantizer())
				}
				plain, _ := flat.New(d, m)
				plain.EnablePruning(false)
				if err := plain.Add(ctx, c); err != nil {
					t.Fatal(err)
				}
				queries := make([]float32, 300*d)
				shift := float32(0)
				if name == "offset1e4" {
					shift = 1e4
				}
				for i := range queries {
					queries[i] = base[(i/d*37%(n))*d+i%d] + shift + float32(0.05*rng.NormFloat64())
				}
				copy(queries[:d], c[5*d:6*d]) // a query on a (duplicated) centroid
				for _, nprobe := range []int{1, 4, 16} {
					got, err := x.Quantizer().Search(ctx, queries, nprobe, nil)
					if err != nil {
						t.Fatal(err)
					}
					want, err := plain.Search(ctx, queries, nprobe, nil)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Distances, want.Distances) {
						t.Fatalf("nprobe %d: the coarse search differs from the exhaustive one", nprobe)
					}
				}
			})
		}
	})
}
