package contract

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/simdtest"
	"github.com/kume-ann/kume/metric"
)

// The standard data set: gaussian vectors, and queries of which most are
// fresh, some are stored vectors with a little noise and some are stored
// vectors exactly.
const (
	stdDim   = 32
	stdLists = 16
	stdM     = 8
	stdSeed  = 1
)

type stdData struct {
	base, queries []float32
}

var (
	stdOnce sync.Once
	std     stdData

	sharedMu  sync.Mutex
	sharedIdx = map[string]kume.Index{}
)

// standard returns the standard data set.
func standard() stdData {
	stdOnce.Do(func() {
		n, nq := 1000, 264
		if testing.Short() {
			n, nq = 400, 60
		}
		rng := rand.New(rand.NewPCG(stdSeed, 0))
		std.base = gaussian(rng, n, stdDim, 0, 1)
		fresh := nq - nq/5
		q := gaussian(rng, fresh, stdDim, 0, 1)
		rows := make([]int, nq-fresh)
		for i := range rows {
			rows[i] = rng.IntN(n)
		}
		half := len(rows) / 2
		q = append(q, perturbed(rng, std.base, stdDim, rows[:half], 1e-3)...)
		q = append(q, perturbed(rng, std.base, stdDim, rows[half:], 0)...)
		std.queries = q
	})
	return std
}

// shared returns the index desc over the standard data, built once per test
// binary. Tests must not change it.
func shared(t testing.TB, desc string, m metric.Metric) kume.Index {
	t.Helper()
	key := fmt.Sprintf("%s/%v", desc, m)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if idx, ok := sharedIdx[key]; ok {
		return idx
	}
	s := standard()
	idx := build(t, stdDim, desc, m, s.base, s.base)
	sharedIdx[key] = idx
	return idx
}

// searchSettings are the parameter sets every property is checked with: a
// few lists and a k_factor of 2, and every list (exact for flat codes).
func searchSettings() []*kume.SearchParams {
	return []*kume.SearchParams{{NProbe: 3, KFactor: 2}, {NProbe: stdLists}}
}

func paramString(p *kume.SearchParams) string {
	return fmt.Sprintf("nprobe=%d,k_factor=%g", p.NProbe, p.KFactor)
}

// TestBatchEqualsSingle checks, for every index type, metric and kernel
// implementation, that a batch returns for each query what the query alone
// returns (bit for bit on flat codes, ids equal and distances within 1e-4
// otherwise), that exact searches match a float64 brute force, and that
// exact distances are the distances of the ids they come with.
func TestBatchEqualsSingle(t *testing.T) {
	s := standard()
	const k = 10
	for _, desc := range descriptions(stdLists, stdM) {
		for _, m := range metrics {
			t.Run(fmt.Sprintf("%s/%v", desc, m), func(t *testing.T) {
				idx := shared(t, desc, m)
				kd := kindOf(t, stdDim, desc)
				var tr *truth
				var q []float32
				if kd.exactDist {
					tr, q = storedTruth(t, desc, idx, kd, s.queries)
				}
				simdtest.ForEach(t, func(t *testing.T) {
					for _, p := range searchSettings() {
						label := fmt.Sprintf("seed %d, %s %v, %s", stdSeed, desc, m, paramString(p))
						batch := mustSearch(t, label, idx, s.queries, k, p)
						single := singles(t, label, idx, s.queries, k, p)
						compareBatchSingle(t, label, batch, single, kd.flatCode)
						if !kd.exactDist {
							continue
						}
						for name, res := range map[string]*kume.Results{"batch": batch, "alone": single} {
							for i := 0; i < res.NQ; i++ {
								gd, gi := res.Row(i)
								qi := q[i*stdDim : (i+1)*stdDim]
								l := fmt.Sprintf("%s, %s, query %d", label, name, i)
								ok := checkDistances(t, l, tr, qi, gd, gi)
								if ok && kd.exactWith(p) {
									ok = checkExact(t, l, tr, qi, gd, gi)
								}
								if !ok {
									break
								}
							}
						}
					}
				})
			})
		}
	}
}

// TestGOMAXPROCS checks that a batch's answers do not depend on how many
// goroutines answer it.
func TestGOMAXPROCS(t *testing.T) {
	s := standard()
	const k = 10
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	for _, desc := range descriptions(stdLists, stdM) {
		for _, m := range metrics {
			idx := shared(t, desc, m)
			for _, p := range searchSettings() {
				label := fmt.Sprintf("seed %d, %s %v, %s", stdSeed, desc, m, paramString(p))
				var ref *kume.Results
				for _, procs := range []int{1, 2, 4} {
					runtime.GOMAXPROCS(procs)
					res := mustSearch(t, label, idx, s.queries, k, p)
					if ref == nil {
						ref = res
						continue
					}
					for i := 0; i < res.NQ; i++ {
						gd, gi := res.Row(i)
						wd, wi := ref.Row(i)
						if diff := rowDiff(gd, gi, wd, wi, true); diff != "" {
							t.Errorf("%s: query %d: GOMAXPROCS %d vs 1: %s", label, i, procs, diff)
							break
						}
					}
				}
				runtime.GOMAXPROCS(prev)
			}
		}
	}
}

// compositionSizes are the batch sizes a query is searched in: around the
// group sizes batched code paths use (8 queries, 256 queries) and beyond.
var compositionSizes = []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 127, 128, 129, 255, 256, 257, 300, 511, 512, 513, 600}

// TestBatchComposition checks that a query's answer does not depend on the
// batch it is in: its size, the other queries and its position.
func TestBatchComposition(t *testing.T) {
	const (
		k    = 8
		seed = 7
	)
	s := standard()
	nq := len(s.queries) / stdDim
	sizes := compositionSizes
	if testing.Short() {
		sizes = []int{1, 7, 8, 9, 255, 256, 257}
	}
	for _, desc := range descriptions(stdLists, stdM) {
		for _, m := range metrics {
			idx := shared(t, desc, m)
			kd := kindOf(t, stdDim, desc)
			p := &kume.SearchParams{NProbe: 3, KFactor: 2}
			rng := rand.New(rand.NewPCG(seed, 0))
			targets := []int{0, nq - 1, rng.IntN(nq)}
			alone := make([]*kume.Results, len(targets))
			for ti, q := range targets {
				alone[ti] = mustSearch(t, desc, idx, s.queries[q*stdDim:(q+1)*stdDim], k, p)
			}
		sizes:
			for _, size := range sizes {
				ti := rng.IntN(len(targets))
				target := targets[ti]
				at := rng.IntN(size)
				batch := make([]float32, 0, size*stdDim)
				for i := 0; i < size; i++ {
					q := rng.IntN(nq)
					if i == at {
						q = target
					}
					batch = append(batch, s.queries[q*stdDim:(q+1)*stdDim]...)
				}
				label := fmt.Sprintf("seed %d, %s %v, %s: query %d at position %d of %d", seed, desc, m, paramString(p), target, at, size)
				res := mustSearch(t, label, idx, batch, k, p)
				gd, gi := res.Row(at)
				wd, wi := alone[ti].Row(0)
				if diff := rowDiff(gd, gi, wd, wi, kd.flatCode); diff != "" {
					t.Errorf("%s: in the batch vs alone: %s", label, diff)
					break sizes
				}
			}
		}
	}
}
