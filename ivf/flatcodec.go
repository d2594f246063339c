package ivf

import (
	"context"
	"math"
	"sync/atomic"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/exact"
	"github.com/kume-ann/kume/internal/pruned"
	"github.com/kume-ann/kume/internal/rangeres"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/metric"
)

// FlatCodec stores raw float32 vectors in each list (FAISS's IndexIVFFlat):
// 4·d bytes per vector, exact distances within the probed lists.
//
// Under L2, with 64 or more dimensions and 128 or more lists, each vector
// also gets its point on the 30 directions the centroids spread most
// (pruned.Set.ProjectRows: 32 floats, 128 bytes, computed as it is added),
// and a query whose probes hold 256 vectors or more scores those points
// first and measures only the vectors whose lower bound does not rule them
// out of its k nearest so far: the exhaustive scan's answers bit for bit,
// reading a fraction of the list's bytes and doing a fraction of its
// multiply-adds. On vectors where the bound leaves more than half of them
// to measure (no low-dimensional structure), the scans go back to the
// exhaustive kernels after the first 65,536. EnablePruning(false) before
// training or loading leaves the points out.
type FlatCodec struct {
	m       metric.Metric
	d       int
	noBound bool
	bound   *pruned.Set // the centroids' basis, nil without points

	// scored and measured count the vectors bounded scans scored and
	// measured: whether the bound pays on the index's vectors.
	scored, measured atomic.Int64
}

// FlatCodes are the codes of a FlatCodec list: the raw vectors and their
// squared norms (for batched L2 search), and, with the codec's bound, their
// projected points and the margin that covers them.
type FlatCodes struct {
	d      int
	vecs   []float32
	norms  []float32
	bound  *pruned.Set
	proj   []float32 // pruned.Width floats per vector
	margin pruned.Margin
}

// NewFlatCodec returns a codec that stores raw vectors compared with metric m.
func NewFlatCodec(m metric.Metric) *FlatCodec { return &FlatCodec{m: m} }

// EnablePruning turns the vectors' projected points on (the default) or off
// for the lists of the next Init: the codec's training, or an index's
// loading.
func (c *FlatCodec) EnablePruning(on bool) { c.noBound = !on }

// setBound turns the lists' points on or off for an initialised codec and
// its lists: on finds the basis from the centroids again and projects every
// stored vector; off drops the points.
func (c *FlatCodec) setBound(on bool, centroids []float32, lists []Codes) {
	c.noBound = !on
	if on == (c.bound != nil) {
		return
	}
	c.Init(c.d, len(lists), centroids)
	c.scored.Store(0)
	c.measured.Store(0)
	for _, codes := range lists {
		l := codes.(*FlatCodes)
		l.bound, l.proj, l.margin = c.bound, nil, pruned.Margin{}
		if c.bound != nil && len(l.vecs) > 0 {
			var ok bool
			if l.proj, ok = c.bound.ProjectRows(nil, l.vecs, &l.margin); !ok {
				l.bound, l.proj = nil, nil
			}
		}
	}
}

// Init records the dimension and, under L2, finds the basis of the lists'
// bound from the centroids (milliseconds for tens of thousands of them).
func (c *FlatCodec) Init(d, nlist int, centroids []float32) error {
	c.d = d
	c.bound = nil
	if c.m == metric.L2 && !c.noBound {
		c.bound = pruned.New(centroids, d)
	}
	return nil
}

// Train does nothing: raw vectors need no training.
func (c *FlatCodec) Train(ctx context.Context, x []float32, lists []int32) error { return nil }

// IsTrained is always true.
func (c *FlatCodec) IsTrained() bool { return true }

// NewList returns an empty list of raw vectors.
func (c *FlatCodec) NewList(list int) Codes { return &FlatCodes{d: c.d, bound: c.bound} }

// BytesPerVector is 4·d, and 4·pruned.Width more with the lists' bound.
func (c *FlatCodec) BytesPerVector() float64 {
	if c.bound != nil {
		return float64(4 * (c.d + pruned.Width))
	}
	return float64(4 * c.d)
}

