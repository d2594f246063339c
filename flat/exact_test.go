package flat

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/simdtest"
	"github.com/kume-ann/kume/internal/testvec"
	"github.com/kume-ann/kume/metric"
)

// nastySets are data sets on which the expanded form of batched L2
// distances, ||q||² + ||x||² - 2<q, x>, loses the distance: far from the
// origin, near-duplicates of large vectors, exact duplicates.
func nastySets(rng *rand.Rand, d int) map[string][2][]float32 {
	sets := map[string][2][]float32{}
	const n, nq = 700, 40
	shifted := func(off, sd float64) []float32 {
		v := make([]float32, n*d)
		for i := range v {
			v[i] = float32(off + sd*rng.NormFloat64())
		}
		return v
	}
	pick := func(base []float32, noise float64) []float32 {
		return testvec.NearCopies(rng, base, d, nq, noise)
	}
	b := shifted(1000, 1)
	sets["offset1000"] = [2][]float32{b, pick(b, 1)}
	b = shifted(1e4, 0.01)
	sets["offset1e4"] = [2][]float32{b, pick(b, 0.01)}
	b = shifted(0, 5) // ||x||² ≈ 25·d, HuBERT-like frames at d = 256
	sets["nearDuplicates"] = [2][]float32{b, pick(b, 1e-3)}
	dup := shifted(3, 1)
	for i := 1; i < n; i++ { // groups of 10 identical vectors
		if i%10 != 0 {
			copy(dup[i*d:(i+1)*d], dup[(i-i%10)*d:])
		}
	}
	sets["duplicates"] = [2][]float32{dup, pick(dup, 0)}
	return sets
}

// TestBatchEqualsSingle: on nasty data, a batch returns, bit for bit, what
// each of its queries returns alone, under every kernel implementation and
// GOMAXPROCS, and the L2 distances are those of a float64 computation from
// the float32 inputs within 1e-4 relative, never 0 unless equal.
func TestBatchEqualsSingle(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		const d, k = 256, 10
		rng := rand.New(rand.NewPCG(11, 12))
		for name, set := range nastySets(rng, d) {
			for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
				t.Run(fmt.Sprintf("%s/%v", name, m), func(t *testing.T) {
					base, queries := set[0], set[1]
					idx, _ := New(d, m)
					if err := idx.Add(context.Background(), base); err != nil {
						t.Fatal(err)
					}
					nq := len(queries) / d
					want := make([]kume.Results, nq)
					for i := range want {
						r, err := idx.Search(context.Background(), queries[i*d:(i+1)*d], k, nil)
						if err != nil {
							t.Fatal(err)
						}
						want[i] = *r
					}
					for _, procs := range []int{1, 2, 4} {
						old := runtime.GOMAXPROCS(procs)
						res, err := idx.Search(context.Background(), queries, k, nil)
						runtime.GOMAXPROCS(old)
						if err != nil {
							t.Fatal(err)
						}
						for i := 0; i < nq; i++ {
							gd, gi := res.Row(i)
							for j := 0; j < k; j++ {
								if gi[j] != want[i].IDs[j] || gd[j] != want[i].Distances[j] {
									t.Fatalf("GOMAXPROCS %d query %d slot %d: batch (%d, %v), alone (%d, %v)", procs, i, j, gi[j], gd[j], want[i].IDs[j], want[i].Distances[j])
								}
							}
						}
					}
					if m != metric.L2 {
						return
					}
					for i := 0; i < nq; i++ {
						q := queries[i*d : (i+1)*d]
						for j, id := range want[i].IDs {
							x := base[int(id)*d : (int(id)+1)*d]
							var exact float64
							for c := range q {
								diff := float64(q[c]) - float64(x[c])
								exact += diff * diff
							}
							got := float64(want[i].Distances[j])
							if exact > 0 && got == 0 || math.Abs(got-exact) > 1e-4*exact {
								t.Fatalf("query %d slot %d: distance %v, float64 %v", i, j, got, exact)
							}
						}
					}
				})
			}
		}
	})
}

// TestTiesArePrefixes: with groups of identical vectors, the top k is the
// top k+1 less its last entry, ties ordered by id, alone and in batches.
func TestTiesArePrefixes(t *testing.T) {
	const d = 16
	rng := rand.New(rand.NewPCG(13, 14))
	base := nastySets(rng, d)["duplicates"][0]
	queries := nastySets(rng, d)["duplicates"][1]
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		idx, _ := New(d, m)
		_ = idx.Add(context.Background(), base)
		for _, k := range []int{1, 5, 9, 10, 11, 19, 20, 21} {
			a, _ := idx.Search(context.Background(), queries, k, nil)
			b, _ := idx.Search(context.Background(), queries, k+1, nil)
			for i := 0; i < a.NQ; i++ {
				ad, ai := a.Row(i)
				bd, bi := b.Row(i)
				for j := 0; j < k; j++ {
					if ai[j] != bi[j] || ad[j] != bd[j] {
						t.Fatalf("%v k=%d query %d: top k %v is not a prefix of top k+1 %v", m, k, i, ai, bi)
					}
					if j > 0 && ad[j] == ad[j-1] && ai[j] < ai[j-1] {
						t.Fatalf("%v k=%d query %d: ties not by id: %v", m, k, i, ai)
					}
				}
			}
		}
	}
}
