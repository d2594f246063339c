package kmeans

import (
	"context"
	"math"
	"slices"
	"sync"

	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/parallel"
	"github.com/kume-ann/kume/internal/pruned"
)

// nearest finds, for every point of a batch, its nearest centre exactly:
// the centre c of least asm.L2Sqr(x, c), the smallest such c on ties, as
// scanning every centre in order would.
//
// A point seen for the first time is compared with every centre by one
// matrix product of its block of points with the centres: the product's
// distances, with a margin that covers their rounding, leave the few
// centres that can be the nearest, which asm.L2Sqr measures (scan). The
// point's keep nearest centres are remembered, with a lower bound of its
// distance to every other centre.
//
// Mini-batch k-means draws points again and again while only some centres
// move, and each by little: every centre's moves are summed into a path
// length, of which snapshots are kept. A point drawn again measures the
// centres it remembers, those that jumped since (reassigned onto other
// points) and, farthest first, as many of those that moved most since as
// the bound needs (at most fastDrift); every other centre is at least its
// remembered lower bound minus the most any of them moved, by the triangle
// inequality. When that is farther than the best measured, the point is
// done with a few hundred distances instead of k (revisit); otherwise it
// is scanned.
//
// With many centres (prunedCentres or more), a point scanned is searched
// against a pruned.Set of the centres instead of by the matrix product
// when the centres have low-dimensional structure (as speech features do):
// its projected bounds leave a few centres to measure, and the keep nearest
// are found exactly, the keep-th distance bounding every other centre's.
// The steps' Set is built once, on the basis of the first step's centres,
// and takes in the centres each step moved or reassigned (pruned.Update).
// When the bounds stop paying (data without such structure: see
// prunedShare), the matrix product is used from then on.
//
// Every bound carries margins for the rounding of the matrix product and
// the norms it is expanded from, of the path lengths and of asm.L2Sqr
// itself (relative, and absolute for values near float32's underflow), so a
// centre is left unmeasured only when its measured distance would exceed
// the best's: the result is the exhaustive scan's, bit for bit.
type nearest struct {
	d, k   int
	cnorms []float32
	tiles  sync.Pool

	gd, gamma, eta float64

	// Memory of the points (nil: none; see remember).
	ids   []int32   // n x keep: the centres a point remembers
	lower []float64 // n: lower bound of the distance to every other centre, at step snap
	snap  []int32   // n: the snapshot of lower; -1: nothing remembered
	// Drift of the centres.
	path     []float64   // k: bound of the length each centre moved, jumps left out
	jump     []int32     // k: the first step whose positions include the centre's last jump; -1
	ring     [][]float64 // snapshots of path, every snapEvery steps
	ringStep []int32     // the step each snapshot was taken at the start of; -1
	lastSnap int32

	// Scratch of assign.
	pending []record
	scanIdx []int
	scanX   []float32
	scanXN  []float32
	scanL   []int32
	scanD   []float32
	drifts  map[int32]*drift

	// revisited and scanned count the points of the last assign.
	revisited, scanned int
	spare              []*drift

	// The pruned search of the steps' centres (nil: none yet, or not
	// used), the centres it is over and those changed since its last
	// Update; noSet is set once pruning has not paid.
	set     *pruned.Set
	setRows []float32
	changed []int32
	noSet   bool
	// prunedScans counts the points the pruned search answered, for tests.
	prunedScans int64
	countMu     sync.Mutex
}

// prunedCentres is the fewest centres searched with a pruned.Set; below it
// the matrix product is about as fast (a variable: tests lower it).
var prunedCentres = 1024

// prunedBlock is the block of points of one pruned search.
const prunedBlock = 64

// A Set pays while its points measure at most 1/prunedShare of the
// centres on average (a point measures one at a time, where the matrix
// product measures many; the bounds cost width multiply-adds a centre);
// it is first judged after prunedProbe points.
const (
	prunedProbe = 128
	prunedShare = 8
)

// setPays reports whether set, of n centres, pays (see prunedShare).
func setPays(set *pruned.Set, n int) bool {
	q, rows := set.Measured()
	return q < prunedProbe || rows*prunedShare <= q*int64(n)
}