// Len is the number of vectors.
func (l *FlatCodes) Len() int { return len(l.norms) }

// Vectors returns the raw vectors, row-major. The slice must not be
// modified.
func (l *FlatCodes) Vectors() []float32 { return l.vecs }

// Append appends raw vectors. A list with rows too large for the bound's
// arithmetic drops its points and is scanned in full from then on.
func (l *FlatCodes) Append(x []float32) error {
	l.vecs = append(l.vecs, x...)
	n0 := len(l.norms)
	l.norms = append(l.norms, make([]float32, len(x)/l.d)...)
	asm.SqNorms(l.norms[n0:], x, l.d)
	if l.bound != nil {
		var ok bool
		if l.proj, ok = l.bound.ProjectRows(l.proj, x, &l.margin); !ok {
			l.bound, l.proj = nil, nil
		}
	}
	return nil
}

// Truncate keeps the first n vectors.
func (l *FlatCodes) Truncate(n int) {
	l.vecs, l.norms = l.vecs[:n*l.d], l.norms[:n]
	if l.bound != nil {
		l.proj = l.proj[:n*pruned.Width]
	}
}

// Keep keeps the vectors at positions keep, moving them down in place.
func (l *FlatCodes) Keep(keep []int32) {
	d, w := l.d, pruned.Width
	for to, r := range keep {
		if to != int(r) {
			copy(l.vecs[to*d:(to+1)*d], l.vecs[int(r)*d:(int(r)+1)*d])
			l.norms[to] = l.norms[r]
			if l.bound != nil {
				copy(l.proj[to*w:(to+1)*w], l.proj[int(r)*w:(int(r)+1)*w])
			}
		}
	}
	l.Truncate(len(keep))
}

// Decode appends the vector at position i.
func (l *FlatCodes) Decode(i int, dst []float32) []float32 {
	return append(dst, l.vecs[i*l.d:(i+1)*l.d]...)
}

// NewScanner returns a scanner with its own distance buffer and collectors.
func (c *FlatCodec) NewScanner() Scanner {
	return &flatScanner{c: c, buf: make([]float32, flatScanBlock)}
}

// flatScanBlock is how many vectors one kernel call compares with the query.
const flatScanBlock = 1024

// cancelVectors is about how many vector comparisons a scan does between
// checks of its context (milliseconds of work).
const cancelVectors = 1 << 15

// tileRows is how many list vectors one many-to-many kernel call compares
// with the queries of a batch that probe the list.
const tileRows = 256

// minTiledQueries returns the fewest queries of one list that go through
// the many-to-many kernel, for vectors of d floats. Below it, packing the
// list's vectors costs more than the kernel saves: on an AMD EPYC (AVX2), a
// list of 39 vectors of 768 floats takes the same time both ways for about
// 20 queries, and three times as long tiled for 3. Short vectors pack
// cheaply, and there the one-query path's heap pushes weigh more: at d = 64
// three queries already pay (IVF64,Flat, 500 queries, nprobe 4: 58.8 M
// instructions with the threshold of long vectors, 57.9 M with 3).
func minTiledQueries(d int) int {
	if d >= 256 {
		return 16
	}
	return 3
}

type flatScanner struct {
	c      *FlatCodec
	buf    []float32
	filter kume.IDFilter

	// The batch of the last Begin.
	queries   []float32
	nprobe    int
	heaps     []topk.Heap
	cands     []exact.Collector
	qnAll     []float32      // squared norms of the batch's queries
	points    []pruned.Point // the batch's queries projected (where projected is set)
	projected []bool
	// Vectors scored and measured by bounded scans, not yet added to the
	// codec's counts.
	scored, measured int64
	qbuf             []float32 // the queries of one list, gathered
	tile             []float32

	out rangeres.Out // a list's hits in a range search

	// The batch of the last beginRange.
	radius []exact.Radius   // per query
	hits   [][]rangeres.Hit // per query
}

