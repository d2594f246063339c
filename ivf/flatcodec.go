package ivf

import (
	"context"
	"math"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/exact"
	"github.com/kume-ann/kume/internal/rangeres"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/metric"
)

// FlatCodec stores raw float32 vectors in each list (FAISS's IndexIVFFlat):
// 4·d bytes per vector, exact distances within the probed lists.
type FlatCodec struct {
	m metric.Metric
	d int
}

// FlatCodes are the codes of a FlatCodec list: the raw vectors and their
// squared norms (for batched L2 search).
type FlatCodes struct {
	d     int
	vecs  []float32
	norms []float32
}

// NewFlatCodec returns a codec that stores raw vectors compared with metric m.
func NewFlatCodec(m metric.Metric) *FlatCodec { return &FlatCodec{m: m} }

// Init records the dimension. Raw vectors need no centroids.
func (c *FlatCodec) Init(d, nlist int, centroids []float32) error {
	c.d = d
	return nil
}

// Train does nothing: raw vectors need no training.
func (c *FlatCodec) Train(ctx context.Context, x []float32, lists []int32) error { return nil }

// IsTrained is always true.
func (c *FlatCodec) IsTrained() bool { return true }

// NewList returns an empty list of raw vectors.
func (c *FlatCodec) NewList(list int) Codes { return &FlatCodes{d: c.d} }

// BytesPerVector is 4·d.
func (c *FlatCodec) BytesPerVector() float64 { return float64(4 * c.d) }

// Len is the number of vectors.
func (l *FlatCodes) Len() int { return len(l.norms) }

// Vectors returns the raw vectors, row-major. The slice must not be
// modified.
func (l *FlatCodes) Vectors() []float32 { return l.vecs }

// Append appends raw vectors.
func (l *FlatCodes) Append(x []float32) error {
	l.vecs = append(l.vecs, x...)
	n0 := len(l.norms)
	l.norms = append(l.norms, make([]float32, len(x)/l.d)...)
	asm.SqNorms(l.norms[n0:], x, l.d)
	return nil
}

// Truncate keeps the first n vectors.
func (l *FlatCodes) Truncate(n int) { l.vecs, l.norms = l.vecs[:n*l.d], l.norms[:n] }

// Keep keeps the vectors at positions keep, moving them down in place.
func (l *FlatCodes) Keep(keep []int32) {
	d := l.d
	for w, r := range keep {
		if w != int(r) {
			copy(l.vecs[w*d:(w+1)*d], l.vecs[int(r)*d:(int(r)+1)*d])
			l.norms[w] = l.norms[r]
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
	queries []float32
	nprobe  int
	heaps   []topk.Heap
	cands   []exact.Collector
	qnAll   []float32 // squared norms of the batch's queries
	qbuf    []float32 // the queries of one list, gathered
	tile    []float32

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

// Prefetch asks for the list's vectors ahead of their Scan.
func (s *flatScanner) Prefetch(codes Codes) { asm.Prefetch(codes.(*FlatCodes).vecs) }

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
