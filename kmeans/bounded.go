package kmeans

import (
	"context"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"

	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/parallel"
	"github.com/kume-ann/kume/internal/pruned"
)

// bounded assigns points to their nearest centroid (L2) over the iterations
// of Lloyd's algorithm without computing every distance every time. The
// centroids are split once into groups of about six neighbouring ones, and
// every point keeps an upper bound on its distance to its centroid and, for
// every group, a lower bound on its distance to the group's centroids (its
// own centroid left out). When the centroids move, a group's bound shrinks
// by the largest move of its centroids. A point whose exact distance to its
// centroid is at most every group bound keeps its centroid; otherwise only
// the groups whose bound is below that distance are searched. A point that
// would search many groups (early, while the centroids move a lot) is
// searched against every centroid instead, with other such points, on the
// tiled kernel.
//
// The first assignment, with many centroids (prunedCentres or more), is a
// pruned search (pruned.Set) when the centroids have low-dimensional
// structure: each point's nearest centroid is found exactly, and its group
// bounds come from the projected lower bounds (pruned.Set.GroupLowerBounds), in
// width multiply-adds a centroid instead of d; points left once the
// search stops paying are searched against every centroid as without it.
//
// The labels are those an exhaustive search finds, up to the rounding of
// float32 distances: the bounds carry margins larger than that rounding, so
// a group is skipped only when none of its centroids can be nearer. Every
// point is decided by its own bounds, so the result does not depend on the
// number of cores.
type bounded struct {
	a       *assigner
	t       int       // groups
	gstart  []int     // the centroids of group g are gstart[g]..gstart[g+1]-1 (internal order)
	groupOf []int32   // internal centroid -> group
	order   []int32   // internal centroid -> caller's centroid
	pos     []int32   // caller's centroid -> internal
	pc      []float32 // centroids in internal order
	prev    []float32 // pc of the previous assignment
	drift   []float64 // per internal centroid
	gdrift  []float64 // per group
	upper   []float64 // per point, a distance (not squared)
	lb      []float32 // per point and group, distances rounded down
	redo    []int32   // points to search against every centroid
	byLabel []int32   // points ordered by centroid
	redoMu  sync.Mutex
	pool    sync.Pool // *boundedScratch
	started bool
	// searched counts points searched against every centroid, scanned the
	// centroids compared in group scans, prunedFirst the points of the
	// first assignment the pruned search answered; all for tests.
	searched, scanned, prunedFirst int64
	countMu                        sync.Mutex
}

type boundedScratch struct {
	xs, tile, dist []float32
	gmin, gsec     []float32 // per block row and group: best and second value
	garg           []int32   // per block row and group: argmin
	scan           []int32   // groups scanned by one point
	smin, ssec     []float32
	sarg           []int32
}

// Margins against float32 rounding. A squared distance expanded as
// ||x||² + ||c||² - 2<x,c> is within about 4e-6·(||x||² + ||c||²) of the
// truth for d up to several thousand, one summed directly within a few
// 1e-6 of itself; the margins are several times that.
const (
	expandedMargin = 2e-5
	directMargin   = 1e-5
	// groupSize is the mean number of centroids per group.
	groupSize = 6
	// maxBounds bounds the number of group bounds kept (n·t).
	maxBounds = 32 << 20
)

func newBounded(a *assigner) *bounded {
	return &bounded{a: a}
}

// setup splits the centroids into groups (k-means on the centroids
// themselves) and orders them group by group.
func (b *bounded) setup(centroids []float32) {
	a := b.a
	n, d, k := len(a.labels), a.d, a.k
	t := max(1, min(k/groupSize, maxBounds/max(n, 1)))
	groups := make([]int32, k)
	if t > 1 {
		gc := make([]float32, t*d)
		for g := 0; g < t; g++ {
			c := g * k / t
			copy(gc[g*d:(g+1)*d], centroids[c*d:(c+1)*d])
		}
		ga := newAssigner(centroids, d, t, false)
		rng := rand.New(rand.NewPCG(uint64(k), uint64(t)))
		for it := 0; it < 5; it++ {
			ga.assign(context.Background(), gc)
			update(centroids, d, t, ga.labels, gc, rng)
		}
		ga.assign(context.Background(), gc)
		copy(groups, ga.labels)
	}
	// Order the centroids by group, keeping their order within a group;
	// empty groups are dropped.
	count := make([]int, t)
	for _, g := range groups {
		count[g]++
	}
	start := make([]int, t+1)
	b.gstart = b.gstart[:0]
	live := make([]int32, t)
	b.t = 0
	at := 0
	for g := 0; g < t; g++ {
		start[g] = at
		at += count[g]
		if count[g] > 0 {
			live[g] = int32(b.t)
			b.gstart = append(b.gstart, start[g])
			b.t++
		}
	}
	b.gstart = append(b.gstart, k)
	b.order, b.pos, b.groupOf = make([]int32, k), make([]int32, k), make([]int32, k)
	next := append([]int(nil), start[:t]...)
	for c, g := range groups {
		p := next[g]
		next[g]++
		b.order[p], b.pos[c], b.groupOf[p] = int32(c), int32(p), live[g]
	}
	b.pc, b.prev = make([]float32, k*d), make([]float32, k*d)
	b.drift, b.gdrift = make([]float64, k), make([]float64, b.t)
	b.upper = make([]float64, n)
	b.lb = make([]float32, n*b.t)
}