// newSet returns a pruned.Set of the centres, or nil.
func newSet(centres []float32, d int) *pruned.Set { return pruned.New(centres, d) }

// drift says how far the centres moved since a snapshot.
type drift struct {
	gone   bool      // the snapshot is no longer kept
	jumped []int32   // the centres that jumped since
	fast   []int32   // of the others, those that moved most, farthest first
	fastD  []float64 // how far each moved at most
	rest   float64   // the most any other centre moved
}

// fastDrift is the most centres a drift lists as having moved most.
const fastDrift = 256

// record is what assign learns of a point, applied to the memory after the
// batch.
type record struct {
	ok    bool
	ids   [keep]int32
	lower float64
	snap  int32
}

const (
	// keep is the number of centres a point remembers.
	keep = 16
	// nearPoints is the block of points of a revisit.
	nearPoints = 32
	// snapEvery steps a snapshot of the path lengths is taken; ringSize of
	// them are kept.
	snapEvery = 32
	ringSize  = 64
	// maxSqNormNearest bounds the squared norms the margins handle; points
	// or centres beyond it are measured against every centre.
	maxSqNormNearest = 1e30
	// maxMemory bounds the bytes of the points' memory.
	maxMemory = 512 << 20
)

// marginScale scales every rounding margin of nearest: 1 in use; tests set
// it to 0 to show that their data needs the margins.
var marginScale = 1.0

func newNearest(d, k int) *nearest {
	return &nearest{
		d: d, k: k, cnorms: make([]float32, k),
		gd:    gammaOf(d + d/64 + 16),
		gamma: gammaOf(2*d + 16),
		eta:   float64(2*d+16) * 0x1p-149,
	}
}

// gammaOf is the classic bound n·u/(1-n·u) on the relative error of a sum
// of n rounded terms, u float32's unit roundoff.
func gammaOf(n int) float64 {
	nu := float64(n) / (1 << 24)
	return nu / (1 - nu)
}

// remember sets up the memory of n points (ids 0..n-1 in assign); it
// reports false when that would take too much memory.
func (s *nearest) remember(n int) bool {
	if int64(n)*(keep*4+12)+int64(ringSize)*int64(s.k)*8 > maxMemory {
		return false
	}
	s.ids = make([]int32, n*keep)
	s.lower = make([]float64, n)
	s.snap = make([]int32, n)
	for i := range s.snap {
		s.snap[i] = -1
	}
	s.path = make([]float64, s.k)
	s.jump = make([]int32, s.k)
	for i := range s.jump {
		s.jump[i] = -1
	}
	s.ring = make([][]float64, ringSize)
	s.ringStep = make([]int32, ringSize)
	for i := range s.ringStep {
		s.ringStep[i] = -1
	}
	s.lastSnap = -1
	s.drifts = map[int32]*drift{}
	return true
}

// startStep is called before the assignment of step t: it takes the
// snapshots.
func (s *nearest) startStep(t int) {
	if s.path == nil || t%snapEvery != 0 {
		return
	}
	slot := (t / snapEvery) % ringSize
	if s.ring[slot] == nil {
		s.ring[slot] = make([]float64, s.k)
	}
	copy(s.ring[slot], s.path)
	s.ringStep[slot] = int32(t)
	s.lastSnap = int32(t)
}

// moved records that centre c moved by the squared distance sq, computed
// in float64 from the float32 rows (a step's update).
func (s *nearest) moved(c int, sq float64) {
	if s.set != nil {
		s.changed = append(s.changed, int32(c))
	}
	if s.path == nil {
		return
	}
	// The float64 distance is within (d+8)·2^-52 of the exact one; the
	// path rounds up with it.
	s.path[c] += math.Sqrt(sq) * (1 + float64(s.d+8)*0x1p-52)
}

// jumped records that centre c was moved onto another point after step t
// (a reassignment): its path no longer bounds its drift.
func (s *nearest) jumped(c, t int) {
	if s.set != nil {
		s.changed = append(s.changed, int32(c))
	}
	if s.path == nil {
		return
	}
	s.jump[c] = int32(t + 1)
}

