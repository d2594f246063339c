package ivf

import (
	"context"
	"fmt"

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
	m     metric.Metric
	d     int
	lists []flatList
}

type flatList struct {
	vecs  []float32
	ids   []int64
	norms []float32 // squared norms of the vectors, for batched L2 search
}

// NewFlatCodec returns a codec that stores raw vectors compared with metric m.
func NewFlatCodec(m metric.Metric) *FlatCodec { return &FlatCodec{m: m} }

// Init prepares nlist empty lists. Raw vectors need no centroids.
func (c *FlatCodec) Init(d, nlist int, centroids []float32) error {
	c.d = d
	c.lists = make([]flatList, nlist)
	return nil
}

// Train does nothing: raw vectors need no training.
func (c *FlatCodec) Train(ctx context.Context, x []float32, lists []int32) error { return nil }

// IsTrained is always true.
func (c *FlatCodec) IsTrained() bool { return true }

// Add appends vectors to a list.
func (c *FlatCodec) Add(list int, x []float32, ids []int64) error {
	if len(x) != len(ids)*c.d {
		return fmt.Errorf("ivf: %w: %d floats for %d ids", kume.ErrDimension, len(x), len(ids))
	}
	l := &c.lists[list]
	l.vecs = append(l.vecs, x...)
	l.ids = append(l.ids, ids...)
	n0 := len(l.norms)
	l.norms = append(l.norms, make([]float32, len(ids))...)
	asm.SqNorms(l.norms[n0:], x, c.d)
	return nil
}

// Truncate keeps the first n vectors of a list.
func (c *FlatCodec) Truncate(list, n int) {
	l := &c.lists[list]
	l.vecs, l.ids, l.norms = l.vecs[:n*c.d], l.ids[:n], l.norms[:n]
}

// Len is the number of vectors in a list.
func (c *FlatCodec) Len(list int) int { return len(c.lists[list].ids) }

// IDs returns a list's ids.
func (c *FlatCodec) IDs(list int) []int64 { return c.lists[list].ids }

// Vectors returns a list's raw vectors, row-major. The slice must not be
// modified.
func (c *FlatCodec) Vectors(list int) []float32 { return c.lists[list].vecs }

// Reconstruct appends the vector at position i of a list.
func (c *FlatCodec) Reconstruct(list, i int, dst []float32) []float32 {
	return append(dst, c.lists[list].vecs[i*c.d:(i+1)*c.d]...)
}

// Remove deletes the vectors whose ids satisfy drop.
func (c *FlatCodec) Remove(drop func(int64) bool) int {
	removed := 0
	for li := range c.lists {
		l := &c.lists[li]
		w := 0
		for r, id := range l.ids {
			if drop(id) {
				continue
			}
			if w != r {
				copy(l.vecs[w*c.d:(w+1)*c.d], l.vecs[r*c.d:(r+1)*c.d])
				l.ids[w] = id
				l.norms[w] = l.norms[r]
			}
			w++
		}
		removed += len(l.ids) - w
		l.ids, l.vecs, l.norms = l.ids[:w], l.vecs[:w*c.d], l.norms[:w]
	}
	return removed
}

// Reset empties every list.
func (c *FlatCodec) Reset() {
	for i := range c.lists {
		c.lists[i] = flatList{}
	}
}

// BytesPerVector is 4·d.
func (c *FlatCodec) BytesPerVector() float64 { return float64(4 * c.d) }

// NewScanner returns a scanner with its own distance buffer and heaps.
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

type flatScanner struct {
	c      *FlatCodec
	buf    []float32
	heap   topk.Heap
	filter kume.IDFilter

	// Batches.
	heaps  []topk.Heap
	cands  []exact.Collector
	qnAll  []float32 // squared norms of the batch's queries
	groups ByList
	qbuf   []float32 // the queries of one list, gathered
	qnorms []float32
	tile   []float32

	out rangeres.Out // a list's hits in a range search
}