// MaxBatch: the scanner takes any batch.
func (s *flatScanner) MaxBatch() int { return math.MaxInt32 }

// WorkPerCheck is cancelVectors.
func (s *flatScanner) WorkPerCheck() int { return cancelVectors }

// SetFilter restricts the following searches to the ids f contains.
func (s *flatScanner) SetFilter(f kume.IDFilter) { s.filter = f }

// Begin computes the squared norms of the queries and prepares one exact
// collector per query.
func (s *flatScanner) Begin(queries []float32, nprobe int, lists []int64, coarse []float32, heaps []topk.Heap) {
	c := s.c
	s.queries, s.nprobe, s.heaps = queries, nprobe, heaps
	s.flushCounts()
	if heaps == nil {
		return
	}
	d, nq := c.d, len(heaps)
	if cap(s.cands) < nq {
		s.cands = make([]exact.Collector, nq)
		s.qnAll = make([]float32, nq)
	}
	cands, qn := s.cands[:nq], s.qnAll[:nq]
	asm.SqNorms(qn, queries, d)
	scale := exact.ErrorScale(d, c.m)
	for i := range cands {
		cands[i].Reset(queries[i*d:(i+1)*d], qn[i], heaps[i].K(), c.m, scale)
		cands[i].SetFilter(s.filter)
	}
	if c.bound != nil && s.filter == nil {
		if cap(s.points) < nq {
			s.points = make([]pruned.Point, nq)
			s.projected = make([]bool, nq)
		}
		s.points, s.projected = s.points[:nq], s.projected[:nq]
		clear(s.projected)
	}
}

// Scan compares the list with its probes' queries: with minTiledQueries(d)
// or more, through the many-to-many kernel, whose scores only choose candidates
// (package exact) that are then measured with the one-query kernel; with
// fewer, through the one-query kernel directly. Each query keeps its own
// heap, whose ties are broken by id, so a batch returns what each of its
// queries returns alone, bit for bit, whatever lists the others probe.
func (s *flatScanner) Scan(list int, ids []int64, codes Codes, probes []int32) {
	l := codes.(*FlatCodes)
	d := s.c.d
	if s.bounded(l) {
		for _, p := range probes {
			i := int(p) / s.nprobe
			q := s.queries[i*d : (i+1)*d]
			if !s.projected[i] {
				l.bound.Project(q, &s.points[i])
				s.projected[i] = true
			}
			s.scanBounded(q, &s.points[i], l, ids, &s.heaps[i])
		}
		return
	}
	if len(probes) < minTiledQueries(d) {
		streamed := len(probes) == 1
		if len(probes) >= 4 && s.filter == nil {
			probes = s.scanFours(probes, l, ids)
		}
		for _, p := range probes {
			i := int(p) / s.nprobe
			s.scanOne(s.queries[i*d:(i+1)*d], l, ids, &s.heaps[i], streamed)
		}
		return
	}
	s.scanTiled(probes, l, ids)
}

// scanFours scans the list for its probes' queries four at a time with
// asm.L2SqrMany4 (asm.DotMany4), which reads each vector once for the four
// and gives each query what scanOne would, bit for bit, and returns the
// probes left (fewer than four).
func (s *flatScanner) scanFours(probes []int32, l *FlatCodes, ids []int64) []int32 {
	d, nprobe := s.c.d, s.nprobe
	ip := s.c.m == metric.InnerProduct
	kernel := asm.L2SqrMany4
	if ip {
		kernel = asm.DotMany4
	}
	step := flatScanBlock / 4
	n := len(ids)
	for len(probes) >= 4 {
		var qs [4][]float32
		for j, p := range probes[:4] {
			i := int(p) / nprobe
			qs[j] = s.queries[i*d : (i+1)*d]
		}
		for r0 := 0; r0 < n; r0 += step {
			r1 := min(r0+step, n)
			nr := r1 - r0
			buf := s.buf[:4*nr]
			kernel(buf, qs[0], qs[1], qs[2], qs[3], l.vecs[r0*d:r1*d])
			for j, p := range probes[:4] {
				offer(&s.heaps[int(p)/nprobe], buf[j*nr:(j+1)*nr], ids[r0:r1], ip)
			}
		}
		probes = probes[4:]
	}
	return probes
}

