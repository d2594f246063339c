package hnsw

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/testvec"
	"github.com/kume-ann/kume/metric"
)

// clustered returns n points of d dimensions around nc random centres.
func clustered(rng *rand.Rand, n, d, nc int) []float32 {
	centres := make([]float32, nc*d)
	for i := range centres {
		centres[i] = float32(rng.NormFloat64())
	}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := rng.IntN(nc)
		for j := 0; j < d; j++ {
			x[i*d+j] = centres[c*d+j] + 0.3*float32(rng.NormFloat64())
		}
	}
	return x
}

func normalize(x []float32, d int) {
	for i := 0; i < len(x); i += d {
		var s float64
		for _, v := range x[i : i+d] {
			s += float64(v) * float64(v)
		}
		f := float32(1 / math.Sqrt(s))
		for j := i; j < i+d; j++ {
			x[j] *= f
		}
	}
}

func build(t testing.TB, d, M int, m metric.Metric, base []float32) *Index {
	t.Helper()
	x, err := New(d, M, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Add(context.Background(), base); err != nil {
		t.Fatal(err)
	}
	return x
}

// recall is the fraction of the exact k nearest found.
func recall(t testing.TB, m metric.Metric, d int, base, queries []float32, k int, got []int64) float64 {
	t.Helper()
	f, _ := flat.New(d, m)
	if err := f.Add(context.Background(), base); err != nil {
		t.Fatal(err)
	}
	want, err := f.Search(context.Background(), queries, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	hit := 0
	nq := len(queries) / d
	for i := 0; i < nq; i++ {
		for _, id := range got[i*k : (i+1)*k] {
			if slices.Contains(want.IDs[i*k:(i+1)*k], id) {
				hit++
			}
		}
	}
	return float64(hit) / float64(nq*k)
}

func TestRecall(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const d, n, nq, k = 32, 5000, 200, 10
	base := clustered(rng, n, d, 50)
	queries := clustered(rng, nq, d, 50)
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		if m == metric.InnerProduct {
			// On unit vectors: inner products order as distances do.
			normalize(base, d)
			normalize(queries, d)
		}
		x := build(t, d, 16, m, base)
		prev := 0.0
		for _, ef := range []int{16, 64, 256} {
			res, err := x.Search(context.Background(), queries, k, &kume.SearchParams{EfSearch: ef})
			if err != nil {
				t.Fatal(err)
			}
			r := recall(t, m, d, base, queries, k, res.IDs)
			t.Logf("%v efSearch %d: recall@%d %.3f", m, ef, k, r)
			if r+0.01 < prev {
				t.Errorf("%v: recall fell from %.3f to %.3f at efSearch %d", m, prev, r, ef)
			}
			prev = r
		}
		if min := 0.97; prev < min {
			t.Errorf("%v: recall@%d %.3f at efSearch 256, want >= %.2f", m, k, prev, min)
		}
	}
}

// TestBatchEqualsSingle checks that a batch, whose queries' walks take
// turns on each goroutine, answers every query as it is answered alone:
// walks of very different lengths (near queries, far ones, repeats, a
// filter that admits few) at GOMAXPROCS 1 and 2.
func TestBatchEqualsSingle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const d, n, nq = 16, 3000, 100
	base := clustered(rng, n, d, 20)
	queries := clustered(rng, nq, d, 20)
	for i := 0; i < nq; i += 7 { // far from every cluster
		for j := 0; j < d; j++ {
			queries[i*d+j] = 50 * float32(rng.NormFloat64())
		}
	}
	copy(queries[10*d:11*d], queries[3*d:4*d]) // a repeat
	x := build(t, d, 8, metric.L2, base)
	ctx := context.Background()
	for _, c := range []struct {
		k int
		p *kume.SearchParams
	}{
		{5, nil},
		{1, &kume.SearchParams{EfSearch: 4}},
		{40, &kume.SearchParams{EfSearch: 64}},
		{10, &kume.SearchParams{Filter: kume.IDRange(100, 130)}},
	} {
		k := c.k
		for _, procs := range []int{1, 2} {
			old := runtime.GOMAXPROCS(procs)
			all, err := x.Search(ctx, queries, k, c.p)
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < nq; i++ {
				one, err := x.Search(ctx, queries[i*d:(i+1)*d], k, c.p)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(one.IDs, all.IDs[i*k:(i+1)*k]) || !slices.Equal(one.Distances, all.Distances[i*k:(i+1)*k]) {
					t.Fatalf("k %d %+v GOMAXPROCS %d query %d: alone %v %v, in a batch %v %v", k, c.p, procs, i, one.IDs, one.Distances, all.IDs[i*k:(i+1)*k], all.Distances[i*k:(i+1)*k])
				}
				for j := 1; j < k; j++ {
					a, b := one.Distances[j-1], one.Distances[j]
					if one.IDs[j] >= 0 && (a > b || (a == b && one.IDs[j-1] > one.IDs[j])) {
						t.Fatalf("query %d: results out of order: %v %v", i, one.IDs, one.Distances)
					}
				}
			}
		}
	}
}

func TestGraphInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const d = 8
	x := build(t, d, 4, metric.L2, clustered(rng, 2000, d, 10))
	// Adding in pieces keeps the graph consistent.
	if err := x.Add(context.Background(), clustered(rng, 500, d, 10)); err != nil {
		t.Fatal(err)
	}
	g := x.Graph()
	if err := g.Check(); err != nil {
		t.Fatal(err)
	}
	if g.Len() != 2500 || g.M() != 4 || g.CumNeighbors[1] != 8 {
		t.Fatalf("graph of %d nodes, M %d, level-0 slots %d", g.Len(), g.M(), g.CumNeighbors[1])
	}
	levels := map[int32]int{}
	for _, l := range g.Levels {
		levels[l]++
	}
	// Level l+1 holds about 1/M of level l.
	if levels[1] < 2500*6/10 || levels[2] == 0 || g.MaxLevel < 2 {
		t.Fatalf("levels %v, max level %d", levels, g.MaxLevel)
	}
	// No duplicate neighbours, no self-links.
	for i := 0; i < g.Len(); i++ {
		for l := 0; l < int(g.Levels[i]); l++ {
			seen := map[int32]bool{}
			for _, v := range g.span(int32(i), l) {
				if v < 0 {
					continue
				}
				if v == int32(i) || seen[v] {
					t.Fatalf("node %d level %d: neighbours %v", i, l, g.span(int32(i), l))
				}
				seen[v] = true
			}
		}
	}
}

func TestCheckRefusesBadGraphs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const d = 4
	x := build(t, d, 4, metric.L2, clustered(rng, 300, d, 5))
	data, _ := x.Vectors()
	for name, spoil := range map[string]func(g *Graph){
		"neighbour out of range": func(g *Graph) { g.Neighbors[3] = int32(g.Len()) },
		"neighbour below -1":     func(g *Graph) { g.Neighbors[0] = -2 },
		"entry point":            func(g *Graph) { g.EntryPoint = int32(g.Len()) },
		"max level":              func(g *Graph) { g.MaxLevel++ },
		"offsets":                func(g *Graph) { g.Offsets[5]++ },
		"level too high":         func(g *Graph) { g.Levels[0] = int32(len(g.CumNeighbors)) },
		"level zero":             func(g *Graph) { g.Levels[0] = 0 },
		"cum not monotone":       func(g *Graph) { g.CumNeighbors[2] = 0 },
		"neighbour lacks level": func(g *Graph) {
			for i := range g.Levels {
				if g.Levels[i] > 1 {
					g.span(int32(i), 1)[0] = lowNode(g)
					return
				}
			}
		},
	} {
		g := x.Graph()
		spoil(g)
		if _, err := FromGraph(d, metric.L2, g, data, nil); !errors.Is(err, kume.ErrCorrupt) {
			t.Errorf("%s: FromGraph = %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := FromGraph(d, metric.L2, x.Graph(), data, nil); err != nil {
		t.Fatalf("the unspoilt graph: %v", err)
	}
}

// lowNode returns a node that is on level 0 only.
func lowNode(g *Graph) int32 {
	for i, l := range g.Levels {
		if l == 1 {
			return int32(i)
		}
	}
	return -1
}

func TestCancelledAddChangesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const d = 8
	x := build(t, d, 8, metric.L2, clustered(rng, 1000, d, 10))
	before := x.Graph()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := x.Add(ctx, clustered(rng, 500, d, 10)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Add with a cancelled context: %v", err)
	}
	after := x.Graph()
	if !slices.Equal(before.Neighbors, after.Neighbors) || !slices.Equal(before.Levels, after.Levels) || x.Len() != 1000 {
		t.Fatal("a cancelled Add changed the graph")
	}
	// One cancelled part way: the rollback restores old nodes' slots.
	ctx2, cancel2 := context.WithCancel(context.Background())
	y := build(t, d, 8, metric.L2, clustered(rng, 1000, d, 10))
	before = y.Graph()
	more := clustered(rng, 3000, d, 10)
	go cancel2()
	err := y.Add(ctx2, more)
	after = y.Graph()
	if err == nil {
		t.Skip("the Add finished before the cancellation")
	}
	if !slices.Equal(before.Neighbors, after.Neighbors) || !slices.Equal(before.Offsets, after.Offsets) || before.EntryPoint != after.EntryPoint || y.Len() != 1000 {
		t.Fatal("a cancelled Add changed the graph")
	}
}

func TestIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const d = 8
	base := clustered(rng, 400, d, 5)
	x, _ := New(d, 8, metric.L2)
	ctx := context.Background()
	ids := make([]int64, 400)
	for i := range ids {
		ids[i] = int64(1000 + 3*i)
	}
	if err := x.AddWithIDs(ctx, base, ids); err != nil {
		t.Fatal(err)
	}
	if x.NextID() != ids[399]+1 {
		t.Fatalf("NextID %d", x.NextID())
	}
	res, err := x.Search(ctx, base[17*d:18*d], 1, &kume.SearchParams{EfSearch: 64})
	if err != nil {
		t.Fatal(err)
	}
	if res.IDs[0] != ids[17] || res.Distances[0] != 0 {
		t.Fatalf("nearest of vector 17: %v %v, want id %d", res.IDs, res.Distances, ids[17])
	}
	v, err := x.Reconstruct(ids[17], nil)
	if err != nil || !slices.Equal(v, base[17*d:18*d]) {
		t.Fatalf("Reconstruct: %v", err)
	}
	if _, err := x.Reconstruct(5, nil); !errors.Is(err, kume.ErrNotFound) {
		t.Fatalf("Reconstruct(5) = %v", err)
	}
	if err := x.Add(ctx, base[:d]); err != nil {
		t.Fatal(err)
	}
	res, _ = x.Search(ctx, base[:d], 2, &kume.SearchParams{EfSearch: 64})
	if !slices.Equal(res.IDs, []int64{ids[0], ids[399] + 1}) {
		t.Fatalf("the vector added twice: %v", res.IDs)
	}
}

func TestSmallAndEmpty(t *testing.T) {
	x, _ := New(3, 4, metric.L2)
	ctx := context.Background()
	res, err := x.Search(ctx, []float32{1, 2, 3}, 3, nil)
	if err != nil || !slices.Equal(res.IDs, []int64{-1, -1, -1}) {
		t.Fatalf("empty index: %v %v", res, err)
	}
	if err := x.Add(ctx, []float32{0, 0, 0, 1, 1, 1}); err != nil {
		t.Fatal(err)
	}
	res, err = x.Search(ctx, []float32{1, 1, 1.5}, 3, nil)
	if err != nil || !slices.Equal(res.IDs, []int64{1, 0, -1}) {
		t.Fatalf("two vectors: %v %v", res, err)
	}
	if _, err := x.Search(ctx, []float32{1, 1}, 1, nil); !errors.Is(err, kume.ErrDimension) {
		t.Fatalf("bad query: %v", err)
	}
	if _, err := New(3, 1, metric.L2); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Fatalf("M = 1: %v", err)
	}
	if err := x.SetParam("efSearch", 0); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Fatalf("efSearch 0: %v", err)
	}
	if err := x.SetParam("efSearch", 40); err != nil || x.EfSearch() != 40 {
		t.Fatalf("efSearch 40: %v", err)
	}
	x.Reset()
	if x.Len() != 0 || x.EfSearch() != 40 || x.NextID() != 0 {
		t.Fatal("Reset")
	}
}

