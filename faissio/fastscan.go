package faissio

import (
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/ivf/ivfpqfs"
	"github.com/kume-ann/kume/pq"
)

// The 4-bit PQ fast-scan records: IndexPQFastScan ('IPfs') and
// IndexIVFPQFastScan ('IwPf', with BlockInvertedLists 'ilbl'). Their codes
// are stored already packed in FAISS's block layout (32 vectors per block),
// which kume's fastscan package uses as it is.

// pqFastScanData is a decoded IndexPQFastScan record.
type pqFastScanData struct {
	h       header
	pq      *pqData
	implem  int32
	bbs     int
	qbs     int32
	ntotal2 int
	m2      int
	codes   []byte // packed, ntotal2*m2/2 bytes
}

// ivfFastScanData is a decoded IndexIVFPQFastScan record.
type ivfFastScanData struct {
	ivf        *ivfHeader
	byResidual bool
	implem     int32
	bbs        int
	qbs2       uint64
	m2         int
	pq         *pqData
	ids        [][]int64 // per list
	codes      [][]byte  // per list, packed, ceil(n/bbs)*bbs*m2/2 bytes
}

func init() {
	fastScanReaders[tagPQFastScan] = func(d *decoder) (kume.Index, error) {
		r, err := d.pqFastScan()
		if err != nil {
			return nil, err
		}
		return r.build(nil)
	}
	fastScanReaders[tagIVFPQFS] = func(d *decoder) (kume.Index, error) {
		r, err := d.ivfFastScan()
		if err != nil {
			return nil, err
		}
		return r.build()
	}
}

// quantizer restores the product quantizer of a trained index.
func (p *pqData) quantizer() (*pq.Quantizer, error) {
	q, err := pq.FromCentroids(p.d, p.m, p.centroids)
	if err != nil {
		// NaN or infinite centroids: FAISS stores them, kume refuses them.
		return nil, fmt.Errorf("faissio: %w: PQ centroids: %w", kume.ErrUnsupported, err)
	}
	return q, nil
}

// build turns an IndexPQFastScan record into a *fastscan.Index, with the
// given ids (nil: ids 0..n-1).
func (r *pqFastScanData) build(ids []int64) (*fastscan.Index, error) {
	if !r.h.trained {
		if r.h.ntotal != 0 {
			return nil, fmt.Errorf("faissio: %w: IndexPQFastScan is not trained but holds %d vectors", kume.ErrCorrupt, r.h.ntotal)
		}
		x, err := fastscan.NewPQ(r.h.d, r.pq.m, r.h.metric)
		if err != nil {
			return nil, fmt.Errorf("faissio: %w", err)
		}
		return x, nil
	}
	q, err := r.pq.quantizer()
	if err != nil {
		return nil, err
	}
	n := int(r.h.ntotal)
	x, err := fastscan.FromParts(q, r.h.metric, n, blocksOf32(r.codes, n, r.m2, r.bbs), ids)
	if err != nil {
		return nil, fmt.Errorf("faissio: %w", err)
	}
	return x, nil
}