// Prefetch asks for the list's vectors ahead of a Scan by several queries
// or a range search, and for its vectors' points, into the second-level
// cache, ahead of a Scan that scores them (scanBounded): 8-10 % faster at
// nprobe 8 and 32 on a million 256-d vectors with the vectors within reach
// asked for too (an AMD EPYC; first-level prefetches of either had
// measured no faster). A list one query reads in full is left to the
// hardware prefetcher, which follows its scan row by row (asking for it
// too measured slower).
func (s *flatScanner) Prefetch(codes Codes, probes int) {
	l := codes.(*FlatCodes)
	switch {
	case s.heaps == nil:
		asm.Prefetch(l.vecs)
	case s.bounded(l):
		asm.PrefetchL2(l.proj)
	case probes > 1:
		asm.Prefetch(l.vecs)
	}
}

const (
	// minBoundedRows is the fewest vectors a query's probes should hold
	// on average (nprobe times a list's length) for scoring their points
	// to pay: a query is projected once, m·d multiply-adds, about what
	// measuring 30 vectors costs.
	minBoundedRows = 256
	// boundProbe is how many vectors bounded scans score before the
	// codec judges whether they pay: whether they measure at most half of
	// them. Measuring more costs more than the many-to-many kernel, whose
	// multiply-adds run at the core's peak, and saves too few reads.
	boundProbe = 1 << 16
)

// bounded reports whether a Scan of list l scores the vectors' points
// (scanBounded): a list of the bound, without a filter, in a search whose
// queries read enough vectors to pay for their projection, of an index
// on whose vectors the bound pays.
func (s *flatScanner) bounded(l *FlatCodes) bool {
	if l.bound == nil || s.filter != nil || s.nprobe*l.Len() < minBoundedRows {
		return false
	}
	scored := s.c.scored.Load() + s.scored
	return scored < boundProbe || 2*(s.c.measured.Load()+s.measured) <= scored
}

// Finish moves query i's remaining candidates into its heap and sorts it.
func (s *flatScanner) Finish(i int, dist []float32) {
	s.cands[i].Flush(&s.heaps[i])
	s.heaps[i].Finish(s.c.m == metric.InnerProduct)
}

// scanOne compares one query with every vector of a list and offers them to
// h; streamed says no other query of the batch probes the list.
func (s *flatScanner) scanOne(q []float32, l *FlatCodes, ids []int64, h *topk.Heap, streamed bool) {
	c := s.c
	ip := c.m == metric.InnerProduct
	if s.filter != nil {
		exact.Scan(h, q, l.vecs, ids, 0, ip, s.filter, s.buf)
		return
	}
	for r0 := 0; r0 < len(ids); r0 += flatScanBlock {
		r1 := min(r0+flatScanBlock, len(ids))
		buf := s.buf[:r1-r0]
		rows := l.vecs[r0*c.d : r1*c.d]
		switch {
		case streamed:
			// A list only this query reads comes from memory once:
			// one row after the other is the order the hardware
			// prefetcher follows best (the many-row kernel's four
			// interleaved rows measured 15 % slower on a million
			// rows; the values are the same bit for bit).
			d := c.d
			for j := range buf {
				if ip {
					buf[j] = asm.Dot(q, rows[j*d:(j+1)*d])
				} else {
					buf[j] = asm.L2Sqr(q, rows[j*d:(j+1)*d])
				}
			}
		case ip:
			asm.DotMany(buf, q, rows)
		default:
			asm.L2SqrMany(buf, q, rows)
		}
		offer(h, buf, ids[r0:r1], ip)
	}
}