func (s *nearest) tile(size int) *[]float32 {
	bp, _ := s.tiles.Get().(*[]float32)
	if bp == nil || cap(*bp) < size {
		b := make([]float32, size)
		bp = &b
	}
	return bp
}

// errScale returns c such that a squared distance computed as xn + yn -
// 2<x,y> (norms by asm.SqNorms and the product by the tiled kernel, in
// float32; the sum with xn in float64) is within c·(xn + yn) of the exact
// one, for computed norms xn and yn.
//
// The norms are within gd of the exact ones (relative; the exact ones are
// at most computed/(1-gd)); the product within gd·Σ|x_j y_j| <= gd·(||x||² +
// ||y||²)/2, so twice it within gd·(||x||² + ||y||²); the float32 subtraction
// yn - 2<x,y> rounds once, by at most u·(yn + 2|<x,y>|) <= 2u·(||x||² +
// ||y||²); the factor 5/4 leaves room for the float64 sum and the norms'
// own rounding in these terms.
func (s *nearest) errScale() float64 {
	c := (2*s.gd + 2.0/(1<<24)) / (1 - s.gd)
	return 1.25 * c * marginScale
}

// skipAbove returns T such that a centre whose exact squared distance from
// x exceeds T measures (asm.L2Sqr) above best: asm.L2Sqr is at least
// (1-γ)·D - η for an exact squared distance D, γ and η its relative and
// absolute (underflow) error bounds.
func (s *nearest) skipAbove(best float32) float64 {
	m := marginScale
	return (float64(best) + s.eta*m) / (1 - s.gamma*m) * (1 + 1e-12*m)
}

// lowerOf returns a lower bound of the exact distance (not squared) of a
// centre that asm.L2Sqr measured at v.
func (s *nearest) lowerOf(v float32) float64 {
	m := marginScale
	b := (float64(v) - s.eta*m) / (1 + s.gamma*m)
	return math.Sqrt(max(b, 0)) * (1 - 1e-12*m)
}

