package faissio

import (
	"fmt"
	"math"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/hnsw"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/ivf/ivfpqfs"
	"github.com/kume-ann/kume/metric"
)

// ivfHeader is the part every IndexIVF record starts with.
type ivfHeader struct {
	header
	nlist     int
	nprobe    uint64
	centroids []float32 // nil when the index is not trained
	hq        *hnswData // an HNSW coarse quantizer, nil for a flat one
}

func (d *decoder) ivfHeader(what string) (*ivfHeader, error) {
	h, err := d.header(what)
	if err != nil {
		return nil, err
	}
	nlist := d.u64()
	nprobe := d.u64()
	if nlist == 0 || nlist > math.MaxInt32 {
		return nil, d.corrupt("%s: nlist %d", what, nlist)
	}
	qt := d.fourcc()
	if d.err != nil {
		return nil, d.err
	}
	var q *flatData
	var hq *hnswData
	d.depth++
	switch qt {
	case tagFlatL2, tagFlatIP, tagFlat:
		q, err = d.flatRecord(qt)
	case tagHNSWFlat:
		if hq, err = d.hnswFlat(); err == nil {
			q = &flatData{h: hq.h, data: hq.data}
		}
	default:
		err = d.unsupportedTag(qt, "%s (kume reads flat and HNSW-flat coarse quantizers) with quantizer", what)
	}
	d.depth--
	if err != nil {
		return nil, err
	}
	if q.h.d != h.d || q.h.metric != h.metric {
		return nil, d.fail(fmt.Errorf("faissio: %w: %s is %d-d %v, its quantizer %d-d %v", kume.ErrUnsupported, what, h.d, h.metric, q.h.d, q.h.metric))
	}
	d.directMap()
	if d.err != nil {
		return nil, d.err
	}
	x := &ivfHeader{header: h, nlist: int(nlist), nprobe: nprobe, hq: hq}
	switch {
	case q.h.ntotal == int64(nlist):
		x.centroids = q.data
	case q.h.ntotal == 0 && !h.trained:
		if h.ntotal != 0 {
			return nil, d.corrupt("%s is not trained but holds %d vectors", what, h.ntotal)
		}
	default:
		return nil, d.corrupt("%s: %d lists, the quantizer holds %d centroids (trained: %v)", what, nlist, q.h.ntotal, h.trained)
	}
	if nprobe == 0 {
		return nil, d.corrupt("%s: nprobe is 0", what)
	}
	return x, nil
}

// directMap skips an IVF's direct map (kume builds its own id map on demand).
func (d *decoder) directMap() {
	t := d.u8()
	if t > 2 {
		d.corrupt("direct map type %d", t)
		return
	}
	d.skipVector("direct map array", 8)
	if t == 2 {
		d.skipVector("direct map hashtable", 16)
	}
}

// newIVF builds the kume index for an IVF header, with the stored nprobe.
func (h *ivfHeader) newIVF(codec ivf.Codec) (*ivf.Index, error) {
	var x *ivf.Index
	var err error
	if h.hq != nil {
		q, qerr := h.hq.build(nil)
		if qerr != nil {
			return nil, qerr
		}
		x, err = ivf.NewWithQuantizer(h.d, h.nlist, h.metric, codec, q)
	} else {
		x, err = ivf.New(h.d, h.nlist, h.metric, codec)
	}
	if err != nil {
		return nil, fmt.Errorf("faissio: %w", err)
	}
	if h.centroids != nil && h.hq == nil {
		if err := x.SetCentroids(h.centroids); err != nil {
			// NaN or infinite components: FAISS stores them, kume refuses them.
			return nil, fmt.Errorf("faissio: %w: coarse centroids: %w", kume.ErrUnsupported, err)
		}
	}
	// Probing more lists than there are is probing all of them.
	if err := x.SetNProbe(int(min(h.nprobe, uint64(h.nlist)))); err != nil {
		return nil, fmt.Errorf("faissio: %w", err)
	}
	return x, nil
}