func TestMinimaxMatchesModel(t *testing.T) {
	// The heap keeps at most n (distance, node) pairs, counting entries
	// taken out by popMin; a full heap takes only an entry nearer than its
	// worst; popMin returns the nearest unmarked one.
	rng := rand.New(rand.NewPCG(13, 14))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(12)
		var m minimax
		m.reset(n)
		type e struct {
			d      float32
			id     int32
			popped bool
		}
		var model []e
		for step := 0; step < 60; step++ {
			if rng.IntN(3) == 0 && m.nvalid > 0 {
				id, d := m.popMin()
				best := -1
				for i, x := range model {
					if !x.popped && (best < 0 || x.d < model[best].d) {
						best = i
					}
				}
				if model[best].d != d {
					t.Fatalf("popMin %d %v, model %v", id, d, model[best])
				}
				// expandNext's shortcut: only entries taken out earlier can
				// be nearer than the one popMin returns, so fewer than n.
				if below := m.countBelow(d); below >= n {
					t.Fatalf("trial %d step %d: %d of %d entries nearer than popMin's %v", trial, step, below, n, d)
				}
				for i := range model {
					if !model[i].popped && model[i].id == id {
						model[i].popped = true
						break
					}
				}
				continue
			}
			d, id := rng.Float32(), int32(rng.IntN(1000)) // no ties: see minimax
			m.push(id, d)
			sortModel := func() {
				slices.SortStableFunc(model, func(a, b e) int {
					if a.d != b.d {
						if a.d < b.d {
							return -1
						}
						return 1
					}
					return int(a.id - b.id)
				})
			}
			sortModel()
			// A full heap takes only an entry strictly nearer than its
			// worst, which then leaves (marked or not).
			if len(model) == n {
				if !(model[n-1].d > d) {
					continue
				}
				model = model[:n-1]
			}
			model = append(model, e{d, id, false})
			sortModel()
			valid := 0
			for _, x := range model {
				if !x.popped {
					valid++
				}
			}
			if valid != m.nvalid || m.k != len(model) {
				t.Fatalf("trial %d step %d: heap holds %d (%d valid), model %d (%d valid)", trial, step, m.k, m.nvalid, len(model), valid)
			}
		}
	}
}

func TestFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const d, k = 8, 10
	base := clustered(rng, 2000, d, 10)
	x := build(t, d, 8, metric.L2, base)
	q := clustered(rng, 20, d, 10)
	res, err := x.Search(context.Background(), q, k, &kume.SearchParams{EfSearch: 200, Filter: kume.IDRange(0, 1000)})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range res.IDs {
		if id >= 1000 {
			t.Fatalf("slot %d: id %d passed the filter [0, 1000)", i, id)
		}
	}
	if res.IDs[k-1] < 0 {
		t.Fatalf("a wide beam left slots empty: %v", res.IDs[:k])
	}
}

