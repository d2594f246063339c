package fastscan

import (
	"math"
	"math/bits"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/topk"
)

// batchBlocks is how many blocks one kernel call scans: the threshold is
// lowered between calls, and each call does bounded work.
const batchBlocks = 64

// Scanner is the per-goroutine scratch of block scans: the kernels' sums
// and masks, a filter, and the range scratch of table quantization. Both
// the flat index and the inverted-list codec (package ivf/ivfpqfs) scan their blocks with it.
type Scanner struct {
	sums  []uint16
	masks []uint32
	thr   []uint16
	rs    rangeScratch

	// A filter: masker when it tells blocks apart (kume.IDMasker), else
	// lane, asked about each vector that would enter the results.
	masker kume.IDFilter
	lane   kume.IDFilter
	allow  []uint32 // the masker's mask of each block of a batch
	spans  []span   // runs of blocks with something allowed
	base   int64    // the id of position 0 when a scan's ids are positions
}

// NewScanner returns an empty scanner.
func NewScanner() *Scanner {
	return &Scanner{sums: make([]uint16, batchBlocks*BlockSize), masks: make([]uint32, batchBlocks), thr: make([]uint16, 1)}
}

// span is a run of blocks [b0, b1).
type span struct{ b0, b1 int }

// SetFilter makes the following scans return only ids f contains: blocks
// whose ids a kume.IDMasker excludes are not scanned, other filters are
// asked about each vector that would enter the results; nil lifts the
// restriction.
func (st *Scanner) SetFilter(f kume.IDFilter) {
	st.masker, st.lane = nil, nil
	if f == nil {
		return
	}
	if _, ok := f.(kume.IDMasker); ok {
		st.masker = f
	} else {
		st.lane = f
	}
}

// runs returns the runs of blocks among b0..b1-1, of a list of n codes with
// ids (nil: the codes' positions), that hold an id the filter allows: the
// whole range without a masking filter. With one, st.allow[b-b0] is the
// mask of block b.
func (st *Scanner) runs(b0, b1, n int, ids []int64) []span {
	st.spans = st.spans[:0]
	if st.masker == nil {
		st.spans = append(st.spans, span{b0, b1})
		return st.spans
	}
	if cap(st.allow) < b1-b0 {
		st.allow = make([]uint32, batchBlocks)
	}
	allow := st.allow[:b1-b0]
	start := -1
	for b := b0; b < b1; b++ {
		i0 := b * BlockSize
		cnt := min(BlockSize, n-i0)
		var sub []int64
		if ids != nil {
			sub = ids[i0 : i0+cnt]
		}
		m := kume.FilterMask(st.masker, sub, st.base+int64(i0), cnt)
		allow[b-b0] = m
		switch {
		case m != 0 && start < 0:
			start = b
		case m == 0 && start >= 0:
			st.spans = append(st.spans, span{start, b})
			start = -1
		}
	}
	if start >= 0 {
		st.spans = append(st.spans, span{start, b1})
	}
	return st.spans
}

// restrict clears in masks (those of the blocks of run r, in a batch that
// starts at block b0) the vectors the masking filter excludes.
func (st *Scanner) restrict(masks []uint32, r span, b0 int) {
	if st.masker == nil {
		return
	}
	allow := st.allow[r.b0-b0 : r.b1-b0]
	for i := range masks {
		masks[i] &= allow[i]
	}
}

// Scan scans n packed codes (FAISS's blocks of m2 sub-quantizers; ids, or
// the positions when nil) for g = len(heaps) queries at once: query j has
// the quantized table luts[j*KSub*m2:(j+1)*KSub*m2], the list bias bias[j] and
// the heap heaps[j], and every code whose key, sum + bias[j], beats the
// heap's threshold is pushed with its id. Each batch of blocks is loaded
// once for all g queries (asm.LUT4ScanMulti; asm.LUT4Scan for one), each
// query against its own threshold; the scan stops when no query can take
// anything more.
func (st *Scanner) Scan(packed []byte, n, m2 int, ids []int64, luts []byte, bias []uint16, heaps []*topk.Heap) {
	st.scan(packed, n, m2, ids, luts, bias, heaps, nil)
}

// ScanReservoirs is Scan with a reservoir per query instead of a heap:
// for queries that take many codes (a few dozen best of thousands), pushes
// cost less. The codes kept are those Scan keeps.
func (st *Scanner) ScanReservoirs(packed []byte, n, m2 int, ids []int64, luts []byte, bias []uint16, res []*topk.Reservoir) {
	st.scan(packed, n, m2, ids, luts, bias, nil, res)
}

