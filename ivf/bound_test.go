package ivf

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/simdtest"
	"github.com/kume-ann/kume/internal/testvec"
	"github.com/kume-ann/kume/metric"
)

// boundSets are the data sets the lists' bound is tested on: low-rank
// clusters (where it prunes most), off-centre and isotropic ones (where it
// prunes little), near and exact duplicates (ties broken by id), an integer
// lattice (many equal distances), and tiny and large magnitudes.
func boundSets(d, n, nq int) map[string][2][]float32 {
	rng := rand.New(rand.NewPCG(5, 6))
	pick := func(base []float32, noise float64) []float32 {
		return testvec.NearCopies(rng, base, d, nq, noise)
	}
	scaled := func(v []float32, f float32) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = x * f
		}
		return out
	}
	sets := map[string][2][]float32{}
	low := testvec.LowRank{Latent: 8, Centers: 40, MapSeed: 7, ScaleMap: true, Noise: 0.05}
	lb := low.Draw(1, n, d)
	sets["lowRank"] = [2][]float32{lb, low.Draw(2, nq, d)}
	sets["tiny"] = [2][]float32{scaled(lb, 1e-6), scaled(low.Draw(2, nq, d), 1e-6)}
	sets["large"] = [2][]float32{scaled(lb, 1e9), scaled(low.Draw(2, nq, d), 1e9)}
	off := make([]float32, n*d)
	for i := range off {
		off[i] = float32(1000 + rng.NormFloat64())
	}
	sets["offset1000"] = [2][]float32{off, pick(off, 1)}
	sets["nearDuplicates"] = [2][]float32{lb, pick(lb, 1e-4)}
	dup := append([]float32(nil), lb...)
	for i := 1; i < n; i++ { // groups of 8 identical vectors
		if i%8 != 0 {
			copy(dup[i*d:(i+1)*d], dup[(i-i%8)*d:])
		}
	}
	sets["duplicates"] = [2][]float32{dup, pick(dup, 0)}
	lat := make([]float32, n*d)
	for i := range lat {
		lat[i] = float32(rng.IntN(3))
	}
	sets["lattice"] = [2][]float32{lat, pick(lat, 0)}
	return sets
}

// TestBoundedListsMatchFullScan: an IVF,Flat index whose lists keep their
// vectors' points (the default under L2) returns, bit for bit, what the
// same index without them returns, in batches and alone, at several
// GOMAXPROCS, after Add and RemoveIDs; and on low-rank data the bound spares
// most of the measuring.
func TestBoundedListsMatchFullScan(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		d, nlist, n, nq := 96, 128, 6400, 60
		// The pure-Go kernels take the smaller sizes: they are three times
		// slower, and the bound is the same code at every level, only the
		// kernels' rounding differs.
		if testing.Short() || asm.Selected() == "generic" {
			n, nq = 3200, 24
		}
		for name, set := range boundSets(d, n, nq) {
			t.Run(name, func(t *testing.T) {
				base, queries := set[0], set[1]
				ctx := context.Background()
				plainCodec := NewFlatCodec(metric.L2)
				plainCodec.EnablePruning(false)
				plain, err := New(d, nlist, metric.L2, plainCodec)
				if err != nil {
					t.Fatal(err)
				}
				if err := plain.Train(ctx, base); err != nil {
					t.Fatal(err)
				}
				codec := NewFlatCodec(metric.L2)
				bounded, err := New(d, nlist, metric.L2, codec)
				if err != nil {
					t.Fatal(err)
				}
				c, _ := plain.Quantizer().Vectors()
				if err := bounded.SetCentroids(c); err != nil {
					t.Fatal(err)
				}
				if codec.bound == nil || plainCodec.bound != nil {
					t.Fatalf("bound built: %v, and without pruning: %v", codec.bound != nil, plainCodec.bound != nil)
				}
				half := n / 2 * d
				for _, x := range []*Index{plain, bounded} {
					if err := x.Add(ctx, base[:half]); err != nil {
						t.Fatal(err)
					}
				}
				compare := func(stage string) {
					t.Helper()
					for _, nprobe := range []int{1, 8, 32, nlist} {
						for _, k := range []int{1, 10, 40} {
							p := &kume.SearchParams{NProbe: nprobe}
							want, err := plain.Search(ctx, queries, k, p)
							if err != nil {
								t.Fatal(err)
							}
							for _, procs := range []int{1, 2} {
								old := runtime.GOMAXPROCS(procs)
								got, err := bounded.Search(ctx, queries, k, p)
								runtime.GOMAXPROCS(old)
								if err != nil {
									t.Fatal(err)
								}
								sameResults(t, fmt.Sprintf("%s nprobe %d k %d GOMAXPROCS %d", stage, nprobe, k, procs), got, want)
							}
							for i := 0; i < nq; i += 7 {
								got, err := bounded.Search(ctx, queries[i*d:(i+1)*d], k, p)
								if err != nil {
									t.Fatal(err)
								}
								w := &kume.Results{NQ: 1, K: k, Distances: want.Distances[i*k : (i+1)*k], IDs: want.IDs[i*k : (i+1)*k]}
								sameResults(t, fmt.Sprintf("%s nprobe %d k %d query %d alone", stage, nprobe, k, i), got, w)
							}
						}
					}
				}
				compare("half")
				for _, x := range []*Index{plain, bounded} {
					if err := x.Add(ctx, base[half:]); err != nil {
						t.Fatal(err)
					}
					if _, err := x.RemoveIDs([]int64{0, 3, 5, int64(n / 3), int64(n - 1)}); err != nil {
						t.Fatal(err)
					}
				}
				compare("after Add and RemoveIDs")
				scored, measured := codec.scored.Load(), codec.measured.Load()
				// Off and on again: the points dropped, then rebuilt.
				bounded.EnablePruning(false)
				for _, l := range bounded.lists.codes {
					if fl := l.(*FlatCodes); fl.bound != nil || fl.proj != nil {
						t.Fatal("points kept with pruning off")
					}
				}
				compare("pruning off")
				bounded.EnablePruning(true)
				if codec.bound == nil {
					t.Fatal("no bound once pruning is on again")
				}
				compare("pruning on again")
				if scored == 0 {
					t.Fatal("no list was scanned through its bound")
				}
				t.Logf("measured %d of %d vectors scored", measured, scored)
				if name == "lowRank" && 4*measured > scored {
					t.Errorf("the bound measured %d of %d vectors on low-rank data", measured, scored)
				}
			})
		}
	})
}

// sameResults fails unless got and want hold the same ids and distances,
// bit for bit.
func sameResults(t *testing.T, what string, got, want *kume.Results) {
	t.Helper()
	for i := range want.IDs {
		if got.IDs[i] != want.IDs[i] || got.Distances[i] != want.Distances[i] {
			t.Fatalf("%s: slot %d: (%d, %v), without the bound (%d, %v)", what, i, got.IDs[i], got.Distances[i], want.IDs[i], want.Distances[i])
		}
	}
}
