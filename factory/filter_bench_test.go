package factory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/bench"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/npy"
)

// TestFilterSpeedReport measures filtered k-NN search on
// IVF1024,PQ128x4fs,RFlat at 1%, 10%, 50% and 100% selectivity (a range of
// ids and a random set), against the same search unfiltered, and range
// search on Flat and IVF1024,Flat, on one thread. It runs only with
// KUME_FILTER_BENCH set to a folder, where it also writes the data
// (base.npy, queries.npy) for the same measurement in FAISS.
func TestFilterSpeedReport(t *testing.T) {
	dir := os.Getenv("KUME_FILTER_BENCH")
	if dir == "" {
		t.Skip("set KUME_FILTER_BENCH=DIR to run")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ctx := context.Background()
	const d, n, nq, k = 256, 100000, 1000, 10
	base, queries, err := bench.Synth{N: n, NQ: nq, D: d, Seed: 1}.Generate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = npy.WriteFile(dir+"/base.npy", base, n, d)
	_ = npy.WriteFile(dir+"/queries.npy", queries, nq, d)
	rng := rand.New(rand.NewPCG(5, 5))
	perm := rng.Perm(n)
	exactIdx, _ := factory.New(d, "Flat", metric.L2)
	_ = exactIdx.Add(ctx, base)
	timeIt := func(f func()) float64 {
		f() // warm up
		best := 1e18
		for r := 0; r < 3; r++ {
			t0 := time.Now()
			f()
			best = min(best, time.Since(t0).Seconds())
		}
		return best
	}
	recall := func(got, want *kume.Results) float64 {
		hit := 0
		for i := 0; i < got.NQ; i++ {
			_, gi := got.Row(i)
			_, wi := want.Row(i)
			set := map[int64]bool{}
			for _, id := range wi {
				set[id] = true
			}
			for _, id := range gi {
				if id >= 0 && set[id] {
					hit++
				}
			}
		}
		return float64(hit) / float64(got.NQ*got.K)
	}
	pqDescs := []string{"IVF1024,PQ128x4fs,RFlat"}
	if os.Getenv("KUME_FILTER_BENCH_RANGE_ONLY") != "" {
		pqDescs = nil
	}
	for _, desc := range pqDescs {
		idx, err := factory.New(d, desc, metric.L2)
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.Train(ctx, base); err != nil {
			t.Fatal(err)
		}
		_ = idx.Add(ctx, base)
		for _, ps := range []string{"nprobe=16,k_factor_rf=4", "nprobe=32,k_factor_rf=8"} {
			p0, _ := kume.ParseSearchParams(ps)
			for _, sel := range []float64{0.01, 0.1, 0.5, 1} {
				m := int(sel * n)
				set := make([]int64, m)
				for i := range set {
					set[i] = int64(perm[i])
				}
				lo := int64(n/2 - m/2)
				for _, f := range []struct {
					name string
					f    kume.IDFilter
				}{{"none", nil}, {"range", kume.IDRange(lo, lo+int64(m))}, {"set", kume.IDSet(set)}} {
					if f.f == nil && sel != 1 {
						continue
					}
					p := p0
					p.Filter = f.f
					var res *kume.Results
					sec := timeIt(func() { res, _ = idx.Search(ctx, queries, k, &p) })
					want, _ := exactIdx.Search(ctx, queries, k, &kume.SearchParams{Filter: f.f})
					qps1 := 0.0
					one := timeIt(func() {
						for i := 0; i < 200; i++ {
							_, _ = idx.Search(ctx, queries[i*d:(i+1)*d], k, &p)
						}
					})
					qps1 = 200 / one
					t.Logf("%s %s sel=%g%% filter=%s: batch %.0f q/s, single %.0f q/s, recall@10 %.3f", desc, ps, sel*100, f.name, float64(nq)/sec, qps1, recall(res, want))
				}
			}
		}
	}
	// Range search on exact indexes: a radius that returns ~0.1% of the
	// base per query.
	dists, _ := exactIdx.Search(ctx, queries[:20*d], 100, nil)
	var r100 []float64
	for i := 0; i < 20; i++ {
		r100 = append(r100, float64(dists.Distances[i*100+99]))
	}
	sort.Float64s(r100)
	radius := float32(r100[10])
	for _, desc := range []string{"Flat", "IVF1024,Flat"} {
		idx, _ := factory.New(d, desc, metric.L2)
		_ = idx.Train(ctx, base)
		_ = idx.Add(ctx, base)
		rs := idx.(kume.RangeSearcher)
		p := &kume.SearchParams{NProbe: 16}
		var res *kume.RangeResults
		sec := timeIt(func() { res, _ = rs.RangeSearch(ctx, queries, radius, p) })
		t.Logf("%s range radius %g: batch %.0f q/s, %d results", desc, radius, float64(nq)/sec, len(res.IDs))
		one := timeIt(func() {
			for i := 0; i < 50; i++ {
				_, _ = rs.RangeSearch(ctx, queries[i*d:(i+1)*d], radius, p)
			}
		})
		t.Logf("%s range single %.0f q/s", desc, 50/one)
	}
	fmt.Fprintf(os.Stderr, "radius %g\n", radius)
}