// scanBounded offers h the vectors of list l that can enter it, for the
// query q projected as pt: each vector's bound score from its point (Width
// floats read instead of d), and asm.L2Sqr for those whose score leaves
// them within reach of the heap's threshold as it stands. A vector not
// measured has an asm.L2Sqr above the threshold, where Push would not take
// it: h ends as scanOne leaves it, bit for bit.
func (s *flatScanner) scanBounded(q []float32, pt *pruned.Point, l *FlatCodes, ids []int64, h *topk.Heap) {
	d, w := s.c.d, pruned.Width
	b := l.bound
	measured := 0
	thr := h.Threshold()
	lim := b.LimitRows(pt, b.Reach(thr), l.margin)
	ahead := asm.PrefetchL2Rows(d)
	for r0 := 0; r0 < len(ids); r0 += flatScanBlock {
		r1 := min(r0+flatScanBlock, len(ids))
		sc := s.buf[:r1-r0]
		asm.DotMany(sc, pt.Query(), l.proj[r0*w:r1*w])
		// The vectors within reach are scattered over the list: ask for
		// them now (the first asm.PrefetchL2Rows), so that their reads
		// overlap.
		asked := 0
		for j, v := range sc {
			if v <= lim {
				r := r0 + j
				asm.PrefetchL2(l.vecs[r*d : (r+1)*d])
				if asked++; asked == ahead {
					break
				}
			}
		}
		for j, v := range sc {
			if v > lim {
				continue
			}
			r := r0 + j
			measured++
			if dist := asm.L2Sqr(q, l.vecs[r*d:(r+1)*d]); dist <= thr {
				h.Push(dist, ids[r])
				if t := h.Threshold(); t != thr {
					thr = t
					lim = b.LimitRows(pt, b.Reach(thr), l.margin)
				}
			}
		}
	}
	s.scored += int64(len(ids))
	s.measured += int64(measured)
	if s.scored >= boundFlush {
		s.flushCounts()
	}
}

// boundFlush is how many vectors a scanner scores between adding its
// counts to the codec's, so that goroutines do not write the same counters
// for every list.
const boundFlush = 1 << 14

// flushCounts adds the scanner's counts of scored and measured vectors to
// the codec's.
func (s *flatScanner) flushCounts() {
	if s.scored > 0 {
		s.c.scored.Add(s.scored)
		s.c.measured.Add(s.measured)
		s.scored, s.measured = 0, 0
	}
}

// offer pushes scores (negated for inner product, so that smaller is better)
// with their ids into h.
func offer(h *topk.Heap, scores []float32, ids []int64, ip bool) {
	thr := h.Threshold()
	for j, v := range scores {
		if ip {
			v = -v
		}
		if v <= thr {
			h.Push(v, ids[j])
			thr = h.Threshold()
		}
	}
}

// scanTiled compares the queries of probes (positions p, query p/nprobe)
// with every vector of list l with the many-to-many kernel and offers the
// scores to the queries' collectors.
func (s *flatScanner) scanTiled(probes []int32, l *FlatCodes, ids []int64) {
	nprobe, cands := s.nprobe, s.cands
	s.tiles(probes, l, func(buf, rows, norms []float32, normMax float32, r0, r1 int) {
		nr := r1 - r0
		for j, p := range probes {
			cands[int(p)/nprobe].Offer(buf[j*nr:(j+1)*nr], rows, norms, normMax, ids[r0:r1], 0)
		}
	})
}

// tiles compares the queries of probes (positions p, query p/nprobe) with
// the vectors of list l, tileRows at a time, with the many-to-many kernel
// (inner products, which the callers' collectors expand for L2), and hands
// each tile to use: the scores (one row of r1-r0 per probe), the vectors
// r0..r1-1, their squared norms and the largest of those.
func (s *flatScanner) tiles(probes []int32, l *FlatCodes, use func(buf, rows, norms []float32, normMax float32, r0, r1 int)) {
	d, nprobe := s.c.d, s.nprobe
	nm := len(probes)
	if cap(s.qbuf) < nm*d {
		s.qbuf = make([]float32, nm*d)
	}
	qs := s.qbuf[:nm*d]
	for j, p := range probes {
		i := int(p) / nprobe
		copy(qs[j*d:(j+1)*d], s.queries[i*d:(i+1)*d])
	}
	if cap(s.tile) < nm*tileRows {
		s.tile = make([]float32, nm*tileRows)
	}
	n := len(l.vecs) / d
	for r0 := 0; r0 < n; r0 += tileRows {
		r1 := min(r0+tileRows, n)
		buf := s.tile[:nm*(r1-r0)]
		rows := l.vecs[r0*d : r1*d]
		asm.DotTile(buf, qs, rows, d)
		norms := l.norms[r0:r1]
		var normMax float32
		for _, v := range norms {
			normMax = max(normMax, v)
		}
		use(buf, rows, norms, normMax, r0, r1)
	}
}

