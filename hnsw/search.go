package hnsw

import (
	"context"
	"math"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/pruned"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/metric"
)

// cancelSteps is how many level-0 expansions one query makes between checks
// of its context (a few milliseconds of work at the largest beams).
const cancelSteps = 4096

// searcher is the per-goroutine state of searches and insertions.
type searcher struct {
	vis   []uint8 // vis[i] == visno: node i was visited by the current walk
	visno uint8
	cand  minimax
	res   topk.Heap
	buf   []int32 // unvisited neighbours of the node being expanded
	pt    pruned.Point
	// Insertion state.
	near  []scored // a walk's best nodes
	front []scored // a walk's frontier (a min-heap)
	keep  []scored
}

// scored is a node and its distance to the query.
type scored struct {
	d  float32
	id int32
}

// reset prepares s for a walk over n nodes.
func (s *searcher) reset(n int) {
	if len(s.vis) < n {
		s.vis = make([]uint8, n+n/4)
		s.visno = 0
	}
	s.visno++
	if s.visno == 0 {
		clear(s.vis)
		s.visno = 1
	}
}

func (s *searcher) visit(i int32) bool {
	if s.vis[i] == s.visno {
		return false
	}
	s.vis[i] = s.visno
	return true
}

// key is the distance HNSW orders by: squared L2, or the negated inner
// product (smaller is better in both).
func (x *Index) key(q []float32, i int32) float32 {
	v := x.data[int(i)*x.d : int(i+1)*x.d]
	if x.m == metric.InnerProduct {
		return -asm.Dot(q, v)
	}
	return asm.L2Sqr(q, v)
}

// greedy walks level l from nearest to a local minimum of the distance to
// q, moving to the first strictly nearer neighbour of each sweep's best, as
// FAISS's greedy_update_nearest does.
//
// With pt, q's projection on the bound, a neighbour whose score puts its
// asm.L2Sqr above dn is not measured: it could not be strictly nearer.
// Insertions pass nil (the bound does not hold the nodes being inserted).
func (x *Index) greedy(q []float32, pt *pruned.Point, l int, nearest int32, dn float32) (int32, float32) {
	g := x.g
	bound := x.bound
	if pt == nil {
		bound = nil
	}
	var lim float32
	limFor := float32(math.NaN())
	for {
		prev := nearest
		for _, v := range g.span(nearest, l) {
			if v < 0 {
				break
			}
			if bound != nil {
				if dn != limFor {
					lim, limFor = bound.Limit(pt, bound.Reach(dn)), dn
				}
				if bound.Score(pt, int(v)) > lim {
					continue
				}
			}
			if d := x.key(q, v); d < dn {
				nearest, dn = v, d
			}
		}
		if nearest == prev {
			return nearest, dn
		}
	}
}

// walkers is how many queries' walks one goroutine advances in turn. A
// level-0 expansion waits three times on memory it cannot ask for sooner
// (the node's neighbour list, then the bounds of its unvisited neighbours,
// then the vectors the bound keeps), random reads that miss the caches on a
// large graph; with two walks in turn, each phase asks for what its walk
// reads next and the other walk's phase runs while it arrives; the vectors
// are asked for into the second-level cache (asm.PrefetchL2), the few
// others into the first. (1M x 256, IVF16384_HNSW32 quantizer, efSearch 16,
// an AMD EPYC: the walk 10 % faster than one at a time, three or four walks
// only 1-2 % faster than two, for a visited table each.) Each walk has its
// own visited table, one byte a node.
const walkers = 2

// Phases of a walk's level-0 expansion (walk.phase).
const (
	readSpan    = iota // the expanded node's neighbour list has been asked for
	scoreBounds        // the unvisited neighbours' bounds have been asked for
	measure            // the vectors to measure have been asked for
)

// walk is one query's search: its own searcher (visited marks, candidate
// pool, results) and where its level-0 beam search stands.
type walk struct {
	s      *searcher
	q      []float32
	phase  int
	v0     int32   // the node being expanded
	lim    float32 // the bound's limit for a threshold of limFor
	limFor float32 // the threshold lim was computed for (NaN: none yet)
	steps  int     // expansions so far
	skip   int     // neighbours the bound left unmeasured
}

