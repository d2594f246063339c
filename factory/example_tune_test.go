package factory_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/metric"
)

// Tuning nprobe for a recall target (here 0.9): measure recall@10 against exact search
// on held-out queries, and keep the smallest setting that reaches it. The
// chosen string applies unchanged to FAISS in Python.
func Example_tuneNProbe() {
	ctx := context.Background()
	const dim, n, nq, k = 16, 20000, 200, 10
	rng := rand.New(rand.NewPCG(5, 6))
	gen := func(rows int) []float32 {
		x := make([]float32, rows*dim)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	base, queries := gen(n), gen(nq)

	exact, _ := factory.New(dim, "Flat", metric.L2)
	_ = exact.Add(ctx, base)
	truth, _ := exact.Search(ctx, queries, k, nil)

	idx, _ := factory.New(dim, "IVF64,Flat", metric.L2)
	_ = idx.Train(ctx, base)
	_ = idx.Add(ctx, base)

	for _, setting := range []string{"nprobe=1", "nprobe=2", "nprobe=4", "nprobe=8", "nprobe=16", "nprobe=32"} {
		p, _ := kume.ParseSearchParams(setting)
		res, _ := idx.Search(ctx, queries, k, &p)
		if recall(res, truth) >= 0.90 {
			_ = factory.SetParams(idx, setting) // make it the index's default
			fmt.Println("chose", setting)
			break
		}
	}
	// Output: chose nprobe=16
}

// recall is |found top-k ∩ true top-k| / k, averaged over the queries.
func recall(got, want *kume.Results) float64 {
	hits := 0
	for q := 0; q < want.NQ; q++ {
		_, gi := got.Row(q)
		_, wi := want.Row(q)
		for _, a := range gi {
			for _, b := range wi {
				if a == b {
					hits++
					break
				}
			}
		}
	}
	return float64(hits) / float64(want.NQ*want.K)
}
