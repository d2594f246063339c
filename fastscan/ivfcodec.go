package fastscan

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/kmeans"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/pq"
)

// IVFCodec stores an IVF index's lists as fast-scan PQ codes ("IVF{n},
// PQ{M}x4fs" and, encoding residuals, "IVF{n},PQ{M}x4fsr"). Each list is
// FAISS's packed blocks plus ids.
//
// For a query, the tables of every probed list are quantized together with
// one scale, so that integer sums from different lists compare and one top k
// serves them all. Without residuals one table serves every list; with
// residuals under L2 each list has its own table (of the query minus the
// list's centroid); with residuals under inner product the table is shared
// and each list adds the query's inner product with its centroid.
type IVFCodec struct {
	d, m       int
	mt         metric.Metric
	byResidual bool
	pq         *pq.Quantizer

	// KMeans configures the training of the sub-quantizers.
	KMeans kmeans.Config

	nlist     int
	centroids []float32
	lists     []pqList
}

type pqList struct {
	packed []byte
	ids    []int64
}

// NewIVFCodec returns an untrained codec with m sub-quantizers for
// d-dimensional vectors.
func NewIVFCodec(d, m int, mt metric.Metric, byResidual bool) (*IVFCodec, error) {
	if !mt.Valid() {
		return nil, fmt.Errorf("fastscan: %w: metric %v", kume.ErrUnsupported, mt)
	}
	q, err := pq.New(d, m)
	if err != nil {
		return nil, fmt.Errorf("fastscan: %w", err)
	}
	return &IVFCodec{d: d, m: m, mt: mt, byResidual: byResidual, pq: q}, nil
}

// Quantizer returns the product quantizer.
func (c *IVFCodec) Quantizer() *pq.Quantizer { return c.pq }

// SetQuantizer installs a trained quantizer (when loading a saved index).
func (c *IVFCodec) SetQuantizer(q *pq.Quantizer) error {
	if q.D() != c.d || q.M() != c.m || !q.IsTrained() {
		return fmt.Errorf("fastscan: %w: quantizer of d = %d, M = %d (trained %v) for a codec of d = %d, M = %d",
			kume.ErrCorrupt, q.D(), q.M(), q.IsTrained(), c.d, c.m)
	}
	c.pq = q
	return nil
}

// ByResidual reports whether codes encode the vector minus its centroid.
func (c *IVFCodec) ByResidual() bool { return c.byResidual }

// M returns the number of sub-quantizers.
func (c *IVFCodec) M() int { return c.m }

// Init prepares nlist empty lists and keeps the centroids for residuals.
func (c *IVFCodec) Init(d, nlist int, centroids []float32) error {
	if d != c.d {
		return fmt.Errorf("fastscan: %w: codec of d = %d in an index of d = %d", kume.ErrDimension, c.d, d)
	}
	c.nlist, c.centroids = nlist, centroids
	c.lists = make([]pqList, nlist)
	return nil
}

// IsTrained reports whether the product quantizer is trained.
func (c *IVFCodec) IsTrained() bool { return c.pq.IsTrained() }

// trainPoints is the size of the training sample (FAISS: 256 per centroid,
// 16 centroids), drawn with a fixed seed.
const trainPoints = pq.TrainPoints

// Train trains the product quantizer on (at most 4096 of) the vectors, or on
// their residuals.
func (c *IVFCodec) Train(ctx context.Context, x []float32, lists []int32) error {
	n := len(lists)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if n > trainPoints {
		rng := rand.New(rand.NewPCG(1234, 0))
		rng.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:trainPoints]
	}
	sample := make([]float32, len(idx)*c.d)
	for j, i := range idx {
		row := sample[j*c.d : (j+1)*c.d]
		copy(row, x[i*c.d:(i+1)*c.d])
		if c.byResidual {
			c.subtractCentroid(row, int(lists[i]))
		}
	}
	return c.pq.Train(ctx, sample, c.KMeans)
}

func (c *IVFCodec) subtractCentroid(row []float32, list int) {
	cen := c.centroids[list*c.d : (list+1)*c.d]
	for j := range row {
		row[j] -= cen[j]
	}
}