// searchRange answers queries lo..hi-1 of a batch, walkers at a time in
// turn. Each query's walk is the one it makes alone (walks share nothing but
// the read-only index), so the order of the turns changes no answer.
func (x *Index) searchRange(ctx context.Context, dst *kume.Results, queries []float32, k, ef int, filter kume.IDFilter, lo, hi int) error {
	var ws [walkers]walk
	var ss [walkers]*searcher
	nw := min(walkers, hi-lo)
	for j := range ss[:nw] {
		ss[j] = x.getSearcher()
		ws[j].s = ss[j]
	}
	defer func() {
		for _, s := range ss[:nw] {
			x.searchers.Put(s)
		}
	}()
	next := lo
	// begin starts the next query in w, skipping those whose walk ends at
	// once; false when none is left.
	begin := func(w *walk) (bool, error) {
		for next < hi {
			i := next
			next++
			if (i-lo)%32 == 31 {
				if err := ctx.Err(); err != nil {
					return false, err
				}
			}
			dist, ids := dst.Row(i)
			if x.begin(w, queries[i*x.d:(i+1)*x.d], ef, filter, dist, ids) {
				return true, nil
			}
		}
		return false, nil
	}
	live := ws[:0]
	for j := range ws[:nw] {
		ok, err := begin(&ws[j])
		if err != nil {
			return err
		}
		if ok {
			live = append(live, ws[j])
		}
	}
	// Turns: each live walk runs one phase; a walk that ends hands its slot
	// to the next query, and a slot with none left is dropped.
	for len(live) > 0 {
		for j := 0; j < len(live); j++ {
			w := &live[j]
			more, err := x.advance(ctx, w, ef, filter)
			if err != nil {
				return err
			}
			if more {
				continue
			}
			ok, err := begin(w)
			if err != nil {
				return err
			}
			if !ok {
				live[j], live[len(live)-1] = live[len(live)-1], live[j]
				live = live[:len(live)-1]
				j--
			}
		}
	}
	return nil
}

// begin starts w on query q, whose k = len(dist) results go to dist and ids:
// greedy descent from the entry point through the upper levels, then the
// level-0 beam search's first expansion asked for. It returns false when the
// walk is already over (its results written).
//
// The beam search keeps a candidate pool of max(efSearch, k) and stops when
// efSearch candidates already seen are nearer than the one about to be
// expanded (FAISS's search with its bounded queue and relative-distance
// check); the results are the k best nodes seen, by (distance, id). With a
// filter, only allowed ids enter the results; the walk is the same (FAISS's
// IDSelector rule), so a strict filter may leave slots empty.
func (x *Index) begin(w *walk, q []float32, ef int, filter kume.IDFilter, dist []float32, ids []int64) bool {
	s := w.s
	k := len(dist)
	h := &s.res
	h.Reset(dist, ids)
	g := x.g
	if g.EntryPoint < 0 {
		h.Finish(x.m == metric.InnerProduct)
		return false
	}
	*w = walk{s: s, q: q, limFor: float32(math.NaN())}
	if x.bound != nil {
		x.bound.Project(q, &s.pt)
	}
	nearest := g.EntryPoint
	dn := x.key(q, nearest)
	for l := int(g.MaxLevel); l >= 1; l-- {
		nearest, dn = x.greedy(q, &s.pt, l, nearest, dn)
	}
	s.reset(g.Len())
	c := &s.cand
	c.reset(max(ef, k))
	c.legacy = x.rule == Rule173
	c.push(nearest, dn)
	if id := x.id(nearest); filter == nil || filter.Contains(id) {
		h.Push(dn, id)
	}
	s.visit(nearest)
	if cap(s.buf) < int(g.CumNeighbors[1]) {
		s.buf = make([]int32, g.CumNeighbors[1])
	}
	return x.expandNext(w, ef)
}

// expandNext takes the pool's nearest unexpanded node and asks for its
// neighbour list, or ends the walk (false, results written) when the pool
// has none left or efSearch nodes nearer than it.
func (x *Index) expandNext(w *walk, ef int) bool {
	c := &w.s.cand
	if c.nvalid > 0 {
		v0, d0 := c.popMin()
		// Only entries taken out before v0 can be nearer than d0, at most
		// c.n-1 of them: with a pool of efSearch (k <= efSearch) the count
		// cannot reach ef, and only a pool of k > efSearch needs it.
		if c.n == ef || c.countBelow(d0) < ef {
			if x.expanded != nil {
				x.expanded(v0)
			}
			w.v0, w.phase = v0, readSpan
			asm.PrefetchInt32(x.g.span(v0, 0))
			return true
		}
	}
	w.s.res.Finish(x.m == metric.InnerProduct)
	if w.skip > 0 {
		x.skipped.Add(int64(w.skip))
	}
	return false
}