// listSizes reads the sizes of an ArrayInvertedLists record ('full' or
// 'sprs') and checks that they sum to ntotal. With keep false (an untrained
// index, whose nlist no data backs) the sizes are checked but not kept.
func (d *decoder) listSizes(nlist int, ntotal int64, keep bool) ([]int, error) {
	lt := d.fourcc()
	if d.err != nil {
		return nil, d.err
	}
	var sizes []int
	switch lt {
	case tagListFull:
		n := d.count("inverted list sizes", 8)
		if n != nlist {
			return nil, d.corrupt("%d list sizes for %d lists", n, nlist)
		}
		v := d.int64s(nil, n)
		if d.err != nil {
			return nil, d.err
		}
		sizes = make([]int, nlist) // n == nlist values were read
		for i, s := range v {
			if s < 0 || s > ntotal {
				return nil, d.corrupt("list %d holds %d vectors, the index %d", i, uint64(s), ntotal)
			}
			sizes[i] = int(s)
		}
	case tagListSparse:
		n := d.count("sparse inverted list sizes", 8)
		if n%2 != 0 || n/2 > nlist {
			return nil, d.corrupt("%d values in the sparse list sizes of %d lists", n, nlist)
		}
		v := d.int64s(nil, n)
		if d.err != nil {
			return nil, d.err
		}
		if keep {
			sizes = make([]int, nlist) // nlist centroids were read
		}
		var sum int64
		prev := int64(-1)
		for j := 0; j < n; j += 2 {
			l, s := v[j], v[j+1]
			if l <= prev || l >= int64(nlist) {
				return nil, d.corrupt("sparse list sizes name list %d of %d after list %d (FAISS writes them in increasing order)", uint64(l), nlist, prev)
			}
			prev = l
			if s < 0 || s > ntotal {
				return nil, d.corrupt("list %d holds %d vectors, the index %d", l, uint64(s), ntotal)
			}
			if s > ntotal-sum {
				return nil, d.corrupt("the lists hold more than the %d vectors of the index", ntotal)
			}
			sum += s
			if keep {
				sizes[l] = int(s)
			}
		}
		if sum != ntotal {
			return nil, d.corrupt("the lists hold %d vectors, the index header says %d", sum, ntotal)
		}
		return sizes, nil
	default:
		return nil, d.corrupt("inverted list type '%s', want 'full' or 'sprs'", lt)
	}
	var sum int64
	for _, s := range sizes {
		if int64(s) > ntotal-sum {
			return nil, d.corrupt("the lists hold more than the %d vectors of the index", ntotal)
		}
		sum += int64(s)
	}
	if sum != ntotal {
		return nil, d.corrupt("the lists hold %d vectors, the index header says %d", sum, ntotal)
	}
	return sizes, nil
}