// build turns an IndexIVFPQFastScan record into an *ivf.Index with the
// fast-scan codec.
func (r *ivfFastScanData) build() (*ivf.Index, error) {
	codec, err := ivfpqfs.New(r.ivf.d, r.pq.m, r.ivf.metric, r.byResidual)
	if err != nil {
		return nil, fmt.Errorf("faissio: %w", err)
	}
	trained := r.ivf.centroids != nil && r.ivf.trained
	if trained {
		q, err := r.pq.quantizer()
		if err != nil {
			return nil, err
		}
		if err := codec.SetQuantizer(q); err != nil {
			return nil, fmt.Errorf("faissio: %w", err)
		}
	} else if r.ivf.ntotal != 0 {
		return nil, fmt.Errorf("faissio: %w: IndexIVFPQFastScan is not trained but holds %d vectors", kume.ErrCorrupt, r.ivf.ntotal)
	}
	x, err := r.ivf.newIVF(codec)
	if err != nil {
		return nil, err
	}
	if !trained || r.ids == nil {
		return x, nil
	}
	err = x.LoadLists(func(lists *ivf.Lists) error {
		for l, ids := range r.ids {
			if len(ids) == 0 {
				continue
			}
			codes, err := codec.NewPacked(l, blocksOf32(r.codes[l], len(ids), r.m2, r.bbs), len(ids))
			if err == nil {
				err = lists.Set(l, ids, codes)
			}
			if err != nil {
				return fmt.Errorf("faissio: list %d: %w", l, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// blocksOf32 converts n codes packed in blocks of bbs vectors into kume's
// blocks of 32. A block of bbs vectors stores, for each pair of
// sub-quantizers, the 32-byte groups of its bbs/32 sub-blocks one after the
// other; a block of 32 is the special case of one sub-block. Padding
// sub-blocks past the last code are dropped.
func blocksOf32(codes []byte, n, m2, bbs int) []byte {
	if bbs == fastscan.BlockSize {
		return codes
	}
	sub := bbs / fastscan.BlockSize
	pairs := m2 / 2
	bb := fastscan.BlockSize / 2 * m2 // bytes of a block of 32
	out := make([]byte, fastscan.Blocks(n)*bb)
	for t := 0; t < fastscan.Blocks(n); t++ {
		big, j := t/sub, t%sub
		src := codes[big*sub*bb:]
		for p := 0; p < pairs; p++ {
			copy(out[t*bb+32*p:t*bb+32*p+32], src[(p*sub+j)*32:])
		}
	}
	return out
}

// writeFastScan writes a flat fast-scan index as IndexPQFastScan, wrapped in
// an IndexIDMap when its ids are not 0..n-1.
func (e *encoder) fastScan(x *fastscan.Index) error {
	n, packed, ids := x.Packed()
	ids = e.mapIDs(ids, n)
	if ids != nil {
		e.fourcc(tagIDMap)
		e.header(x.Dim(), int64(n), true, x.Metric())
	}
	trained := x.IsTrained()
	e.fourcc(tagPQFastScan)
	e.header(x.Dim(), int64(n), trained, x.Metric())
	e.pq(x.Quantizer())
	e.i32(0)                                               // implem: FAISS chooses
	e.i32(fastscan.BlockSize)                              // bbs
	e.i32(0)                                               // qbs: FAISS chooses
	e.u64(uint64(fastscan.Blocks(n) * fastscan.BlockSize)) // ntotal2
	e.u64(uint64(fastscan.M2(x.M())))
	e.byteVector(packed)
	if ids != nil {
		e.i64Vector(ids)
	}
	return e.err
}

// pq writes a ProductQuantizer record; an untrained quantizer is written
// with zero centroids, as FAISS holds them before training.
func (e *encoder) pq(q *pq.Quantizer) {
	e.u64(uint64(q.D()))
	e.u64(uint64(q.M()))
	e.u64(4)
	c := q.Centroids()
	if c == nil {
		c = make([]float32, q.D()*pq.KSub)
	}
	e.f32Vector(c)
}

// ivfFastScan writes IndexIVFPQFastScan with block inverted lists.
func (e *encoder) ivfFastScan(x *ivf.Index, c *ivfpqfs.Codec) error {
	m2 := fastscan.M2(c.M())
	e.fourcc(tagIVFPQFS)
	e.ivfHeader(x)
	e.boolean(c.ByResidual())
	e.u64(uint64(c.Quantizer().CodeSize()))
	e.i32(fastscan.BlockSize) // bbs
	e.u64(uint64(m2))
	e.i32(0) // implem: FAISS chooses
	e.u64(0) // qbs2: FAISS chooses
	e.pq(c.Quantizer())
	e.fourcc(tagInvBlock)
	e.u64(uint64(x.NList()))
	e.u64(^uint64(0)) // code size: not used by block lists
	e.u64(fastscan.BlockSize)
	e.u64(uint64(fastscan.BlockBytes(c.M())))
	trained := x.IsTrained()
	for l := 0; l < x.NList(); l++ {
		if !trained {
			e.u64(0)
			e.u64(0)
			continue
		}
		e.i64Vector(e.listIDs(x.Lists().IDs(l)))
		e.byteVector(x.Lists().Codes(l).(*ivfpqfs.Codes).Packed())
	}
	return e.err
}

// checkFastScan checks the fields FAISS's reader checks: 4-bit codes, a
// block size that is a positive multiple of 32, M2 = M rounded up to even.
func (d *decoder) checkFastScan(what string, pq *pqData, bbs int32, m2 uint64) error {
	if pq.nbits != 4 {
		return d.corrupt("%s: PQ with %d-bit codes, fast scan needs 4", what, pq.nbits)
	}
	if bbs <= 0 || bbs%32 != 0 {
		return d.corrupt("%s: block size %d is not a positive multiple of 32", what, bbs)
	}
	if m2 != uint64((pq.m+1)&^1) {
		return d.corrupt("%s: M2 %d for M %d", what, m2, pq.m)
	}
	return nil
}

func (d *decoder) pqFastScan() (*pqFastScanData, error) {
	const what = "IndexPQFastScan"
	h, err := d.header(what)
	if err != nil {
		return nil, err
	}
	pq, err := d.pqRecord()
	if err != nil {
		return nil, err
	}
	if pq.d != h.d {
		return nil, d.corrupt("%s is %d-d, its PQ %d-d", what, h.d, pq.d)
	}
	r := &pqFastScanData{h: h, pq: pq}
	r.implem = d.i32()
	bbs := d.i32()
	if r.qbs = d.i32(); r.qbs < 0 {
		return nil, d.corrupt("%s: qbs %d", what, r.qbs)
	}
	ntotal2 := d.u64()
	m2 := d.u64()
	if d.err != nil {
		return nil, d.err
	}
	if err := d.checkFastScan(what, pq, bbs, m2); err != nil {
		return nil, err
	}
	r.bbs, r.m2 = int(bbs), int(m2)
	blocks := (uint64(h.ntotal) + uint64(bbs) - 1) / uint64(bbs)
	if ntotal2 != blocks*uint64(bbs) {
		return nil, d.corrupt("%s: ntotal2 %d for %d vectors in blocks of %d", what, ntotal2, h.ntotal, bbs)
	}
	r.ntotal2 = int(ntotal2)
	want := d.product("packed codes", int64(ntotal2), int64(m2/2))
	if n := d.count("packed codes", 1); n != want {
		return nil, d.corrupt("%s: %d bytes of packed codes, want %d", what, n, want)
	}
	if r.codes = d.bytes(nil, want); d.err != nil {
		return nil, d.err
	}
	return r, nil
}

func (d *decoder) ivfFastScan() (*ivfFastScanData, error) {
	const what = "IndexIVFPQFastScan"
	h, err := d.ivfHeader(what)
	if err != nil {
		return nil, err
	}
	r := &ivfFastScanData{ivf: h}
	r.byResidual = d.boolean(what + " by_residual")
	codeSize := d.u64()
	bbs := d.i32()
	m2 := d.u64()
	r.implem = d.i32()
	r.qbs2 = d.u64()
	if r.pq, err = d.pqRecord(); err != nil {
		return nil, err
	}
	if r.pq.d != h.d || codeSize != uint64(r.pq.codeSize()) {
		return nil, d.corrupt("%s: d %d, code size %d; its PQ has d %d, M %d", what, h.d, codeSize, r.pq.d, r.pq.m)
	}
	if err := d.checkFastScan(what, r.pq, bbs, m2); err != nil {
		return nil, err
	}
	r.bbs, r.m2 = int(bbs), int(m2)
	it := d.fourcc()
	if d.err != nil {
		return nil, d.err
	}
	if it == tagInvNone {
		if h.ntotal != 0 {
			return nil, d.corrupt("%s holds %d vectors but no inverted lists", what, h.ntotal)
		}
		if h.centroids == nil {
			if err := d.checkUntrainedNList(what, h.nlist); err != nil {
				return nil, err
			}
		}
		return r, nil
	}
	if it != tagInvBlock {
		return nil, d.unsupportedTag(it, "%s (kume reads 'ilbl') with inverted lists", what)
	}
	var f [4]uint64 // nlist, code_size, n_per_block, block_size
	for i := range f {
		f[i] = d.u64()
	}
	if d.err != nil {
		return nil, d.err
	}
	blockSize := uint64(r.bbs * r.m2 / 2)
	if f[0] != uint64(h.nlist) || f[1] != ^uint64(0) || f[2] != uint64(r.bbs) || f[3] != blockSize {
		return nil, d.corrupt("%s block lists: nlist %d, code size %#x, %d per block, block size %d; want %d, all ones, %d, %d",
			what, f[0], f[1], f[2], f[3], h.nlist, r.bbs, blockSize)
	}
	keep := h.centroids != nil
	if keep {
		r.ids = make([][]int64, h.nlist) // nlist centroids were read
		r.codes = make([][]byte, h.nlist)
	}
	var sum int64
	for l := 0; l < h.nlist; l++ {
		ids := d.i64Vector("list ids")
		if d.err != nil {
			return nil, d.err
		}
		if int64(len(ids)) > h.ntotal-sum {
			return nil, d.corrupt("%s: the lists hold more than the %d vectors of the index", what, h.ntotal)
		}
		sum += int64(len(ids))
		if err := checkIDs(ids); err != nil {
			return nil, d.corrupt("%s list %d: %v", what, l, err)
		}
		blocks := (len(ids) + r.bbs - 1) / r.bbs
		want := d.product("list codes", int64(blocks), int64(blockSize))
		if n := d.count("list codes", 1); n != want {
			return nil, d.corrupt("%s list %d: %d bytes of codes for %d vectors, want %d", what, l, n, len(ids), want)
		}
		codes := d.bytes(nil, want)
		if d.err != nil {
			return nil, d.err
		}
		if keep {
			r.ids[l], r.codes[l] = ids, codes
		}
	}
	if sum != h.ntotal {
		return nil, d.corrupt("%s: the lists hold %d vectors, the index header says %d", what, sum, h.ntotal)
	}
	if !keep {
		if err := d.checkUntrainedNList(what, h.nlist); err != nil {
			return nil, err
		}
	}
	return r, nil
}