// scan is Scan for heaps, or for reservoirs when heaps is nil.
func (st *Scanner) scan(packed []byte, n, m2 int, ids []int64, luts []byte, bias []uint16, heaps []*topk.Heap, res []*topk.Reservoir) {
	g := len(heaps)
	if heaps == nil {
		g = len(res)
	}
	bb, lb := BlockSize/2*m2, KSub*m2
	if len(st.thr) < g {
		st.thr = make([]uint16, g)
		st.sums = make([]uint16, g*batchBlocks*BlockSize)
		st.masks = make([]uint32, g*batchBlocks)
	}
	thr := st.thr[:g]
	nb := Blocks(n)
	for b0 := 0; b0 < nb; b0 += batchBlocks {
		b1 := min(b0+batchBlocks, nb)
		open := false
		for j := range thr {
			if heaps != nil {
				thr[j] = kernelThreshold(heaps[j].Threshold(), bias[j])
			} else {
				thr[j] = kernelThreshold(res[j].Threshold(), bias[j])
			}
			open = open || thr[j] != 0
		}
		if !open {
			return // nothing more can enter any query's top k
		}
		for _, r := range st.runs(b0, b1, n, ids) {
			nbb := r.b1 - r.b0
			sums, masks := st.sums[:g*nbb*BlockSize], st.masks[:g*nbb]
			if g == 1 {
				asm.LUT4Scan(sums, masks, packed[r.b0*bb:r.b1*bb], m2, luts[:lb], thr[0])
			} else {
				asm.LUT4ScanMulti(sums, masks, packed[r.b0*bb:r.b1*bb], m2, luts[:g*lb], thr)
			}
			for j := range thr {
				qm := masks[j*nbb : (j+1)*nbb]
				st.restrict(qm, r, b0)
				qs := sums[j*nbb*BlockSize : (j+1)*nbb*BlockSize]
				if heaps != nil {
					collect(heaps[j], qs, qm, r.b0, n, bias[j], ids, st.lane)
				} else {
					collectRes(res[j], qs, qm, r.b0, n, bias[j], ids, st.lane)
				}
			}
		}
	}
}

// collect pushes into h the vectors of blocks b0, b0+1, ... whose bit is set
// in masks and whose key, sum + biasq, beats h's threshold, and, when lane is
// not nil, whose id it contains. n is the number of vectors of the whole
// list: the padding of its last block is ignored.
func collect(h *topk.Heap, sums []uint16, masks []uint32, b0, n int, biasq uint16, ids []int64, lane kume.IDFilter) {
	if last := n - (b0+len(masks)-1)*BlockSize; last < BlockSize {
		masks[len(masks)-1] &= 1<<last - 1 // padding vectors of the last block
	}
	for bi, mask := range masks {
		for mask != 0 {
			v := bits.TrailingZeros32(mask)
			mask &= mask - 1
			i := (b0+bi)*BlockSize + v
			key := float32(uint32(sums[bi*BlockSize+v]) + uint32(biasq))
			if key <= h.Threshold() {
				id := int64(i)
				if ids != nil {
					id = ids[i]
				}
				if lane != nil && !lane.Contains(id) {
					continue
				}
				h.Push(key, id)
			}
		}
	}
}

// collectRes is collect into a reservoir.
func collectRes(r *topk.Reservoir, sums []uint16, masks []uint32, b0, n int, biasq uint16, ids []int64, lane kume.IDFilter) {
	if last := n - (b0+len(masks)-1)*BlockSize; last < BlockSize {
		masks[len(masks)-1] &= 1<<last - 1 // padding vectors of the last block
	}
	for bi, mask := range masks {
		for mask != 0 {
			v := bits.TrailingZeros32(mask)
			mask &= mask - 1
			i := (b0+bi)*BlockSize + v
			key := float32(uint32(sums[bi*BlockSize+v]) + uint32(biasq))
			if key <= r.Threshold() {
				id := int64(i)
				if ids != nil {
					id = ids[i]
				}
				if lane != nil && !lane.Contains(id) {
					continue
				}
				r.Push(key, id)
			}
		}
	}
}

// kernelThreshold is the bound the kernel tests sums against (sum <
// threshold): one more than the heap's threshold t less the list's bias, so
// that a sum equal to the heap's worst key still reaches the heap, which
// breaks the tie by id; 0 when nothing can enter.
func kernelThreshold(t float32, biasq uint16) uint16 {
	if math.IsInf(float64(t), 1) {
		return math.MaxUint16
	}
	if t < float32(biasq) {
		return 0
	}
	return uint16(min(t-float32(biasq)+1, math.MaxUint16))
}

// Finish sorts the heap h and converts its integer keys into the distances
// dist (h's slots) with the query's scale a and offset b. For inner product
// the keys are top minus the quantized score (see Complement): scores are
// recovered from top - key, and empty slots get -Inf.
func Finish(h *topk.Heap, dist []float32, a, b float32, ip bool, top uint32) {
	Distances(dist, h.Finish(false), a, b, ip, top)
}

// Distances converts the n sorted integer keys at the start of dist into
// distances, as Finish does, and gives the slots after them the metric's
// worst distance (+Inf, or -Inf for inner product).
func Distances(dist []float32, n int, a, b float32, ip bool, top uint32) {
	for i := range dist {
		switch {
		case i >= n && ip:
			dist[i] = float32(math.Inf(-1))
		case i >= n:
			dist[i] = float32(math.Inf(1))
		case ip:
			dist[i] = distance(float32(top)-dist[i], a, b)
		default:
			dist[i] = distance(dist[i], a, b)
		}
	}
}

// Complement replaces each entry e of the first m rows of a quantized table
// by rowmax - e, where rowmax is the largest entry of its row, and returns
// the sum of the row maxima, top: for any codes the complemented sum is top
// minus the original one, so the scan, which keeps the smallest sums, keeps
// the largest inner products. FAISS quantizes inner-product tables as they
// are and keeps the largest sums; complementing after quantization gives
// exactly its values, within the same 16-bit range as its sums.
func Complement(lut []byte, m int) uint32 {
	var top uint32
	for s := 0; s < m; s++ {
		row := lut[s*KSub : (s+1)*KSub]
		hi := row[0]
		for _, e := range row[1:] {
			hi = max(hi, e)
		}
		for i, e := range row {
			row[i] = hi - e
		}
		top += uint32(hi)
	}
	return top
}
