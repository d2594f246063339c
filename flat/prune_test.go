package flat

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/race"
	"github.com/kume-ann/kume/internal/simdtest"
	"github.com/kume-ann/kume/internal/testvec"
	"github.com/kume-ann/kume/metric"
)

// TestPruningMatchesExhaustive: with pruning on, searches return the
// exhaustive search's ids and distances bit for bit, in batches and alone,
// at any GOMAXPROCS, on nasty data, after Add, after RemoveIDs (ids that are
// not rows) and with ids of one's own.
func TestPruningMatchesExhaustive(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		const d = 96
		rng := rand.New(rand.NewPCG(21, 22))
		for name, set := range nastySets(rng, d) {
			for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
				if testing.Short() && m == metric.InnerProduct && name != "duplicates" && name != "offset1000" {
					continue // the others under L2 only when emulated
				}
				t.Run(fmt.Sprint(name, "/", m), func(t *testing.T) {
					base, queries := set[0], set[1]
					plain, _ := New(d, m)
					plain.EnablePruning(false)
					pruned, _ := New(d, m)
					pruned.EnablePruning(true)
					ctx := context.Background()
					half := len(base) / d / 2 * d
					for _, x := range []*Index{plain, pruned} {
						if err := x.Add(ctx, base[:half]); err != nil {
							t.Fatal(err)
						}
					}
					compare := func(stage string) {
						t.Helper()
						if pruned.prunedSet() == nil {
							t.Fatalf("%s: no pruned set", stage)
						}
						nq := len(queries) / d
						for _, k := range []int{1, 8, 30} {
							want, err := plain.Search(ctx, queries, k, nil)
							if err != nil {
								t.Fatal(err)
							}
							for _, procs := range []int{1, 2} {
								old := runtime.GOMAXPROCS(procs)
								got, err := pruned.Search(ctx, queries, k, nil)
								runtime.GOMAXPROCS(old)
								if err != nil {
									t.Fatal(err)
								}
								if !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Distances, want.Distances) {
									t.Fatalf("%s k=%d GOMAXPROCS %d: pruned results differ from exhaustive", stage, k, procs)
								}
							}
							for i := 0; i < nq; i += 7 {
								got, err := pruned.Search(ctx, queries[i*d:(i+1)*d], k, nil)
								if err != nil {
									t.Fatal(err)
								}
								wd, wi := want.Row(i)
								if !slices.Equal(got.IDs, wi) || !slices.Equal(got.Distances, wd) {
									t.Fatalf("%s k=%d query %d alone: (%v, %v), exhaustive (%v, %v)", stage, k, i, got.IDs, got.Distances, wi, wd)
								}
							}
						}
					}
					compare("first half")
					for _, x := range []*Index{plain, pruned} {
						if err := x.Add(ctx, base[half:]); err != nil {
							t.Fatal(err)
						}
					}
					compare("after Add")
					drop := []int64{0, 3, 17, 500, 501}
					for _, x := range []*Index{plain, pruned} {
						if _, err := x.RemoveIDs(drop); err != nil {
							t.Fatal(err)
						}
					}
					compare("after RemoveIDs")
				})
			}
		}
	})
}

// TestPruningFallsBack: paths the pruned set does not serve (a filter, k
// above the rows held) still answer, as without pruning, under both
// metrics.
func TestPruningFallsBack(t *testing.T) {
	const d = 64
	rng := rand.New(rand.NewPCG(23, 24))
	base := make([]float32, 300*d)
	for i := range base {
		base[i] = float32(rng.NormFloat64())
	}
	queries := base[:5*d]
	ctx := context.Background()
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		plain, _ := New(d, m)
		pruned, _ := New(d, m)
		pruned.EnablePruning(true)
		_ = plain.Add(ctx, base)
		_ = pruned.Add(ctx, base)
		if pruned.prunedSet() == nil {
			t.Fatalf("%v: no pruned set", m)
		}
		for _, c := range []struct {
			k int
			p *kume.SearchParams
		}{{400, nil}, {5, &kume.SearchParams{Filter: kume.IDRange(10, 200)}}, {5, nil}} {
			want, err := plain.Search(ctx, queries, c.k, c.p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pruned.Search(ctx, queries, c.k, c.p)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Distances, want.Distances) {
				t.Fatalf("%v k=%d filter %v: results differ", m, c.k, c.p != nil)
			}
		}
	}
	pruned, _ := New(d, metric.L2)
	pruned.EnablePruning(true)
	_ = pruned.Add(ctx, base)
	pruned.EnablePruning(false)
	if pruned.prunedSet() != nil {
		t.Fatal("pruning still on after EnablePruning(false)")
	}
	pruned.Reset()
	pruned.EnablePruning(true)
	if s := pruned.prunedSet(); s != nil {
		t.Fatalf("a pruned set over an empty index: %v", s.Len())
	}
}