// TestPrunedWalk: with the bound on, a walk returns what it returns
// measuring every neighbour, bit for bit, on low-rank clusters, duplicates,
// off-centre and tiny vectors, for several beams, k and filters, and on
// low-rank data it spares measuring neighbours.
func TestPrunedWalk(t *testing.T) {
	d, n, nq := 96, 3000, 80
	if testing.Short() {
		n, nq = 1200, 30
	}
	low := testvec.LowRank{Latent: 8, Centers: 30, MapSeed: 3, ScaleMap: true, Noise: 0.05}
	lb := low.Draw(1, n, d)
	dup := append([]float32(nil), lb...)
	for i := 1; i < n; i++ { // groups of 5 identical vectors
		if i%5 != 0 {
			copy(dup[i*d:(i+1)*d], dup[(i-i%5)*d:])
		}
	}
	off := make([]float32, n*d)
	tiny := make([]float32, n*d)
	for i, v := range lb {
		off[i] = 1000 + v
		tiny[i] = 1e-6 * v
	}
	sets := []struct {
		name          string
		base, queries []float32
		mustSkipMost  bool
	}{
		{"lowRank", lb, low.Draw(2, nq, d), true},
		{"duplicates", dup, dup[:nq*d], false},
		{"offset1000", off, off[d : (nq+1)*d], false},
		{"tiny", tiny, tiny[2*d : (nq+2)*d], false},
	}
	ctx := context.Background()
	for _, c := range sets {
		t.Run(c.name, func(t *testing.T) {
			x := build(t, d, 16, metric.L2, c.base)
			filters := []kume.IDFilter{nil, kume.IDRange(0, int64(n/2)), kume.IDRange(int64(n/10), int64(n/10+20))}
			for _, ef := range []int{16, 64} {
				for _, k := range []int{1, 10, 50} {
					for _, f := range filters {
						p := &kume.SearchParams{EfSearch: ef, Filter: f}
						x.EnablePruning(false)
						want, err := x.Search(ctx, c.queries, k, p)
						if err != nil {
							t.Fatal(err)
						}
						x.EnablePruning(true)
						if x.bound == nil {
							t.Fatal("no bound")
						}
						for _, procs := range []int{1, 2} {
							old := runtime.GOMAXPROCS(procs)
							got, err := x.Search(ctx, c.queries, k, p)
							runtime.GOMAXPROCS(old)
							if err != nil {
								t.Fatal(err)
							}
							for i := range want.IDs {
								if got.IDs[i] != want.IDs[i] || got.Distances[i] != want.Distances[i] {
									t.Fatalf("GOMAXPROCS %d ef %d k %d filter %v slot %d: (%d, %v), measuring every neighbour (%d, %v)", procs, ef, k, f, i, got.IDs[i], got.Distances[i], want.IDs[i], want.Distances[i])
								}
							}
						}
						// Queries alone walk as they do in the batch.
						for i := 0; i < nq; i += 9 {
							got, err := x.Search(ctx, c.queries[i*d:(i+1)*d], k, p)
							if err != nil {
								t.Fatal(err)
							}
							for j := range got.IDs {
								if w := i*k + j; got.IDs[j] != want.IDs[w] || got.Distances[j] != want.Distances[w] {
									t.Fatalf("ef %d k %d filter %v query %d alone, slot %d: (%d, %v), in the batch (%d, %v)", ef, k, f, i, j, got.IDs[j], got.Distances[j], want.IDs[w], want.Distances[w])
								}
							}
						}
					}
				}
			}
			// The walk itself is the one that measures every neighbour:
			// the same nodes expanded in the same order (the answers
			// alone could hide a walk that drops a neighbour it needed
			// less than the ones it found).
			for _, ef := range []int{16, 64} {
				for _, k := range []int{1, 10} {
					p := &kume.SearchParams{EfSearch: ef}
					var trace [2][][]int32
					for on := range 2 {
						x.EnablePruning(on == 1)
						for i := 0; i < nq; i += 3 {
							var steps []int32
							x.expanded = func(v int32) { steps = append(steps, v) }
							if _, err := x.Search(ctx, c.queries[i*d:(i+1)*d], k, p); err != nil {
								t.Fatal(err)
							}
							trace[on] = append(trace[on], steps)
						}
						x.expanded = nil
					}
					for i, want := range trace[0] {
						if !slices.Equal(trace[1][i], want) {
							t.Fatalf("ef %d k %d query %d: pruned walk expands %v, unpruned %v", ef, k, 3*i, trace[1][i], want)
						}
					}
				}
			}
			// Adding keeps the bound in step with the vectors.
			if err := x.Add(ctx, c.queries); err != nil {
				t.Fatal(err)
			}
			if x.bound == nil || x.bound.Len() != n+nq {
				t.Fatalf("after Add: bound over %v rows, want %d", x.bound, n+nq)
			}
			skipped := x.skipped.Load()
			t.Logf("%d neighbours not measured", skipped)
			if c.mustSkipMost && skipped < int64(nq*10) {
				t.Errorf("only %d neighbours not measured over %d queries", skipped, nq)
			}
		})
	}
}
