package ivf

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/simdtest"
	"github.com/kume-ann/kume/metric"
)

// rvcLists is RVC's rule for the number of lists of its indexes.
func rvcLists(n int) int {
	return max(1, min(int(16*math.Sqrt(float64(n))), n/39))
}

// TestBatchEqualsSingleRVC searches all frames of a segment in one call, as
// RVC does (IVF{n},Flat with n by RVC's rule, nprobe 1, k 8), with frames
// next to stored frames of large norm and data far from the origin: every
// query's answer equals its answer alone bit for bit, under every kernel
// implementation and GOMAXPROCS, and no distance is 0 unless the query is
// the stored vector (RVC weighs neighbours by 1/d²).
func TestBatchEqualsSingleRVC(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		d, n, nq, k := 256, 3000, 600, 8
		if testing.Short() { // emulated runs
			d, n, nq = 64, 800, 120
		}
		rng := rand.New(rand.NewPCG(21, 22))
		for _, c := range []struct {
			name      string
			off, sd   float64
			noise     float64
			m         metric.Metric
			nprobeMul int
		}{
			{"hubert", 0, 5, 1e-3, metric.L2, 1},
			{"offset1000", 1000, 1, 0.5, metric.L2, 1},
			{"offset1000-nprobe4", 1000, 1, 0.5, metric.L2, 4},
			{"offset1000-ip", 1000, 1, 0.5, metric.InnerProduct, 2},
		} {
			t.Run(c.name, func(t *testing.T) {
				base := make([]float32, n*d)
				for i := range base {
					base[i] = float32(c.off + c.sd*rng.NormFloat64())
				}
				queries := make([]float32, nq*d)
				for i := 0; i < nq; i++ {
					r := rng.IntN(n)
					for j := 0; j < d; j++ {
						queries[i*d+j] = base[r*d+j] + float32(c.noise*rng.NormFloat64())
					}
				}
				idx, err := NewFlat(d, rvcLists(n), c.m)
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				if err := idx.Train(ctx, base); err != nil {
					t.Fatal(err)
				}
				if err := idx.Add(ctx, base); err != nil {
					t.Fatal(err)
				}
				p := &kume.SearchParams{NProbe: c.nprobeMul}
				want := make([]*kume.Results, nq)
				for i := range want {
					if want[i], err = idx.Search(ctx, queries[i*d:(i+1)*d], k, p); err != nil {
						t.Fatal(err)
					}
				}
				for _, procs := range []int{1, 2, 3} {
					old := runtime.GOMAXPROCS(procs)
					got, err := idx.Search(ctx, queries, k, p)
					runtime.GOMAXPROCS(old)
					if err != nil {
						t.Fatal(err)
					}
					for i := 0; i < nq; i++ {
						gd, gi := got.Row(i)
						for j := range gd {
							if gi[j] != want[i].IDs[j] || gd[j] != want[i].Distances[j] {
								t.Fatalf("GOMAXPROCS %d frame %d slot %d: batch (%d, %v), alone (%d, %v)", procs, i, j, gi[j], gd[j], want[i].IDs[j], want[i].Distances[j])
							}
							if c.m == metric.L2 && gd[j] == 0 && c.noise > 0 {
								t.Fatalf("frame %d slot %d: distance 0 for a frame that is not stored", i, j)
							}
						}
					}
				}
				// A query in another batch composition: a prefix, a
				// different neighbour set.
				for _, sz := range []int{2, 9, min(257, nq)} {
					got, err := idx.Search(ctx, queries[(nq-sz)*d:], k, p)
					if err != nil {
						t.Fatal(err)
					}
					for i := 0; i < sz; i++ {
						_, gi := got.Row(i)
						w := want[nq-sz+i]
						if fmt.Sprint(gi) != fmt.Sprint(w.IDs) {
							t.Fatalf("batch of %d, frame %d: %v, alone %v", sz, i, gi, w.IDs)
						}
					}
				}
			})
		}
	})
}