func (s *flatScanner) Search(ctx context.Context, q []float32, lists []int64, coarse []float32, dist []float32, ids []int64) error {
	h := &s.heap
	h.Reset(dist, ids)
	work := 0
	for _, li := range lists {
		if li < 0 {
			continue
		}
		if work += len(s.c.lists[li].ids); work >= cancelVectors {
			work = 0
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		s.scanOne(q, int(li), h)
	}
	h.Finish(s.c.m == metric.InnerProduct)
	return nil
}

// SetFilter restricts the following searches to the ids f contains.
func (s *flatScanner) SetFilter(f kume.IDFilter) { s.filter = f }

// scanOne compares one query with every vector of a list and offers them to h.
func (s *flatScanner) scanOne(q []float32, li int, h *topk.Heap) {
	c := s.c
	ip := c.m == metric.InnerProduct
	l := &c.lists[li]
	if s.filter != nil {
		exact.Scan(h, q, l.vecs, l.ids, 0, ip, s.filter, s.buf)
		return
	}
	for r0 := 0; r0 < len(l.ids); r0 += flatScanBlock {
		r1 := min(r0+flatScanBlock, len(l.ids))
		buf := s.buf[:r1-r0]
		rows := l.vecs[r0*c.d : r1*c.d]
		if ip {
			asm.DotMany(buf, q, rows)
		} else {
			asm.L2SqrMany(buf, q, rows)
		}
		offer(h, buf, l.ids[r0:r1], ip)
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

// SearchBatch groups the queries by probed list and compares each list with
// all of its queries at once: lists probed by three or more queries go
// through the many-to-many kernel, whose scores only choose candidates
// (package exact) that are then measured with the one-query kernel; the
// other lists go through the one-query kernel directly. Each query keeps its
// own heap, whose ties are broken by id, so a batch returns what each of its
// queries returns alone, bit for bit, whatever lists the others probe.
func (s *flatScanner) SearchBatch(ctx context.Context, queries []float32, nprobe int, lists []int64, coarse []float32, k int, dist []float32, ids []int64) error {
	c := s.c
	d := c.d
	nq := len(dist) / k
	ip := c.m == metric.InnerProduct
	if cap(s.heaps) < nq {
		s.heaps = make([]topk.Heap, nq)
		s.cands = make([]exact.Collector, nq)
		s.qnAll = make([]float32, nq)
	}
	heaps, cands, qn := s.heaps[:nq], s.cands[:nq], s.qnAll[:nq]
	asm.SqNorms(qn, queries, d)
	scale := exact.ErrorScale(d, c.m)
	for i := range heaps {
		heaps[i].Reset(dist[i*k:(i+1)*k], ids[i*k:(i+1)*k])
		cands[i].Reset(queries[i*d:(i+1)*d], qn[i], k, c.m, scale)
		cands[i].SetFilter(s.filter)
	}
	s.groups.Group(lists[:nq*nprobe], len(c.lists))
	var err error
	work := 0
	s.groups.Each(func(l int, probes []int32) {
		if err != nil {
			return
		}
		if work += len(probes) * len(c.lists[l].ids); work >= cancelVectors {
			work = 0
			if err = ctx.Err(); err != nil {
				return
			}
		}
		if len(probes) < 3 {
			for _, p := range probes {
				i := int(p) / nprobe
				s.scanOne(queries[i*d:(i+1)*d], l, &heaps[i])
			}
			return
		}
		s.scanTiled(queries, qn, probes, nprobe, l, cands, ip)
	})
	if err != nil {
		return err
	}
	for i := range heaps {
		cands[i].Flush(&heaps[i])
		heaps[i].Finish(ip)
	}
	return nil
}

// scanTiled compares the queries of probes (positions p, query p/nprobe)
// with every vector of list li with the many-to-many kernel and offers the
// scores to the queries' collectors.
func (s *flatScanner) scanTiled(queries, qnAll []float32, probes []int32, nprobe, li int, cands []exact.Collector, ip bool) {
	c := s.c
	d := c.d
	l := &c.lists[li]
	nm := len(probes)
	if cap(s.qbuf) < nm*d {
		s.qbuf = make([]float32, nm*d)
	}
	qs := s.qbuf[:nm*d]
	if cap(s.qnorms) < nm {
		s.qnorms = make([]float32, nm)
	}
	qn := s.qnorms[:nm]
	for j, p := range probes {
		i := int(p) / nprobe
		copy(qs[j*d:(j+1)*d], queries[i*d:(i+1)*d])
		qn[j] = qnAll[i]
	}
	if cap(s.tile) < nm*tileRows {
		s.tile = make([]float32, nm*tileRows)
	}
	for r0 := 0; r0 < len(l.ids); r0 += tileRows {
		r1 := min(r0+tileRows, len(l.ids))
		nr := r1 - r0
		buf := s.tile[:nm*nr]
		rows := l.vecs[r0*d : r1*d]
		if ip {
			asm.DotTile(buf, qs, rows, d)
		} else {
			asm.L2SqrTile(buf, qs, qn, rows, l.norms[r0:r1], d)
		}
		norms := l.norms[r0:r1]
		var normMax float32
		for _, v := range norms {
			normMax = max(normMax, v)
		}
		for j, p := range probes {
			cands[int(p)/nprobe].Offer(buf[j*nr:(j+1)*nr], rows, norms, normMax, l.ids[r0:r1], 0)
		}
	}
}

// RangeSearch appends the vectors of lists within radius of q, with their
// exact distances (those Search returns, bit for bit).
func (s *flatScanner) RangeSearch(ctx context.Context, q []float32, lists []int64, coarse []float32, radius float32, dist []float32, ids []int64) ([]float32, []int64, error) {
	c := s.c
	ip := c.m == metric.InnerProduct
	work := 0
	for _, li := range lists {
		if li < 0 {
			continue
		}
		if work += len(c.lists[li].ids); work >= cancelVectors {
			work = 0
			if err := ctx.Err(); err != nil {
				return dist, ids, err
			}
		}
		l := &c.lists[li]
		s.out.Hits = s.out.Hits[:0]
		exact.ScanRadius(&s.out, q, l.vecs, l.ids, 0, ip, radius, s.filter, s.buf)
		for _, h := range s.out.Hits {
			dist, ids = append(dist, h.Dist), append(ids, h.ID)
		}
	}
	return dist, ids, nil
}