// assign labels every point for centroids and returns the objective (the
// sum of squared distances to the assigned centroids).
func (b *bounded) assign(ctx context.Context, centroids []float32) (float64, error) {
	a := b.a
	n, d, k := len(a.labels), a.d, a.k
	if !b.started {
		b.setup(centroids)
	}
	for p, c := range b.order {
		copy(b.pc[p*d:(p+1)*d], centroids[int(c)*d:(int(c)+1)*d])
	}
	cnorms := make([]float32, k)
	asm.SqNorms(cnorms, b.pc, d)
	var cmax float32
	for _, v := range cnorms {
		cmax = max(cmax, v)
	}
	if !b.started || b.t == 1 {
		b.started = true
		copy(b.prev, b.pc)
		b.redo = b.redo[:0]
		if err := b.first(ctx); err != nil {
			return 0, err
		}
		if err := b.search(ctx, cnorms, cmax); err != nil {
			return 0, err
		}
		return b.objective(), nil
	}
	// How far each centroid moved, and each group's largest move.
	clear(b.gdrift)
	for p := 0; p < k; p++ {
		row, old := b.pc[p*d:(p+1)*d], b.prev[p*d:(p+1)*d]
		var s float64
		for j, v := range row {
			e := float64(v) - float64(old[j])
			s += e * e
		}
		b.drift[p] = math.Sqrt(s) * (1 + 1e-9)
		g := b.groupOf[p]
		b.gdrift[g] = max(b.gdrift[g], b.drift[p])
	}
	copy(b.prev, b.pc)
	b.redo = b.redo[:0]
	t := b.t
	gmove := make([]float32, t) // the moves rounded up
	for g, m := range b.gdrift {
		f := float32(m)
		if float64(f) < m {
			f = math.Nextafter32(f, float32(math.Inf(1)))
		}
		gmove[g] = f
	}
	// Points in the order of their centroids: neighbouring points scan the
	// same groups, whose centroids then stay in the cache.
	b.byLabel = b.sortByLabel(b.byLabel)
	err := parallel.For(ctx, n, 512, func(lo, hi int) error {
		s := b.scratch()
		defer b.pool.Put(s)
		var redo []int32
		var scanned int64
		for _, i32 := range b.byLabel[lo:hi] {
			i := int(i32)
			lb := b.lb[i*t : (i+1)*t]
			lbMin := float32(math.Inf(1))
			for g, v := range lb {
				// v·(1-2⁻²²) covers the rounding of the subtraction, so
				// the result stays at most the true bound.
				v = v*(1-1.0/(1<<22)) - gmove[g]
				lb[g] = v
				lbMin = min(lbMin, v)
			}
			x := a.x[i*d : (i+1)*d]
			own := b.pos[a.labels[i]]
			d2 := float64(asm.L2Sqr(x, b.pc[int(own)*d:(int(own)+1)*d]))
			upper := math.Sqrt(d2 * (1 + directMargin))
			if upper <= float64(lbMin) {
				b.upper[i] = upper
				a.best[i] = float32(d2) - a.xnorms[i]
				continue
			}
			// The groups that may hold a nearer centroid.
			s.scan = s.scan[:0]
			for g, v := range lb {
				if float64(v) < upper {
					s.scan = append(s.scan, int32(g))
				}
			}
			if len(s.scan)*4 > t {
				redo = append(redo, int32(i))
				continue
			}
			// Nearest groups first: the best found so far may rule out
			// the rest.
			sortByBound(s.scan, lb)
			best, bestP := d2, own
			bestD := upper
			s.smin, s.ssec, s.sarg = s.smin[:0], s.ssec[:0], s.sarg[:0]
			done := s.scan[:0]
			for _, g := range s.scan {
				if float64(lb[g]) >= bestD {
					break
				}
				c0, c1 := b.gstart[g], b.gstart[g+1]
				dist := s.dist[:c1-c0]
				asm.L2SqrMany(dist, x, b.pc[c0*d:c1*d])
				scanned += int64(c1 - c0)
				m1, m2, arg := float32(math.Inf(1)), float32(math.Inf(1)), int32(-1)
				for j, v := range dist {
					if v < m2 {
						if v < m1 {
							m1, m2, arg = v, m1, int32(c0+j)
						} else {
							m2 = v
						}
					}
				}
				s.smin, s.ssec, s.sarg = append(s.smin, m1), append(s.ssec, m2), append(s.sarg, arg)
				done = append(done, g)
				if float64(m1) < best {
					best, bestP = float64(m1), arg
					bestD = math.Sqrt(best * (1 + directMargin))
				}
			}
			s.scan = done
			for j, g := range s.scan {
				v := s.smin[j]
				if s.sarg[j] == bestP {
					v = s.ssec[j]
				}
				lb[g] = roundDown(math.Sqrt(float64(v) * (1 - directMargin)))
			}
			if bestP != own {
				// The old centroid is now one of its group's others.
				if g := b.groupOf[own]; !containsInt32(s.scan, g) {
					lb[g] = min(lb[g], roundDown(math.Sqrt(d2*(1-directMargin))))
				}
			}
			b.upper[i] = math.Sqrt(best * (1 + directMargin))
			a.labels[i] = b.order[bestP]
			a.best[i] = float32(best) - a.xnorms[i]
		}
		b.countMu.Lock()
		b.scanned += scanned
		b.countMu.Unlock()
		if len(redo) > 0 {
			b.redoMu.Lock()
			b.redo = append(b.redo, redo...)
			b.redoMu.Unlock()
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// The chunks appended in no fixed order; the results do not depend on
	// it, but sorted blocks read the points in order.
	sortInt32(b.redo)
	if err := b.search(ctx, cnorms, cmax); err != nil {
		return 0, err
	}
	return b.objective(), nil
}

// first makes the first assignment of the points by a pruned search of the
// centroids, while it pays, and leaves the other points in b.redo for the
// exhaustive search.
func (b *bounded) first(ctx context.Context) error {
	a := b.a
	n, d, k, t := len(a.labels), a.d, a.k, b.t
	var set *pruned.Set
	if k >= prunedCentres && t > 1 {
		set = newSet(b.pc, d)
	}
	if set == nil {
		for i := 0; i < n; i++ {
			b.redo = append(b.redo, int32(i))
		}
		return nil
	}
	var answered int64
	err := parallel.For(ctx, n, prunedBlock, func(lo, hi int) error {
		m := hi - lo
		if !setPays(set, k) {
			b.redoMu.Lock()
			for i := lo; i < hi; i++ {
				b.redo = append(b.redo, int32(i))
			}
			b.redoMu.Unlock()
			return nil
		}
		xs := a.x[lo*d : hi*d]
		dist := make([]float32, m)
		ids := make([]int64, m)
		if err := set.Search(ctx, xs, 1, dist, ids, nil); err != nil {
			return err
		}
		// Group bounds leave the point's own centroid out.
		set.GroupLowerBounds(xs, b.gstart, ids, b.lb[lo*t:hi*t])
		for r := 0; r < m; r++ {
			i := lo + r
			own := int(ids[r])
			d2 := float64(dist[r])
			a.labels[i] = b.order[own]
			a.best[i] = dist[r] - a.xnorms[i]
			b.upper[i] = math.Sqrt(d2 * (1 + directMargin))
		}
		b.countMu.Lock()
		answered += int64(m)
		b.countMu.Unlock()
		return nil
	})
	b.prunedFirst += answered
	// The chunks appended in no fixed order.
	sortInt32(b.redo)
	return err
}

// sortByLabel returns the point numbers ordered by their centroid's
// internal number (and by number within a centroid), reusing buf.
func (b *bounded) sortByLabel(buf []int32) []int32 {
	a := b.a
	count := make([]int, a.k+1)
	for _, l := range a.labels {
		count[b.pos[l]+1]++
	}
	for c := 1; c <= a.k; c++ {
		count[c] += count[c-1]
	}
	if cap(buf) < len(a.labels) {
		buf = make([]int32, len(a.labels))
	}
	buf = buf[:len(a.labels)]
	for i, l := range a.labels {
		p := b.pos[l]
		buf[count[p]] = int32(i)
		count[p]++
	}
	return buf
}

// roundDown returns the largest float32 at most v.
func roundDown(v float64) float32 {
	f := float32(v)
	if float64(f) > v {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

// sortByBound orders the groups gs by their bound in lb, smallest first
// (insertion sort: the lists are short).
func sortByBound(gs []int32, lb []float32) {
	for i := 1; i < len(gs); i++ {
		g := gs[i]
		j := i
		for ; j > 0 && lb[gs[j-1]] > lb[g]; j-- {
			gs[j] = gs[j-1]
		}
		gs[j] = g
	}
}

func containsInt32(x []int32, v int32) bool {
	for _, w := range x {
		if w == v {
			return true
		}
	}
	return false
}

func (b *bounded) scratch() *boundedScratch {
	if s, _ := b.pool.Get().(*boundedScratch); s != nil {
		return s
	}
	d, k := b.a.d, b.a.k
	maxGroup := 0
	for g := 0; g < b.t; g++ {
		maxGroup = max(maxGroup, b.gstart[g+1]-b.gstart[g])
	}
	cb := min(centroidBlock, k)
	return &boundedScratch{
		xs: make([]float32, pointBlock*d), tile: make([]float32, pointBlock*cb), dist: make([]float32, maxGroup),
		gmin: make([]float32, pointBlock*b.t), gsec: make([]float32, pointBlock*b.t), garg: make([]int32, pointBlock*b.t),
	}
}

// objective sums the squared distances the assignment found.
func (b *bounded) objective() float64 {
	var obj float64
	for i, v := range b.a.best {
		obj += float64(max(v+b.a.xnorms[i], 0))
	}
	return obj
}

// search finds the nearest centroid of every point of b.redo against all
// centroids, on the tiled kernel, and sets its label and bounds.
func (b *bounded) search(ctx context.Context, cnorms []float32, cmax float32) error {
	a := b.a
	d, k, t := a.d, a.k, b.t
	redo := b.redo
	b.searched += int64(len(redo))
	if len(redo) == 0 {
		return nil
	}
	cb := min(centroidBlock, k)
	return parallel.For(ctx, len(redo), pointBlock, func(lo, hi int) error {
		s := b.scratch()
		defer b.pool.Put(s)
		m := hi - lo
		xs := s.xs[:m*d]
		for r, i := range redo[lo:hi] {
			copy(xs[r*d:(r+1)*d], a.x[int(i)*d:(int(i)+1)*d])
		}
		gmin, gsec, garg := s.gmin[:m*t], s.gsec[:m*t], s.garg[:m*t]
		for j := range gmin {
			gmin[j], gsec[j], garg[j] = float32(math.Inf(1)), float32(math.Inf(1)), -1
		}
		for c0 := 0; c0 < k; c0 += cb {
			if c0 > 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			c1 := min(c0+cb, k)
			nc := c1 - c0
			tile := s.tile[:m*nc]
			asm.DotTile(tile, xs, b.pc[c0*d:c1*d], d)
			for r := 0; r < m; r++ {
				row := tile[r*nc : (r+1)*nc]
				// The groups this block of centroids covers, segment by
				// segment.
				for p := c0; p < c1; {
					g := int(b.groupOf[p])
					end := min(b.gstart[g+1], c1)
					q := r*t + g
					gmin[q], gsec[q], garg[q] = argmin2L2Into(row[p-c0:end-c0], cnorms[p:end], p, gmin[q], gsec[q], garg[q])
					p = end
				}
			}
		}
		for r, i := range redo[lo:hi] {
			xn := float64(a.xnorms[i])
			margin := expandedMargin * (xn + float64(cmax))
			row, sec, arg := gmin[r*t:(r+1)*t], gsec[r*t:(r+1)*t], garg[r*t:(r+1)*t]
			bg := 0
			for g := 1; g < t; g++ {
				if row[g] < row[bg] {
					bg = g
				}
			}
			lb := b.lb[int(i)*t : (int(i)+1)*t]
			for g := 0; g < t; g++ {
				v := row[g]
				if g == bg {
					v = sec[g]
				}
				lb[g] = roundDown(math.Sqrt(max(float64(v)+xn-margin, 0)))
			}
			a.labels[i] = b.order[arg[bg]]
			a.best[i] = row[bg]
			b.upper[i] = math.Sqrt(max(float64(row[bg])+xn+margin, 0))
		}
		return nil
	})
}

// argmin2L2Into is argminL2Into keeping the second-best value too.
func argmin2L2Into(ips, cnorms []float32, c0 int, best, second float32, label int32) (float32, float32, int32) {
	cnorms = cnorms[:len(ips)]
	for j, ip := range ips {
		if v := cnorms[j] - 2*ip; v < second {
			if v < best {
				best, second, label = v, best, int32(c0+j)
			} else {
				second = v
			}
		}
	}
	return best, second, label
}

// sortInt32 sorts x, whose values are distinct and not negative, in
// increasing order.
func sortInt32(x []int32) {
	if len(x) < 2 {
		return
	}
	hi := int32(0)
	for _, v := range x {
		hi = max(hi, v)
	}
	seen := make([]uint64, int(hi)/64+1)
	for _, v := range x {
		seen[v/64] |= 1 << (uint(v) % 64)
	}
	x = x[:0]
	for w, word := range seen {
		for word != 0 {
			x = append(x, int32(w*64+bits.TrailingZeros64(word)))
			word &= word - 1
		}
	}
}