// Range appends the vectors of the list within radius of the query, with
// their exact distances (those a search returns, bit for bit).
func (s *flatScanner) Range(j int, ids []int64, codes Codes, radius float32, dist []float32, out []int64) ([]float32, []int64) {
	l := codes.(*FlatCodes)
	s.out.Hits = s.out.Hits[:0]
	exact.ScanRadius(&s.out, s.queries[:s.c.d], l.vecs, ids, 0, s.c.m == metric.InnerProduct, radius, s.filter, s.buf)
	for _, h := range s.out.Hits {
		dist, out = append(dist, h.Dist), append(out, h.ID)
	}
	return dist, out
}

// beginRange prepares a range search of a batch of queries within radius,
// list by list (rangeList), and returns the batch's hit lists, one per
// query, empty; rangeList appends to them.
func (s *flatScanner) beginRange(queries []float32, nprobe int, radius float32) [][]rangeres.Hit {
	c := s.c
	d, nq := c.d, len(queries)/c.d
	s.queries, s.nprobe, s.heaps = queries, nprobe, nil
	if cap(s.radius) < nq {
		s.radius = make([]exact.Radius, nq)
		s.hits = make([][]rangeres.Hit, nq)
	}
	if cap(s.qnAll) < nq {
		s.qnAll = make([]float32, nq)
	}
	rs, hits, qn := s.radius[:nq], s.hits[:nq], s.qnAll[:nq]
	asm.SqNorms(qn, queries, d)
	scale := exact.ErrorScale(d, c.m)
	for i := range rs {
		rs[i].Reset(queries[i*d:(i+1)*d], qn[i], c.m, scale, radius, s.filter)
		hits[i] = hits[i][:0]
	}
	return hits
}

// rangeList appends to the hit lists of the queries of probes (positions p,
// query p/nprobe) the vectors of list l within the radius, with their exact
// distances, and returns how many it appended. With three or more queries
// the many-to-many kernel's scores choose the rows the one-query kernel
// measures (exact.Radius); with fewer, the one-query kernel measures every
// row. Either way a query's hits are those Range finds for it alone.
func (s *flatScanner) rangeList(ids []int64, codes Codes, probes []int32) int {
	l := codes.(*FlatCodes)
	c := s.c
	d, nprobe := c.d, s.nprobe
	added := 0
	if len(probes) < 3 {
		ip := c.m == metric.InnerProduct
		for _, p := range probes {
			i := int(p) / nprobe
			s.out.Hits = s.hits[i]
			h0 := len(s.out.Hits)
			exact.ScanRadius(&s.out, s.queries[i*d:(i+1)*d], l.vecs, ids, 0, ip, s.radius[i].Radius(), s.filter, s.buf)
			s.hits[i] = s.out.Hits
			added += len(s.out.Hits) - h0
		}
		s.out.Hits = nil
		return added
	}
	s.tiles(probes, l, func(buf, rows, norms []float32, normMax float32, r0, r1 int) {
		nr := r1 - r0
		for j, p := range probes {
			i := int(p) / nprobe
			h0 := len(s.hits[i])
			s.hits[i] = s.radius[i].Offer(s.hits[i], buf[j*nr:(j+1)*nr], rows, norms, normMax, ids[r0:r1], 0)
			added += len(s.hits[i]) - h0
		}
	})
	return added
}
