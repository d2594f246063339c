package flat

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/testvec"
	"github.com/kume-ann/kume/metric"
)

// A batch of range searches, long enough for several groups of tileQueries
// queries against several tiles of rows (each packed once for all of them),
// answers as each query alone does (the one-query kernel), ids and
// distances, under both metrics, filtered or not, with ids or positions.
func TestRangeBatchMatchesOne(t *testing.T) {
	const d, n, nq = 24, 2*tileRows + 300, 2*tileQueries + 90
	ctx := context.Background()
	base, queries := testvec.Normal(31, n, d), testvec.Normal(32, nq, d)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(3*i + 7)
	}
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		for _, withIDs := range []bool{false, true} {
			x, err := New(d, m)
			if err != nil {
				t.Fatal(err)
			}
			if withIDs {
				err = x.AddWithIDs(ctx, base, ids)
			} else {
				err = x.Add(ctx, base)
			}
			if err != nil {
				t.Fatal(err)
			}
			radius := float32(30)
			if m == metric.InnerProduct {
				radius = 6
			}
			for _, f := range []kume.IDFilter{nil, kume.IDRange(500, 2500)} {
				p := &kume.SearchParams{Filter: f}
				batch, err := x.RangeSearch(ctx, queries, radius, p)
				if err != nil {
					t.Fatal(err)
				}
				if len(batch.IDs) < nq {
					t.Fatalf("%v: %d results for %d queries: the radius is too small for the test", m, len(batch.IDs), nq)
				}
				for i := 0; i < nq; i++ {
					one, err := x.RangeSearch(ctx, queries[i*d:(i+1)*d], radius, p)
					if err != nil {
						t.Fatal(err)
					}
					bd, bi := batch.Row(i)
					od, oi := one.Row(0)
					if !slices.Equal(bi, oi) || !slices.Equal(bd, od) {
						t.Fatalf("%v ids %v filter %v query %d: batch %v %v, alone %v %v", m, withIDs, f, i, bi, bd, oi, od)
					}
				}
			}
		}
	}
}

// TestPrunedRangeMatchesExhaustive: with the pruned set in use, range
// searches return what the exhaustive scan returns (lims, ids and distances
// bit for bit), in batches and alone, filtered or not, at radii that fall
// exactly on distances, on nasty data and on data near a subspace (where
// the set must prune), after Add and RemoveIDs.
func TestPrunedRangeMatchesExhaustive(t *testing.T) {
	const d = 96
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(51, 52))
	sets := nastySets(rng, d)
	low := testvec.LowRank{Latent: 12, Centers: 20, MapSeed: 5, ScaleMap: true, Noise: 0.01}
	nLow, nqLow, aloneEvery := 2600, 150, 13
	if testing.Short() {
		nLow, nqLow, aloneEvery = 1300, 60, 29
	}
	sets["lowRank"] = [2][]float32{low.Draw(1, nLow, d), low.Draw(2, nqLow, d)}
	for name, set := range sets {
		t.Run(name, func(t *testing.T) {
			base, queries := set[0], set[1]
			nq := len(queries) / d
			plain, _ := New(d, metric.L2)
			plain.EnablePruning(false)
			pr, _ := New(d, metric.L2)
			pr.EnablePruning(true)
			half := len(base) / d / 2 * d
			for _, x := range []*Index{plain, pr} {
				if err := x.Add(ctx, base[:half]); err != nil {
					t.Fatal(err)
				}
			}
			compare := func(stage string) {
				t.Helper()
				if pr.prunedSet() == nil {
					t.Fatalf("%s: no pruned set", stage)
				}
				near, err := plain.Search(ctx, queries[:d], 40, nil)
				if err != nil {
					t.Fatal(err)
				}
				var radii []float32
				for _, k := range []int{0, 9, 39} {
					r := near.Distances[k]
					radii = append(radii, r, math.Nextafter32(r, float32(math.Inf(1))))
				}
				radii = append(radii, 0, float32(math.Inf(1)))
				if testing.Short() {
					// Exactly at the nearest row's distance and just
					// above it, and past the 40th: a third of the
					// brute force under emulation.
					radii = []float32{radii[0], radii[1], radii[5]}
				}
				for _, radius := range radii {
					for _, f := range []kume.IDFilter{nil, kume.IDRange(100, 600), kume.IDSet([]int64{3, 4, 5, 300, 301, 1200})} {
						p := &kume.SearchParams{Filter: f}
						want, err := plain.RangeSearch(ctx, queries, radius, p)
						if err != nil {
							t.Fatal(err)
						}
						got, err := pr.RangeSearch(ctx, queries, radius, p)
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(got.Lims, want.Lims) || !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Distances, want.Distances) {
							t.Fatalf("%s radius %v filter %v: pruned range results differ from exhaustive", stage, radius, f)
						}
						for i := 0; i < nq; i += aloneEvery {
							one, err := pr.RangeSearch(ctx, queries[i*d:(i+1)*d], radius, p)
							if err != nil {
								t.Fatal(err)
							}
							wd, wi := want.Row(i)
							od, oi := one.Row(0)
							if !slices.Equal(oi, wi) || !slices.Equal(od, wd) {
								t.Fatalf("%s radius %v query %d alone: %v %v, exhaustive %v %v", stage, radius, i, oi, od, wi, wd)
							}
						}
					}
				}
				if name == "lowRank" && !pr.prunedSet().Pays() {
					t.Errorf("%s: the pruned set does not pay on rows near a subspace", stage)
				}
			}
			compare("first half")
			for _, x := range []*Index{plain, pr} {
				if err := x.Add(ctx, base[half:]); err != nil {
					t.Fatal(err)
				}
			}
			compare("after Add")
			for _, x := range []*Index{plain, pr} {
				if _, err := x.RemoveIDs([]int64{0, 3, 17, 500, 501}); err != nil {
					t.Fatal(err)
				}
			}
			compare("after RemoveIDs")
		})
	}
}