// TestPrunedSearchAllocatesNothing: a pruned batch allocates nothing once
// its buffers have grown.
func TestPrunedSearchAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	const d, latent = 128, 8
	rng := rand.New(rand.NewPCG(25, 26))
	// Rows near an 8-dimensional subspace, which the bound prunes (on rows
	// it cannot prune, searches turn exhaustive; see pruned.Set.Pays).
	dirs := make([]float64, latent*d)
	for i := range dirs {
		dirs[i] = rng.NormFloat64()
	}
	base := make([]float32, 1000*d)
	for r := 0; r < 1000; r++ {
		for l := 0; l < latent; l++ {
			c := rng.NormFloat64() * 10
			for j := 0; j < d; j++ {
				base[r*d+j] += float32(c * dirs[l*d+j])
			}
		}
		for j := 0; j < d; j++ {
			base[r*d+j] += float32(0.01 * rng.NormFloat64())
		}
	}
	x, _ := New(d, metric.L2)
	x.EnablePruning(true)
	_ = x.Add(context.Background(), base)
	if s := x.prunedSet(); s == nil {
		t.Fatal("no pruned set")
	}
	var res kume.Results
	for _, nq := range []int{1, 50} {
		q := base[:nq*d]
		_ = x.SearchInto(context.Background(), &res, q, 4, nil)
		if a := testing.AllocsPerRun(50, func() { _ = x.SearchInto(context.Background(), &res, q, 4, nil) }); a > 0 {
			t.Errorf("%d queries: %v allocations per search", nq, a)
		}
	}
	if !x.prunedSet().Pays() {
		t.Error("the pruned set does not pay on rows near a subspace")
	}
}

func BenchmarkPrunedSearch(b *testing.B) {
	const d, n, nq = 768, 1282, 500
	rng := rand.New(rand.NewPCG(27, 28))
	base := make([]float32, n*d)
	for i := range base {
		base[i] = float32(rng.NormFloat64()) / float32(1+i%d)
	}
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		for _, on := range []bool{false, true} {
			x, _ := New(d, m)
			x.EnablePruning(on)
			_ = x.Add(context.Background(), base)
			var res kume.Results
			b.Run(fmt.Sprintf("%v/pruning=%v", m, on), func(b *testing.B) {
				for b.Loop() {
					_ = x.SearchInto(context.Background(), &res, base[:nq*d], 1, nil)
				}
			})
		}
	}
}

// TestUnprunableTurnsExhaustive: on rows without low-dimensional structure
// the bound prunes nothing; after a few hundred queries searches take the
// exhaustive path, with the same answers.
func TestUnprunableTurnsExhaustive(t *testing.T) {
	const d, n, nq = 96, 600, 700
	rng := rand.New(rand.NewPCG(31, 32))
	base := make([]float32, n*d)
	for i := range base {
		base[i] = float32(rng.NormFloat64())
	}
	queries := make([]float32, nq*d)
	for i := range queries {
		queries[i] = float32(rng.NormFloat64())
	}
	plain, _ := New(d, metric.L2)
	pr, _ := New(d, metric.L2)
	pr.EnablePruning(true)
	_ = plain.Add(context.Background(), base)
	_ = pr.Add(context.Background(), base)
	for round := 0; round < 2; round++ {
		want, err := plain.Search(context.Background(), queries, 5, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pr.Search(context.Background(), queries, 5, nil)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got.IDs, got.Distances) != fmt.Sprint(want.IDs, want.Distances) {
			t.Fatalf("round %d: pruned index answers unlike the exhaustive one", round)
		}
	}
	if s := pr.prunedSet(); s == nil || s.Pays() {
		t.Error("the bound still counts as paying on isotropic rows")
	}
}

