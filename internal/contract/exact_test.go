package contract

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/simdtest"
)

// TestExactMatchesBruteForce checks that Flat, and IVF,Flat visiting every
// list, return the true top k computed in float64 from the float32 inputs,
// for k from 1 to more than the index holds (the extra slots empty), in a
// batch and alone, under every kernel implementation. The dimension is not a
// multiple of a vector register, so the kernels' tails are exercised.
func TestExactMatchesBruteForce(t *testing.T) {
	const (
		d     = 23
		seed  = 11
		nlist = 8
	)
	n, nq := 333, 40
	if testing.Short() {
		n, nq = 150, 20
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	base := gaussian(rng, n, d, 0, 1)
	queries := gaussian(rng, nq, d, 0, 1)
	all := &kume.SearchParams{NProbe: nlist}
	for _, desc := range []string{"Flat", fmt.Sprintf("IVF%d,Flat", nlist)} {
		for _, m := range metrics {
			t.Run(fmt.Sprintf("%s/%v", desc, m), func(t *testing.T) {
				idx := build(t, d, desc, m, base, base)
				tr := newTruth(m, d, base, nil)
				simdtest.ForEach(t, func(t *testing.T) {
					for _, k := range []int{1, 2, 10, 100, n, n + 5} {
						label := fmt.Sprintf("seed %d, %s %v, n = %d, k = %d", seed, desc, m, n, k)
						batch := mustSearch(t, label, idx, queries, k, all)
						for i := 0; i < nq; i++ {
							q := queries[i*d : (i+1)*d]
							gd, gi := batch.Row(i)
							if !checkExact(t, fmt.Sprintf("%s, batch, query %d", label, i), tr, q, gd, gi) {
								break
							}
						}
						for i := 0; i < nq; i++ {
							q := queries[i*d : (i+1)*d]
							one := mustSearch(t, label, idx, q, k, all)
							if !checkExact(t, fmt.Sprintf("%s, alone, query %d", label, i), tr, q, one.Distances, one.IDs) {
								break
							}
						}
					}
				})
			})
		}
	}
}