// Add encodes vectors (their residuals, with by_residual) and appends them
// to a list.
func (c *IVFCodec) Add(list int, x []float32, ids []int64) error {
	if len(x) != len(ids)*c.d {
		return fmt.Errorf("fastscan: %w: %d floats for %d ids", kume.ErrDimension, len(x), len(ids))
	}
	n := len(ids)
	if c.byResidual {
		x = append([]float32(nil), x...)
		for i := 0; i < n; i++ {
			c.subtractCentroid(x[i*c.d:(i+1)*c.d], list)
		}
	}
	codes := make([]byte, n*c.pq.CodeSize())
	c.pq.Encode(codes, x)
	c.AddPacked(list, codes, ids)
	return nil
}

// AddPacked appends already encoded (unpacked, FAISS-order) codes to a list.
func (c *IVFCodec) AddPacked(list int, codes []byte, ids []int64) {
	l := &c.lists[list]
	l.packed = AppendPacked(l.packed, codes, len(l.ids), len(ids), c.m)
	l.ids = append(l.ids, ids...)
}

// Truncate keeps the first n codes of a list; the padding of its last block
// is zeroed again, as FAISS's files have it.
func (c *IVFCodec) Truncate(list, n int) {
	l := &c.lists[list]
	if n >= len(l.ids) {
		return
	}
	l.packed = TruncatePacked(l.packed, n, c.m)
	l.ids = l.ids[:n]
}

// SetList replaces a list's contents with n packed codes (Blocks(n) blocks
// in FAISS's layout) and their ids, as a file stores them.
func (c *IVFCodec) SetList(list int, packed []byte, ids []int64) error {
	if len(packed) != Blocks(len(ids))*BlockBytes(c.m) {
		return fmt.Errorf("fastscan: %w: list %d has %d packed bytes for %d codes", kume.ErrCorrupt, list, len(packed), len(ids))
	}
	c.lists[list] = pqList{packed: packed, ids: ids}
	return nil
}

// Packed returns a list's packed blocks. The slice must not be modified.
func (c *IVFCodec) Packed(list int) []byte { return c.lists[list].packed }

// Len is the number of vectors in a list.
func (c *IVFCodec) Len(list int) int { return len(c.lists[list].ids) }

// IDs returns a list's ids.
func (c *IVFCodec) IDs(list int) []int64 { return c.lists[list].ids }

// Reconstruct appends the decoded vector at position i of a list.
func (c *IVFCodec) Reconstruct(list, i int, dst []float32) []float32 {
	code := make([]byte, c.pq.CodeSize())
	Unpack(code, c.lists[list].packed, 1, c.m, i)
	base := len(dst)
	dst = append(dst, make([]float32, c.d)...)
	row := dst[base:]
	c.pq.Decode(row, code)
	if c.byResidual {
		cen := c.centroids[list*c.d : (list+1)*c.d]
		for j := range row {
			row[j] += cen[j]
		}
	}
	return dst
}

// Remove deletes the vectors whose ids satisfy drop.
func (c *IVFCodec) Remove(drop func(int64) bool) int {
	removed := 0
	for li := range c.lists {
		l := &c.lists[li]
		var keep []int32
		for i, id := range l.ids {
			if !drop(id) {
				keep = append(keep, int32(i))
			}
		}
		if len(keep) == len(l.ids) {
			continue
		}
		ids := make([]int64, len(keep))
		for j, i := range keep {
			ids[j] = l.ids[i]
		}
		removed += len(l.ids) - len(keep)
		*l = pqList{packed: KeepPacked(l.packed, len(l.ids), c.m, keep), ids: ids}
	}
	return removed
}

// Reset empties every list.
func (c *IVFCodec) Reset() {
	for i := range c.lists {
		c.lists[i] = pqList{}
	}
}

// BytesPerVector is M2/2: the packed code of one vector.
func (c *IVFCodec) BytesPerVector() float64 { return float64(M2(c.m)) / 2 }

// NewScanner returns a scanner with its own tables and buffers.
func (c *IVFCodec) NewScanner() ivf.Scanner { return &ivfScanner{c: c, st: NewScanner()} }

type ivfScanner struct {
	c        *IVFCodec
	st       *Scanner
	heap     topk.Heap
	one      [1]*topk.Heap
	residual []float32
	tables   []float32
	bias     []float32
	luts     []byte
	biasq    []uint16

	// Batches (shared tables only): every query's table, biases, scale and
	// heap, then the queries grouped by list.
	bluts  []byte
	bbias  []uint16
	bab    []float32
	btop   []uint32
	heaps  []topk.Heap
	groups ivf.ByList
	gluts  []byte // the tables of one group of queries, side by side
	gbias  []uint16
	gheaps []*topk.Heap
}