// ivfFlat reads IndexIVFFlat ('IwFl').
func (d *decoder) ivfFlat() (kume.Index, error) {
	h, err := d.ivfHeader("IndexIVFFlat")
	if err != nil {
		return nil, err
	}
	codec := ivf.NewFlatCodec(h.metric)
	x, err := h.newIVF(codec)
	if err != nil {
		return nil, err
	}
	it := d.fourcc()
	if d.err != nil {
		return nil, d.err
	}
	if it == tagInvNone {
		if h.ntotal != 0 {
			return nil, d.corrupt("IndexIVFFlat holds %d vectors but no inverted lists", h.ntotal)
		}
		if h.centroids == nil {
			if err := d.checkUntrainedNList("IndexIVFFlat", h.nlist); err != nil {
				return nil, err
			}
		}
		return x, nil
	}
	if it != tagInvArray {
		return nil, d.unsupportedTag(it, "IndexIVFFlat (kume reads 'ilar') with inverted lists")
	}
	nlist := d.u64()
	codeSize := d.u64()
	if d.err != nil {
		return nil, d.err
	}
	if nlist != uint64(h.nlist) || codeSize != uint64(4*h.d) {
		return nil, d.corrupt("IndexIVFFlat lists: nlist %d, code size %d; want %d and %d", nlist, codeSize, h.nlist, 4*h.d)
	}
	sizes, err := d.listSizes(h.nlist, h.ntotal, h.centroids != nil)
	if err != nil {
		return nil, err
	}
	if h.centroids == nil {
		if err := d.checkUntrainedNList("IndexIVFFlat", h.nlist); err != nil {
			return nil, err
		}
		return x, nil
	}
	err = x.LoadLists(func(lists *ivf.Lists) error {
		var vecs []float32
		var ids []int64
		for l, n := range sizes {
			if n == 0 {
				continue
			}
			nf := d.product("list vectors", int64(n), int64(h.d))
			d.checkBytes("inverted list", uint64(nf), 4)
			if vecs = d.float32s(vecs[:0], nf); d.err != nil {
				return d.err
			}
			if err := checkStored("IndexIVFFlat list", vecs, h.d); err != nil {
				return d.fail(fmt.Errorf("%w (list %d)", err, l))
			}
			d.checkBytes("inverted list ids", uint64(n), 8)
			if ids = d.int64s(ids[:0], n); d.err != nil {
				return d.err
			}
			if err := checkIDs(ids); err != nil {
				return d.corrupt("list %d: %v", l, err)
			}
			if err := lists.Add(l, vecs, ids); err != nil {
				return d.fail(fmt.Errorf("faissio: list %d: %w", l, err))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// ivfPQ reads IndexIVFPQ ('IwPQ') to the end and reports that kume cannot
// search it: kume has no 8-bit product quantizer yet.
func (d *decoder) ivfPQ(tag fourcc) (kume.Index, error) {
	if tag == tagIVFPQOld {
		return nil, fmt.Errorf("faissio: %w: legacy IndexIVFPQ record 'IvPQ' (written before FAISS 1.5)", kume.ErrUnsupported)
	}
	h, err := d.ivfHeader("IndexIVFPQ")
	if err != nil {
		return nil, err
	}
	byResidual := d.boolean("IndexIVFPQ by_residual")
	codeSize := d.u64()
	pq, err := d.pqRecord()
	if err != nil {
		return nil, err
	}
	if pq.d != h.d || codeSize != uint64(pq.codeSize()) {
		return nil, d.corrupt("IndexIVFPQ: d %d, code size %d; its PQ has d %d, M %d, nbits %d", h.d, codeSize, pq.d, pq.m, pq.nbits)
	}
	it := d.fourcc()
	if d.err != nil {
		return nil, d.err
	}
	switch it {
	case tagInvNone:
	case tagInvArray:
		nlist := d.u64()
		cs := d.u64()
		if d.err != nil {
			return nil, d.err
		}
		if nlist != uint64(h.nlist) || cs != codeSize {
			return nil, d.corrupt("IndexIVFPQ lists: nlist %d, code size %d; want %d and %d", nlist, cs, h.nlist, codeSize)
		}
		sizes, err := d.listSizes(h.nlist, h.ntotal, h.centroids != nil)
		if err != nil {
			return nil, err
		}
		for _, n := range sizes {
			d.skip(d.checkBytes("inverted list", uint64(n), int(codeSize)+8))
		}
		if d.err != nil {
			return nil, d.err
		}
	default:
		return nil, d.unsupportedTag(it, "IndexIVFPQ with inverted lists")
	}
	return nil, d.fail(fmt.Errorf("faissio: %w: IndexIVFPQ ('IwPQ': %d-d %v, %d vectors, nlist %d, nprobe %d, PQ M %d x %d bits, by_residual %v) was read, but kume cannot search %d-bit product-quantized codes yet; only 4-bit fast-scan PQ ('PQ{M}x4fs')",
		kume.ErrUnsupported, h.d, h.metric, h.ntotal, h.nlist, h.nprobe, pq.m, pq.nbits, byResidual, pq.nbits))
}

// pqData is a ProductQuantizer record.
type pqData struct {
	d, m, nbits int
	centroids   []float32 // d * 2^nbits floats
}

func (p *pqData) ksub() int     { return 1 << p.nbits }
func (p *pqData) codeSize() int { return (p.m*p.nbits + 7) / 8 }

func (d *decoder) pqRecord() (*pqData, error) {
	pd := d.u64()
	m := d.u64()
	nbits := d.u64()
	if d.err != nil {
		return nil, d.err
	}
	if pd == 0 || pd > maxDim || m == 0 || m > pd || pd%m != 0 || nbits == 0 || nbits > 24 {
		return nil, d.corrupt("ProductQuantizer d %d, M %d, nbits %d", pd, m, nbits)
	}
	p := &pqData{d: int(pd), m: int(m), nbits: int(nbits)}
	want := d.product("PQ centroids", int64(pd), int64(p.ksub()))
	if n := d.u64(); n != uint64(want) {
		return nil, d.corrupt("ProductQuantizer has %d centroid floats, want d %d x %d", n, pd, p.ksub())
	}
	d.checkBytes("PQ centroids", uint64(want), 4)
	if p.centroids = d.float32s(nil, want); d.err != nil {
		return nil, d.err
	}
	return p, nil
}

// writeIVF writes an *ivf.Index whose codec kume knows how to store.
func (e *encoder) ivf(x *ivf.Index) error {
	switch c := x.Codec().(type) {
	case *ivf.FlatCodec:
		return e.ivfFlat(x, c)
	case *ivfpqfs.Codec:
		return e.ivfFastScan(x, c)
	}
	return fmt.Errorf("faissio: %w: writing an IVF index with a %T list codec", kume.ErrUnsupported, x.Codec())
}

func (e *encoder) ivfHeader(x *ivf.Index) {
	trained := x.IsTrained()
	e.header(x.Dim(), int64(x.Len()), trained, x.Metric())
	e.u64(uint64(x.NList()))
	e.u64(uint64(x.NProbe()))
	if q, ok := x.Quantizer().(*hnsw.Index); ok {
		_ = e.hnswFlat(q, false)
		e.u8(0) // no direct map
		e.u64(0)
		return
	}
	q := x.Quantizer()
	cent, _ := q.Vectors()
	tag := tagFlatL2
	if x.Metric() == metric.InnerProduct {
		tag = tagFlatIP
	}
	e.fourcc(tag)
	e.header(x.Dim(), int64(len(cent)/x.Dim()), true, x.Metric())
	e.f32Vector(cent)
	e.u8(0) // no direct map
	e.u64(0)
}

func (e *encoder) ivfFlat(x *ivf.Index, c *ivf.FlatCodec) error {
	e.fourcc(tagIVFFlat)
	e.ivfHeader(x)
	if !x.IsTrained() {
		// No lists exist yet: FAISS writes an empty sparse record.
		e.fourcc(tagInvArray)
		e.u64(uint64(x.NList()))
		e.u64(uint64(4 * x.Dim()))
		e.fourcc(tagListSparse)
		e.u64(0)
		return e.err
	}
	sizes := x.ListSizes()
	e.arrayListsHeader(sizes, 4*x.Dim())
	for l, n := range sizes {
		if n == 0 {
			continue
		}
		e.float32s(x.Lists().Codes(l).(*ivf.FlatCodes).Vectors())
		e.int64s(e.listIDs(x.Lists().IDs(l)))
	}
	return e.err
}

// arrayListsHeader writes an 'ilar' record up to the list data, choosing
// 'full' or 'sprs' as FAISS does: full when more than half the lists are
// non-empty.
func (e *encoder) arrayListsHeader(sizes []int, codeSize int) {
	e.fourcc(tagInvArray)
	e.u64(uint64(len(sizes)))
	e.u64(uint64(codeSize))
	nonEmpty := 0
	for _, n := range sizes {
		if n > 0 {
			nonEmpty++
		}
	}
	if nonEmpty > len(sizes)/2 {
		e.fourcc(tagListFull)
		e.u64(uint64(len(sizes)))
		for _, n := range sizes {
			e.u64(uint64(n))
		}
		return
	}
	e.fourcc(tagListSparse)
	e.u64(uint64(2 * nonEmpty))
	for l, n := range sizes {
		if n > 0 {
			e.u64(uint64(l))
			e.u64(uint64(n))
		}
	}
}