// advance runs w's next phase: it returns false when the walk is over.
//
// With a bound, once the pool is full, a neighbour whose bound score is
// above lim has an asm.L2Sqr above limFor, the larger of the pool's worst
// distance and the results' threshold: the pool would not take it (it takes
// only distances below its worst) nor the results (they take none above
// their threshold), so it is not measured, and the walk is the one that
// measures every neighbour. Both only fall, so a neighbour out of reach at
// the start of an expansion stays so.
func (x *Index) advance(ctx context.Context, w *walk, ef int, filter kume.IDFilter) (bool, error) {
	s := w.s
	c := &s.cand
	bound := x.bound
	switch w.phase {
	case readSpan:
		w.steps++
		if w.steps%cancelSteps == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		buf := s.buf[:0]
		for _, v := range x.g.span(w.v0, 0) {
			if v < 0 {
				break
			}
			if s.visit(v) {
				buf = append(buf, v)
			}
		}
		s.buf = buf
		if bound != nil && c.k == c.n {
			for _, v := range buf {
				bound.Prefetch(int(v))
			}
			w.phase = scoreBounds
			return true, nil
		}
	case scoreBounds:
		if t := max(c.dis[0], s.res.Threshold()); t != w.limFor {
			w.lim, w.limFor = bound.Limit(&s.pt, bound.Reach(t)), t
		}
		kept := s.buf[:0]
		for _, v := range s.buf {
			if !(bound.Score(&s.pt, int(v)) > w.lim) {
				kept = append(kept, v)
			}
		}
		w.skip += len(s.buf) - len(kept)
		s.buf = kept
	case measure:
		h := &s.res
		for _, v := range s.buf {
			d := x.key(w.q, v)
			if d <= h.Threshold() {
				if id := x.id(v); filter == nil || filter.Contains(id) {
					h.Push(d, id)
				}
			}
			c.push(v, d)
		}
		return x.expandNext(w, ef), nil
	}
	for _, v := range s.buf {
		asm.PrefetchL2(x.data[int(v)*x.d : int(v+1)*x.d])
	}
	w.phase = measure
	return true, nil
}

// minimax is FAISS's MinimaxHeap: a max-heap of at most n (distance, node)
// pairs ordered by distance then node, from which the nearest is taken out
// by marking it -1 in place. Marked entries keep their distance: they still
// count in countBelow and are evicted first only when they are the heap's
// top. Ties are resolved exactly as FAISS resolves them, so that a search
// over a FAISS graph expands the nodes FAISS expands.
//
// With legacy set it keeps FAISS 1.7.3's count of unmarked entries, which
// also dropped when the evicted top was a marked entry (see Rule173).
type minimax struct {
	ids    []int32
	dis    []float32
	n, k   int
	nvalid int
	legacy bool
}

func (m *minimax) reset(n int) {
	if cap(m.ids) < n {
		m.ids = make([]int32, n)
		m.dis = make([]float32, n)
	}
	m.ids, m.dis = m.ids[:n], m.dis[:n]
	m.n, m.k, m.nvalid = n, 0, 0
}

// after reports whether (d1, i1) comes after (d2, i2) in the heap's order:
// FAISS's CMax::cmp2.
func after(d1 float32, i1 int32, d2 float32, i2 int32) bool {
	return d1 > d2 || (d1 == d2 && i1 > i2)
}

func (m *minimax) push(i int32, d float32) {
	if d != d { // NaN counts as the worst distance
		d = float32(3.4028234663852886e38)
	}
	if m.k == m.n {
		if !(m.dis[0] > d) {
			return
		}
		if m.ids[0] != -1 || m.legacy {
			m.nvalid--
		}
		m.pop()
	}
	// Sift up from position k (FAISS's heap_push, 0-based).
	j := m.k
	m.k++
	for j > 0 {
		p := (j - 1) / 2
		if !after(d, i, m.dis[p], m.ids[p]) {
			break
		}
		m.dis[j], m.ids[j] = m.dis[p], m.ids[p]
		j = p
	}
	m.dis[j], m.ids[j] = d, i
	m.nvalid++
}

// pop removes the top (FAISS's heap_pop).
func (m *minimax) pop() {
	k := m.k
	d, id := m.dis[k-1], m.ids[k-1]
	j := 0
	for {
		c1 := 2*j + 1
		if c1 >= k {
			break
		}
		c2 := c1 + 1
		c := c1
		if c2 < k && !after(m.dis[c1], m.ids[c1], m.dis[c2], m.ids[c2]) {
			c = c2
		}
		if after(d, id, m.dis[c], m.ids[c]) {
			break
		}
		m.dis[j], m.ids[j] = m.dis[c], m.ids[c]
		j = c
	}
	m.dis[j], m.ids[j] = d, id
	m.k--
}

// popMin takes out the nearest unmarked entry; of equal distances, the one
// stored last.
func (m *minimax) popMin() (int32, float32) {
	i := m.k - 1
	for i >= 0 && m.ids[i] == -1 {
		i--
	}
	if i < 0 {
		return -1, 0
	}
	best, bd := i, m.dis[i]
	for i--; i >= 0; i-- {
		if m.ids[i] != -1 && m.dis[i] < bd {
			best, bd = i, m.dis[i]
		}
	}
	id := m.ids[best]
	m.ids[best] = -1
	m.nvalid--
	return id, bd
}

// countBelow counts the entries, marked or not, nearer than d.
func (m *minimax) countBelow(d float32) int {
	n := 0
	for _, v := range m.dis[:m.k] {
		if v < d {
			n++
		}
	}
	return n
}