// prepare builds and quantizes query q's tables for its probed lists into
// s.luts (one table, or one per probe when perList) and s.biasq (one per
// probe), and returns the scale, offset and, for inner product, the top the
// keys are complemented against.
func (s *ivfScanner) prepare(q []float32, lists []int64, coarse []float32) (a, b float32, top uint32, perList bool) {
	c := s.c
	ip := c.mt == metric.InnerProduct
	np := len(lists)
	perList = c.byResidual && !ip // one table per probed list
	nt := 1
	if perList {
		nt = np
	}
	tsize := c.m * 16
	s.tables = grow(s.tables, nt*tsize)
	s.luts = growBytes(s.luts, nt*M2(c.m)*16)
	s.bias = grow(s.bias, np)
	if cap(s.biasq) < np {
		s.biasq = make([]uint16, np)
	}
	s.biasq = s.biasq[:np]
	switch {
	case perList:
		s.residual = grow(s.residual, c.d)
		for j, l := range lists {
			t := s.tables[j*tsize : (j+1)*tsize]
			if l < 0 {
				clear(t)
				continue
			}
			copy(s.residual, q)
			c.subtractCentroid(s.residual, int(l))
			c.pq.L2Tables(t, s.residual)
		}
		clear(s.bias)
	case ip:
		c.pq.IPTables(s.tables, q)
		for j := range s.bias {
			s.bias[j] = 0
			if c.byResidual && lists[j] >= 0 {
				s.bias[j] = coarse[j] // the codes hold residuals: add <q, centroid>
			}
		}
	default:
		c.pq.L2Tables(s.tables, q)
		clear(s.bias)
	}
	if perList {
		a, b = s.st.QuantizeTables(s.luts, s.biasq, s.tables, s.bias, nt, c.m, false)
	} else {
		// One table; the biases (inner product with residuals) go through
		// the same rule as FAISS's 2-D table with a bias per probe.
		a, b = s.st.QuantizeShared(s.luts, s.biasq, s.tables, s.bias, c.m)
	}
	if ip {
		// Larger is better: scan 255 - entry and top - bias instead, so
		// that smaller keys are better as under L2, with the very same
		// quantized values as FAISS.
		top = Complement(s.luts[:M2(c.m)*16], c.m)
		var maxBias uint16
		for _, v := range s.biasq {
			maxBias = max(maxBias, v)
		}
		for j := range s.biasq {
			s.biasq[j] = maxBias - s.biasq[j]
		}
		top += uint32(maxBias)
	}
	return a, b, top, perList
}

// SetFilter restricts the following searches to the ids f contains: blocks
// whose ids a kume.IDMasker filters out are not scanned, other filters are
// asked about each vector that would enter the results.
func (s *ivfScanner) SetFilter(f kume.IDFilter) { s.st.SetFilter(f) }