// assign writes the nearest centre of every point of x (rows of d; squared
// norms xnorms as asm.SqNorms computes them) into labels and its distance
// (asm.L2Sqr) into dist, and returns the sum of the distances. ids, when
// the memory is set up, names the points (below remember's n); step is the
// mini-batch step (see startStep).
func (s *nearest) assign(ctx context.Context, x, xnorms []float32, ids []int, step int, centres []float32, labels []int32, dist []float32) (float64, error) {
	d, n := s.d, len(labels)
	asm.SqNorms(s.cnorms, centres, d)
	big := false
	for _, v := range s.cnorms {
		if !(v <= maxSqNormNearest) {
			big = true
		}
	}
	if big {
		// Beyond the margins' range: measure everything.
		err := parallel.For(ctx, n, nearPoints, func(lo, hi int) error {
			for i := lo; i < hi; i++ {
				labels[i], dist[i] = s.scanAll(x[i*d:(i+1)*d], centres)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if s.snap != nil {
			for _, p := range ids {
				s.snap[p] = -1
			}
		}
		return sum(dist), nil
	}
	if s.snap == nil || ids == nil {
		var set *pruned.Set
		switch {
		case ids != nil: // a step, without the points' memory
			set = s.stepSet(centres)
		case s.k >= prunedCentres && !s.noSet:
			// Centres of their own (an initialisation's): a Set of
			// its own, used while it pays.
			if set = newSet(centres, d); set == nil {
				s.noSet = true
			}
		}
		err := s.scanPoints(ctx, set, x, xnorms, centres, labels, dist, nil)
		s.revisited, s.scanned = 0, n
		if err != nil {
			return 0, err
		}
		if ids == nil && set != nil && !setPays(set, s.k) {
			s.noSet = true // nor will the next centres' Set pay
		}
		return sum(dist), nil
	}

	// Revisits first: the longest path since each snapshot in use.
	s.pending = slices.Grow(s.pending[:0], n)[:n]
	for sn, dr := range s.drifts {
		s.spare = append(s.spare, dr)
		delete(s.drifts, sn)
	}
	for _, p := range ids {
		if sn := s.snap[p]; sn >= 0 && s.drifts[sn] == nil {
			s.drifts[sn] = s.sinceSnap(sn)
		}
	}
	// The pruned search of the centres, up to date: its bounds also spare
	// revisits measuring centres.
	set := s.stepSet(centres)
	err := parallel.For(ctx, n, nearPoints, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			s.pending[i].ok = false
			if s.snap[ids[i]] >= 0 && s.revisit(x[i*d:(i+1)*d], ids[i], centres, set, &labels[i], &dist[i], &s.pending[i]) {
				s.pending[i].ok = true
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Scans of the others, gathered into contiguous rows.
	s.scanIdx = s.scanIdx[:0]
	for i := range s.pending {
		if !s.pending[i].ok {
			s.scanIdx = append(s.scanIdx, i)
		}
	}
	m := len(s.scanIdx)
	s.revisited, s.scanned = n-m, m
	if m > 0 {
		s.scanX = slices.Grow(s.scanX[:0], m*d)[:m*d]
		s.scanXN = slices.Grow(s.scanXN[:0], m)[:m]
		s.scanL = slices.Grow(s.scanL[:0], m)[:m]
		s.scanD = slices.Grow(s.scanD[:0], m)[:m]
		for j, i := range s.scanIdx {
			copy(s.scanX[j*d:(j+1)*d], x[i*d:(i+1)*d])
			s.scanXN[j] = xnorms[i]
		}
		recs := make([]record, m)
		err = s.scanPoints(ctx, set, s.scanX, s.scanXN, centres, s.scanL, s.scanD, recs)
		for j, r := range recs {
			s.pending[s.scanIdx[j]] = r
		}
		if err != nil {
			return 0, err
		}
		for j, i := range s.scanIdx {
			labels[i], dist[i] = s.scanL[j], s.scanD[j]
		}
	}
	// The memory, in batch order (a point drawn twice keeps its last).
	for i, r := range s.pending {
		p := ids[i]
		if !r.ok {
			s.snap[p] = -1
			continue
		}
		copy(s.ids[p*keep:(p+1)*keep], r.ids[:])
		s.lower[p] = r.lower
		s.snap[p] = r.snap
	}
	return sum(dist), nil
}

// stepSet returns the pruned search of the steps' centres, up to date, or
// nil when they are searched by the matrix product.
func (s *nearest) stepSet(centres []float32) *pruned.Set {
	if s.noSet || s.k < prunedCentres {
		return nil
	}
	if s.set != nil && &s.setRows[0] != &centres[0] {
		s.set = nil // other centres
	}
	if s.set == nil {
		s.set, s.setRows, s.changed = newSet(centres, s.d), centres, s.changed[:0]
	} else if !s.set.Update(s.changed) {
		s.set = nil
	}
	s.changed = s.changed[:0]
	if s.set != nil && !setPays(s.set, s.k) {
		s.set = nil
	}
	if s.set == nil {
		s.noSet = true
	}
	return s.set
}

// scanPoints finds the nearest centres of the points x (norms xnorms) into
// labels and dist, and fills recs when not nil: by set's pruned search
// while it pays, by the matrix product (scanBlock) otherwise.
func (s *nearest) scanPoints(ctx context.Context, set *pruned.Set, x, xnorms, centres []float32, labels []int32, dist []float32, recs []record) error {
	d, n := s.d, len(labels)
	if set == nil {
		return parallel.For(ctx, n, pointBlock, func(lo, hi int) error {
			var r []record
			if recs != nil {
				r = recs[lo:hi]
			}
			s.scanBlock(x[lo*d:hi*d], xnorms[lo:hi], centres, labels[lo:hi], dist[lo:hi], r)
			return nil
		})
	}
	kk := 1
	if recs != nil {
		kk = keep
	}
	var answered int64
	err := parallel.For(ctx, n, prunedBlock, func(lo, hi int) error {
		var r []record
		if recs != nil {
			r = recs[lo:hi]
		}
		if !setPays(set, s.k) {
			s.scanBlock(x[lo*d:hi*d], xnorms[lo:hi], centres, labels[lo:hi], dist[lo:hi], r)
			return nil
		}
		m := hi - lo
		var kd [prunedBlock * keep]float32
		var ki [prunedBlock * keep]int64
		kdist, kids := kd[:m*kk], ki[:m*kk]
		if err := set.Search(ctx, x[lo*d:hi*d], kk, kdist, kids, nil); err != nil {
			return err
		}
		for i := 0; i < m; i++ {
			labels[lo+i], dist[lo+i] = int32(kids[i*kk]), kdist[i*kk]
			if r == nil {
				continue
			}
			// The keep nearest, exactly; every other centre measures at
			// least the keep-th.
			rec := &r[i]
			if !(xnorms[lo+i] <= maxSqNormNearest) {
				rec.ok = false // as scanBlock: too large to remember
				continue
			}
			for j := range rec.ids {
				rec.ids[j] = int32(kids[i*kk+j])
			}
			rec.ok, rec.lower, rec.snap = true, s.lowerOf(kdist[i*kk+kk-1]), s.lastSnap
		}
		s.countMu.Lock()
		answered += int64(m)
		s.countMu.Unlock()
		return nil
	})
	s.prunedScans += answered
	return err
}

func sum(v []float32) float64 {
	var t float64
	for _, x := range v {
		t += float64(x)
	}
	return t
}

// ringSlot returns the snapshot taken at the start of step sn, or nil when
// it is no longer kept.
func (s *nearest) ringSlot(sn int32) []float64 {
	slot := (int(sn) / snapEvery) % ringSize
	if s.ringStep[slot] != sn {
		return nil
	}
	return s.ring[slot]
}

// sinceSnap returns the drift of the centres since the snapshot of step sn.
func (s *nearest) sinceSnap(sn int32) *drift {
	var dr *drift
	if n := len(s.spare); n > 0 {
		dr, s.spare = s.spare[n-1], s.spare[:n-1]
	} else {
		dr = new(drift)
	}
	dr.jumped, dr.fast, dr.fastD, dr.rest = dr.jumped[:0], dr.fast[:0], dr.fastD[:0], 0
	snap := s.ringSlot(sn)
	dr.gone = snap == nil
	if dr.gone {
		return dr
	}
	// fast and fastD as a min-heap of the fastDrift largest drifts, then
	// sorted.
	var top float64
	for c, p := range s.path {
		top = max(top, p)
		if s.jump[c] > sn {
			dr.jumped = append(dr.jumped, int32(c))
			continue
		}
		v := p - snap[c]
		if len(dr.fast) < fastDrift {
			dr.fast, dr.fastD = append(dr.fast, int32(c)), append(dr.fastD, v)
			siftUp(dr.fastD, dr.fast, len(dr.fast)-1)
			continue
		}
		if v <= dr.fastD[0] {
			dr.rest = max(dr.rest, v)
			continue
		}
		dr.rest = max(dr.rest, dr.fastD[0])
		dr.fastD[0], dr.fast[0] = v, int32(c)
		siftDown(dr.fastD, dr.fast, 0)
	}
	for n := len(dr.fast) - 1; n > 0; n-- { // heap sort: farthest first
		dr.fastD[0], dr.fastD[n] = dr.fastD[n], dr.fastD[0]
		dr.fast[0], dr.fast[n] = dr.fast[n], dr.fast[0]
		siftDown(dr.fastD[:n], dr.fast[:n], 0)
	}
	// The float64 path sums round: a relative margin of their size.
	e := 1e-9 * marginScale * top
	for j := range dr.fastD {
		dr.fastD[j] += e
	}
	dr.rest += e
	return dr
}

func siftUp(v []float64, c []int32, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if v[p] <= v[i] {
			return
		}
		v[p], v[i], c[p], c[i] = v[i], v[p], c[i], c[p]
		i = p
	}
}

func siftDown(v []float64, c []int32, i int) {
	n := len(v)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && v[r] < v[l] {
			m = r
		}
		if v[i] <= v[m] {
			return
		}
		v[i], v[m], c[i], c[m] = v[m], v[i], c[m], c[i]
		i = m
	}
}

// revisit tries to find point p's nearest centre from its memory; it
// reports whether it did, and then fills label, dist and the record. With
// set (the centres' pruned search, up to date), a jumped or fast centre
// whose projected bound (pruned.Set.Score, Limit) puts it beyond the best
// measured, and beyond the bound the point keeps for centres not measured,
// is not measured: 32 multiply-adds instead of d.
func (s *nearest) revisit(x []float32, p int, centres []float32, set *pruned.Set, label *int32, dist *float32, rec *record) bool {
	d := s.d
	dr := s.drifts[s.snap[p]]
	if dr.gone || len(dr.jumped) > s.k/2 {
		return false
	}
	lower := s.lower[p]
	if !(lower > dr.rest) {
		return false
	}
	// The remembered centres, those that jumped and, farthest first, those
	// that moved too far for the bound: measured.
	var topV [keep]float32
	var topC [keep]int32
	nt, measured := 0, 0
	rest := float32(math.Inf(1)) // the least distance measured and not kept
	mem := s.ids[p*keep : (p+1)*keep]
	bestC, bestD := int32(-1), float32(math.Inf(1))
	measure := func(c int32) {
		v := asm.L2Sqr(x, centres[int(c)*d:(int(c)+1)*d])
		measured++
		if v < bestD || v == bestD && c < bestC {
			bestC, bestD = c, v
		}
		if nt == keep && v >= topV[keep-1] {
			rest = min(rest, v)
			return
		}
		if nt == keep {
			rest = min(rest, topV[keep-1])
		} else {
			nt++
		}
		q := nt - 1
		for q > 0 && topV[q-1] > v {
			topV[q], topC[q] = topV[q-1], topC[q-1]
			q--
		}
		topV[q], topC[q] = v, c
	}
	for _, c := range mem {
		measure(c)
	}
	// far: a centre the projected bound shows to be farther than the best
	// measured, and at least as far as the bound the point will remember
	// for the centres it does not measure can be (lower less the slowest
	// drift), so that skipping it leaves that bound as it would be;
	// skipped is the least such bound.
	var pt pruned.Point
	projected := false
	skipped := math.Inf(1)
	floor := lower - dr.rest*(1+1e-12*marginScale)
	var limit float32 // the score beyond which a centre is farther than reach
	var reach float64 // max(floor, the distance that cannot beat bestD)
	limitFor := float32(math.NaN())
	far := func(c int32) bool {
		if set == nil {
			return false
		}
		if !projected {
			set.Project(x, &pt)
			projected = true
		}
		if bestD != limitFor {
			reach = max(floor, math.Sqrt(s.skipAbove(bestD))*(1+1e-12))
			limit, limitFor = set.Limit(&pt, reach), bestD
		}
		if set.Score(&pt, int(c)) > limit {
			skipped = min(skipped, reach)
			return true
		}
		return false
	}
	for _, c := range dr.jumped {
		if !slices.Contains(mem, c) && !far(c) {
			measure(c)
		}
	}
	if t := lower - dr.rest*(1+1e-12*marginScale); !(t > 0 && t*t*(1-1e-12*marginScale) > s.skipAbove(bestD)) {
		return false // even the slowest centres moved too far
	}
	var lb float64
	for j := 0; ; j++ {
		next := dr.rest
		if j < len(dr.fast) {
			next = dr.fastD[j]
		}
		lb = lower - next*(1+1e-12*marginScale)
		if lb > 0 && lb*lb*(1-1e-12*marginScale) > s.skipAbove(bestD) {
			break
		}
		if j == len(dr.fast) || measured > s.k/4 {
			return false
		}
		if c := dr.fast[j]; !slices.Contains(mem, c) && !far(c) {
			measure(c)
		}
	}
	*label, *dist = bestC, bestD
	// Remember the keep nearest of those measured; the others, and every
	// centre not measured, are at least lower away.
	copy(rec.ids[:], topC[:nt])
	for j := nt; j < keep; j++ {
		rec.ids[j] = topC[0] // fewer than keep distinct: repeat the nearest
	}
	lower = min(lb, skipped)
	if !math.IsInf(float64(rest), 1) {
		lower = min(lower, s.lowerOf(rest))
	}
	rec.lower, rec.snap = lower, s.lastSnap
	return true
}

// scanAll measures every centre.
func (s *nearest) scanAll(x, centres []float32) (int32, float32) {
	d := s.d
	bestC, bestD := int32(0), float32(math.Inf(1))
	for c := 0; c < s.k; c++ {
		if v := asm.L2Sqr(x, centres[c*d:(c+1)*d]); v < bestD {
			bestC, bestD = int32(c), v
		}
	}
	return bestC, bestD
}

// scanBlock finds the nearest centres of the points xs (at most pointBlock
// rows) against every centre, and fills recs when not nil.
//
// The product gives each point an estimate xn + (cn - 2<x,c>) of every
// squared distance, within M = errScale·(xn + the largest cn) + η of the
// exact one. The keep centres of least estimate are remembered, and
// measured (asm.L2Sqr) in order of estimate while their estimate minus M
// does not clear the best measured (usually one is). Every other centre's
// exact squared distance is at least the next estimate minus M. When that
// exceeds skipAbove of the best measured, no other centre can win;
// otherwise (near-ties) the point measures every centre.
func (s *nearest) scanBlock(xs, xnorms, centres []float32, labels []int32, dist []float32, recs []record) {
	d, k := s.d, s.k
	nb := len(labels)
	cb := min(centroidBlock, k)
	bp := s.tile(pointBlock * cb)
	defer s.tiles.Put(bp)
	const L = keep + 1
	nt := min(L, k)
	var topW [pointBlock * L]float32
	var topC [pointBlock * L]int32
	for i := range topW[:nb*L] {
		topW[i] = float32(math.Inf(1))
	}
	for c0 := 0; c0 < k; c0 += cb {
		c1 := min(c0+cb, k)
		nc := c1 - c0
		tile := (*bp)[:nb*nc]
		asm.DotTile(tile, xs, centres[c0*d:c1*d], d)
		cn := s.cnorms[c0:c1]
		for i := 0; i < nb; i++ {
			tw, tc := topW[i*L:i*L+nt], topC[i*L:i*L+nt]
			last := tw[nt-1]
			for j, ip := range tile[i*nc : (i+1)*nc] {
				w := cn[j] - 2*ip
				if w >= last {
					continue
				}
				p := nt - 1
				for p > 0 && tw[p-1] > w {
					tw[p], tc[p] = tw[p-1], tc[p-1]
					p--
				}
				tw[p], tc[p] = w, int32(c0+j)
				last = tw[nt-1]
			}
		}
	}
	es := s.errScale()
	eta := s.eta * marginScale
	cnMax := float64(slices.Max(s.cnorms))
	for i := 0; i < nb; i++ {
		xi := xs[i*d : (i+1)*d]
		xn := float64(xnorms[i])
		if recs != nil {
			recs[i].ok = false
		}
		if !(xn <= maxSqNormNearest) {
			labels[i], dist[i] = s.scanAll(xi, centres)
			continue
		}
		tc, tw := topC[i*L:i*L+nt], topW[i*L:i*L+nt]
		meas := tc[:min(keep, nt)]
		margin := es*(xn+cnMax) + eta
		// The centres of least estimate are measured while their bound
		// does not clear the best: usually one.
		bestC, bestD := int32(-1), float32(math.Inf(1))
		for j, c := range meas {
			if j > 0 && xn+float64(tw[j])-margin > s.skipAbove(bestD) {
				break
			}
			v := asm.L2Sqr(xi, centres[int(c)*d:(int(c)+1)*d])
			if v < bestD || v == bestD && c < bestC {
				bestC, bestD = c, v
			}
		}
		// The least exact squared distance of the centres not kept.
		lower := math.Inf(1)
		if nt > keep {
			lower = xn + float64(tw[keep]) - margin
		}
		if !(lower > s.skipAbove(bestD)) {
			labels[i], dist[i] = s.scanAll(xi, centres)
			continue
		}
		labels[i], dist[i] = bestC, bestD
		if recs != nil {
			r := &recs[i]
			r.ok = true
			copy(r.ids[:], meas)
			for j := len(meas); j < keep; j++ {
				r.ids[j] = meas[0]
			}
			r.lower = math.Sqrt(lower) * (1 - 1e-12*marginScale)
			r.snap = s.lastSnap
		}
	}
}