// TestPruningByDefault: an index that was not told builds its pruned set
// once it has searched pruneAfter queries since its last change, and not
// before, under both metrics; a change starts the count again;
// EnablePruning(false) keeps it exhaustive.
func TestPruningByDefault(t *testing.T) {
	const d = 64
	ctx := context.Background()
	base := testvec.LowRank{Latent: 8, Centers: 10, MapSeed: 3, ScaleMap: true, Noise: 0.01}.Draw(4, 600, d)
	queries := base[:100*d]
	x, _ := New(d, metric.L2)
	off, _ := New(d, metric.L2)
	off.EnablePruning(false)
	ip, _ := New(d, metric.InnerProduct)
	for _, y := range []*Index{x, off, ip} {
		if err := y.Add(ctx, base); err != nil {
			t.Fatal(err)
		}
	}
	searched := 0
	for searched < pruneAfter {
		if x.Pruning() {
			t.Fatalf("pruned set built after %d queries", searched)
		}
		for _, y := range []*Index{x, off, ip} {
			if _, err := y.Search(ctx, queries, 3, nil); err != nil {
				t.Fatal(err)
			}
		}
		searched += len(queries) / d
	}
	x.builds.Wait() // the sets are built in the background
	ip.builds.Wait()
	if !x.Pruning() {
		t.Fatalf("no pruned set after %d queries", searched)
	}
	if off.Pruning() || !ip.Pruning() {
		t.Fatalf("pruned set with pruning off (%v), under inner product (%v)", off.Pruning(), ip.Pruning())
	}
	if err := x.Add(ctx, base[:d]); err != nil {
		t.Fatal(err)
	}
	if x.Pruning() {
		t.Fatal("pruned set kept after Add")
	}
	// A range search counts as well: one batch of pruneAfter queries.
	many := make([]float32, 0, pruneAfter*d)
	for len(many) < pruneAfter*d {
		many = append(many, queries...)
	}
	if _, err := x.RangeSearch(ctx, many[:pruneAfter*d], 0.5, nil); err != nil {
		t.Fatal(err)
	}
	x.builds.Wait()
	if !x.Pruning() {
		t.Fatal("no pruned set after a range search of pruneAfter queries")
	}
}

// TestBackgroundBuildGivesWay: writers stop a background build of the
// pruned set and go on; no set over rows that changed is ever used, and
// searches during and after the build answer as the exhaustive search
// does, from several goroutines.
func TestBackgroundBuildGivesWay(t *testing.T) {
	const d = 128
	n := 20000
	if testing.Short() {
		n = 3000
	}
	ctx := context.Background()
	gen := testvec.LowRank{Latent: 10, Centers: 30, MapSeed: 7, ScaleMap: true, Noise: 0.01}
	base, queries := gen.Draw(8, n, d), gen.Draw(9, pruneAfter, d)
	x, _ := New(d, metric.L2)
	plain, _ := New(d, metric.L2)
	plain.EnablePruning(false)
	for round := 0; round < 3; round++ {
		rows := base[round*n/4*d : (round+1)*n/4*d]
		for _, y := range []*Index{x, plain} {
			if err := y.Add(ctx, rows); err != nil {
				t.Fatal(err)
			}
		}
		// This search makes the set due and starts building it; the
		// next Add stops the build (or finds it done).
		var wg sync.WaitGroup
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := x.Search(ctx, queries, 5, nil)
				if err != nil {
					t.Error(err)
					return
				}
				want, _ := plain.Search(ctx, queries, 5, nil)
				if !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Distances, want.Distances) {
					t.Errorf("round %d: results differ from the exhaustive search", round)
				}
			}()
		}
		wg.Wait()
	}
	x.builds.Wait()
	x.mu.RLock()
	if s := x.pruned.Load(); s != nil && s.Len() != len(x.data)/d {
		t.Errorf("a pruned set of %d rows for %d", s.Len(), len(x.data)/d)
	}
	x.mu.RUnlock()
	got, err := x.Search(ctx, queries, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := plain.Search(ctx, queries, 5, nil)
	if !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Distances, want.Distances) {
		t.Error("results after the builds differ from the exhaustive search")
	}
	if !x.Pruning() {
		t.Error("no pruned set after the last build")
	}
}