func (s *ivfScanner) Search(ctx context.Context, q []float32, lists []int64, coarse []float32, dist []float32, ids []int64) error {
	c := s.c
	a, b, top, perList := s.prepare(q, lists, coarse)
	s.heap.Reset(dist, ids)
	s.one[0] = &s.heap
	m2 := M2(c.m)
	work := 0
	for j, l := range lists {
		if l < 0 {
			continue
		}
		if work += len(c.lists[l].ids); work >= cancelCodes {
			work = 0
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		lut := s.luts[:m2*16]
		if perList {
			lut = s.luts[j*m2*16 : (j+1)*m2*16]
		}
		pl := &c.lists[l]
		s.st.Scan(pl.packed, len(pl.ids), m2, pl.ids, lut, s.biasq[j:j+1], s.one[:])
	}
	Finish(&s.heap, dist, a, b, c.mt == metric.InnerProduct, top)
	return nil
}

// cancelCodes is about how many codes a scan reads between checks of its
// context (a few milliseconds of work).
const cancelCodes = 1 << 18

// batchQueries bounds the queries whose tables a batch holds at once.
const batchQueries = 256

// SearchBatch answers a batch. With one table per query (codes without
// residuals, or inner product), the (query, list) pairs are grouped by list
// and each list's blocks are scanned once for a group of up to queryGroup
// of its queries (asm.LUT4ScanMulti), each with its own table, bias,
// threshold and heap. With a table per probed list (L2 on residuals) the
// queries are answered one by one.
func (s *ivfScanner) SearchBatch(ctx context.Context, queries []float32, nprobe int, lists []int64, coarse []float32, k int, dist []float32, ids []int64) error {
	c := s.c
	d := c.d
	nq := len(dist) / k
	if c.byResidual && c.mt != metric.InnerProduct {
		for i := 0; i < nq; i++ {
			if err := s.Search(ctx, queries[i*d:(i+1)*d], lists[i*nprobe:(i+1)*nprobe], coarse[i*nprobe:(i+1)*nprobe], dist[i*k:(i+1)*k], ids[i*k:(i+1)*k]); err != nil {
				return err
			}
		}
		return nil
	}
	for i0 := 0; i0 < nq; i0 += batchQueries {
		i1 := min(i0+batchQueries, nq)
		if err := s.searchShared(ctx, queries[i0*d:i1*d], nprobe, lists[i0*nprobe:i1*nprobe], coarse[i0*nprobe:i1*nprobe], k, dist[i0*k:i1*k], ids[i0*k:i1*k]); err != nil {
			return err
		}
	}
	return nil
}

func (s *ivfScanner) searchShared(ctx context.Context, queries []float32, nprobe int, lists []int64, coarse []float32, k int, dist []float32, ids []int64) error {
	c := s.c
	d, m2 := c.d, M2(c.m)
	lb := 16 * m2
	nq := len(dist) / k
	ip := c.mt == metric.InnerProduct
	s.bluts = growBytes(s.bluts, nq*lb)
	s.bab = grow(s.bab, 2*nq)
	if cap(s.bbias) < nq*nprobe {
		s.bbias = make([]uint16, nq*nprobe)
	}
	if cap(s.btop) < nq {
		s.btop = make([]uint32, nq)
		s.heaps = make([]topk.Heap, nq)
	}
	bbias, btop, heaps := s.bbias[:nq*nprobe], s.btop[:nq], s.heaps[:nq]
	for i := 0; i < nq; i++ {
		a, b, top, _ := s.prepare(queries[i*d:(i+1)*d], lists[i*nprobe:(i+1)*nprobe], coarse[i*nprobe:(i+1)*nprobe])
		copy(s.bluts[i*lb:(i+1)*lb], s.luts[:lb])
		copy(bbias[i*nprobe:(i+1)*nprobe], s.biasq)
		s.bab[2*i], s.bab[2*i+1], btop[i] = a, b, top
		heaps[i].Reset(dist[i*k:(i+1)*k], ids[i*k:(i+1)*k])
	}
	if len(s.gbias) < queryGroup {
		s.gluts = make([]byte, queryGroup*lb)
		s.gbias = make([]uint16, queryGroup)
		s.gheaps = make([]*topk.Heap, queryGroup)
	}
	s.groups.Group(lists, len(c.lists))
	var err error
	work := 0
	s.groups.Each(func(l int, probes []int32) {
		pl := &c.lists[l]
		if len(pl.ids) == 0 || err != nil {
			return
		}
		if work += len(probes) * len(pl.ids); work >= cancelCodes {
			work = 0
			if err = ctx.Err(); err != nil {
				return
			}
		}
		for g0 := 0; g0 < len(probes); g0 += queryGroup {
			group := probes[g0:min(g0+queryGroup, len(probes))]
			for j, p := range group {
				i := int(p) / nprobe
				copy(s.gluts[j*lb:(j+1)*lb], s.bluts[i*lb:(i+1)*lb])
			}
			s.scanGroup(pl, group, nprobe, bbias, heaps)
		}
	})
	if err != nil {
		return err
	}
	for i := range heaps {
		Finish(&heaps[i], dist[i*k:(i+1)*k], s.bab[2*i], s.bab[2*i+1], ip, btop[i])
	}
	return nil
}

// scanGroup scans list pl for a group of (query, probe) pairs whose tables
// are in s.gluts, each query against its own threshold.
func (s *ivfScanner) scanGroup(pl *pqList, group []int32, nprobe int, bbias []uint16, heaps []topk.Heap) {
	for j, pair := range group {
		s.gbias[j] = bbias[pair]
		s.gheaps[j] = &heaps[int(pair)/nprobe]
	}
	g := len(group)
	s.st.Scan(pl.packed, len(pl.ids), M2(s.c.m), pl.ids, s.gluts[:g*16*M2(s.c.m)], s.gbias[:g], s.gheaps[:g])
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func growBytes(s []byte, n int) []byte {
	if cap(s) < n {
		return make([]byte, n)
	}
	return s[:n]
}
