package fastscan

import (
	"context"
	"fmt"
	"sync"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/batch"
	"github.com/kume-ann/kume/internal/check"
	"github.com/kume-ann/kume/internal/parallel"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/kmeans"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/pq"
)

// Index is the flat fast-scan index "PQ{M}x4fs": every vector is stored as a
// 4-bit PQ code in FAISS's packed blocks and every query scans all of them.
// Results are FAISS's quantized distance estimates; wrap the index with
// RFlat to re-rank them exactly.
type Index struct {
	d, m int
	mt   metric.Metric
	pq   *pq.Quantizer

	// KMeans configures the training of the sub-quantizers (logger,
	// progress); zero fields take FAISS's defaults.
	KMeans kmeans.Config

	mu     sync.RWMutex
	ntotal int
	packed []byte
	ids    []int64 // nil while every id is its position
	next   int64   // the id of the next Add (see NextID)

	states sync.Pool
}

// NewPQ returns an untrained "PQ{m}x4fs" index for d-dimensional vectors.
func NewPQ(d, m int, mt metric.Metric) (*Index, error) {
	if !mt.Valid() {
		return nil, fmt.Errorf("fastscan: %w: metric %v", kume.ErrUnsupported, mt)
	}
	q, err := pq.New(d, m)
	if err != nil {
		return nil, fmt.Errorf("fastscan: %w", err)
	}
	return &Index{d: d, m: m, mt: mt, pq: q}, nil
}

// FromParts rebuilds a trained index from a quantizer and n packed codes
// (Blocks(n) blocks of BlockBytes(M) bytes, FAISS's layout), as a file holds
// them. ids may be nil (ids 0..n-1).
func FromParts(q *pq.Quantizer, mt metric.Metric, n int, packed []byte, ids []int64) (*Index, error) {
	x, err := NewPQ(q.D(), q.M(), mt)
	if err != nil {
		return nil, err
	}
	if !q.IsTrained() {
		return nil, fmt.Errorf("fastscan: %w: untrained quantizer", kume.ErrNotTrained)
	}
	if n < 0 || len(packed) != Blocks(n)*BlockBytes(q.M()) || (ids != nil && len(ids) != n) {
		return nil, fmt.Errorf("fastscan: %w: %d packed bytes and %d ids for %d codes of M = %d", kume.ErrCorrupt, len(packed), len(ids), n, q.M())
	}
	x.pq, x.ntotal, x.packed, x.ids = q, n, packed, ids
	x.next = int64(n)
	if ids != nil {
		x.next = check.AfterIDs(0, ids)
	}
	return x, nil
}

// Dim returns the dimension.
func (x *Index) Dim() int { return x.d }

// M returns the number of sub-quantizers.
func (x *Index) M() int { return x.m }

// Metric returns the distance measure.
func (x *Index) Metric() metric.Metric { return x.mt }

// Quantizer returns the product quantizer.
func (x *Index) Quantizer() *pq.Quantizer { return x.pq }

// IsTrained reports whether the quantizer is trained.
func (x *Index) IsTrained() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.pq.IsTrained()
}

// Len returns the number of stored vectors.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ntotal
}

// Packed returns the number of codes, the packed blocks and the ids (nil when
// every id is its position). The slices must not be modified.
func (x *Index) Packed() (int, []byte, []int64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ntotal, x.packed, x.ids
}

// Train trains the product quantizer (16 centroids per sub-space, at most
// 4096 training vectors, 25 k-means iterations, as FAISS). An index that
// holds vectors refuses: their codes belong to the old quantizer.
func (x *Index) Train(ctx context.Context, v []float32) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ntotal > 0 {
		return fmt.Errorf("fastscan: %w: the index holds %d vectors encoded with its quantizer: Reset it before training again", kume.ErrInvalidArgument, x.ntotal)
	}
	if err := x.pq.Train(ctx, v, x.KMeans); err != nil {
		return fmt.Errorf("fastscan: %w", err)
	}
	return nil
}

// Add encodes vectors and appends them with ids NextID(), NextID()+1, ...
// An Add that fails (a cancelled context) leaves the index as it was.
func (x *Index) Add(ctx context.Context, v []float32) error { return x.add(ctx, v, nil) }

// NextID is the id Add gives the next vector: one more than the largest id
// the index ever held since it was created, loaded or Reset, so that no id
// is handed out twice, also after RemoveIDs; -1 when no id is left.
func (x *Index) NextID() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.next
}

// AddWithIDs encodes vectors and appends them with the given ids.
func (x *Index) AddWithIDs(ctx context.Context, v []float32, ids []int64) error {
	return x.add(ctx, v, check.Given(ids))
}

// encodeChunk is how many vectors are encoded between checks of the
// context.
const encodeChunk = 4096

// add stores v with ids, or with ids from NextID on when ids is nil.
func (x *Index) add(ctx context.Context, v []float32, ids []int64) error {
	n, err := check.Add(v, x.d, ids)
	if err != nil {
		return fmt.Errorf("fastscan: %w", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.pq.IsTrained() {
		return fmt.Errorf("fastscan: %w: train before adding vectors", kume.ErrNotTrained)
	}
	first := int64(0)
	if ids == nil {
		if first, err = check.NextIDs(x.next, n); err != nil {
			return fmt.Errorf("fastscan: %w", err)
		}
	}
	cs := x.pq.CodeSize()
	codes := make([]byte, n*cs)
	for c0 := 0; c0 < n; c0 += encodeChunk {
		if err := ctx.Err(); err != nil {
			return err // nothing stored yet
		}
		c1 := min(c0+encodeChunk, n)
		x.pq.Encode(codes[c0*cs:c1*cs], v[c0*x.d:c1*x.d])
	}
	// Ids stay implicit (positions) while they are.
	implicit := x.ids == nil
	if ids == nil {
		implicit = implicit && first == int64(x.ntotal)
	} else {
		for i, id := range ids {
			implicit = implicit && id == int64(x.ntotal+i)
		}
	}
	if !implicit && x.ids == nil {
		x.ids = make([]int64, x.ntotal, x.ntotal+n)
		for i := range x.ids {
			x.ids[i] = int64(i)
		}
	}
	if x.ids != nil {
		if ids == nil {
			for i := 0; i < n; i++ {
				x.ids = append(x.ids, first+int64(i))
			}
		} else {
			x.ids = append(x.ids, ids...)
		}
	}
	x.packed = AppendPacked(x.packed, codes, x.ntotal, n, x.m)
	x.ntotal += n
	if ids == nil {
		x.next = first + int64(n)
	} else {
		x.next = check.AfterIDs(x.next, ids)
	}
	return nil
}

// Reset removes every vector, keeping the quantizer.
func (x *Index) Reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.ntotal, x.packed, x.ids, x.next = 0, nil, nil, 0
}

// Reconstruct appends the decoded vector with the given id to dst.
func (x *Index) Reconstruct(id int64, dst []float32) ([]float32, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	pos := -1
	if x.ids == nil {
		if id >= 0 && id < int64(x.ntotal) {
			pos = int(id)
		}
	} else {
		for i, v := range x.ids {
			if v == id {
				pos = i
				break
			}
		}
	}
	if pos < 0 {
		return dst, fmt.Errorf("fastscan: %w: %d", kume.ErrNotFound, id)
	}
	return x.decode(pos, dst), nil
}

func (x *Index) decode(pos int, dst []float32) []float32 {
	code := make([]byte, x.pq.CodeSize())
	Unpack(code, x.packed, 1, x.m, pos)
	base := len(dst)
	dst = append(dst, make([]float32, x.d)...)
	x.pq.Decode(dst[base:], code)
	return dst
}

// ReconstructN appends the decoded vectors with ids i0 .. i0+n-1.
func (x *Index) ReconstructN(i0, n int64, dst []float32) ([]float32, error) {
	if err := check.IDRange(i0, n, x.Len()); err != nil {
		return dst, fmt.Errorf("fastscan: %w", err)
	}
	var err error
	for id := i0; id < i0+n && err == nil; id++ {
		dst, err = x.Reconstruct(id, dst)
	}
	return dst, err
}

// RemoveIDs removes the vectors whose ids are in ids; the others keep their
// order.
func (x *Index) RemoveIDs(ids []int64) (int, error) {
	drop := make(map[int64]bool, len(ids))
	for _, id := range ids {
		drop[id] = true
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var keep []int32
	for i := 0; i < x.ntotal; i++ {
		id := int64(i)
		if x.ids != nil {
			id = x.ids[i]
		}
		if !drop[id] {
			keep = append(keep, int32(i))
		}
	}
	removed := x.ntotal - len(keep)
	newIDs := make([]int64, len(keep))
	for j, i := range keep {
		newIDs[j] = int64(i)
		if x.ids != nil {
			newIDs[j] = x.ids[i]
		}
	}
	x.packed = KeepPacked(x.packed, x.ntotal, x.m, keep)
	x.ids, x.ntotal = newIDs, len(keep)
	return removed, nil
}

// Search returns the k best stored vectors of each query by FAISS's
// quantized estimate of the distance.
func (x *Index) Search(ctx context.Context, queries []float32, k int, p *kume.SearchParams) (*kume.Results, error) {
	return kume.SearchNew(ctx, x, queries, k, p)
}

// SearchInto is Search writing into dst.
func (x *Index) SearchInto(ctx context.Context, dst *kume.Results, queries []float32, k int, p *kume.SearchParams) error {
	return batch.Into(ctx, x, "fastscan", dst, queries, k, p)
}

// SearchChecked answers a batch checked by the public call that began it:
// SearchInto's, or that of an index wrapping this one.
func (x *Index) SearchChecked(ctx context.Context, b batch.Batch) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.pq.IsTrained() {
		return fmt.Errorf("fastscan: %w: train before searching", kume.ErrNotTrained)
	}
	return batch.Run(ctx, b, parallel.Grain(b.Dst.NQ, 4), x, (*Index).searchChunk)
}

func (x *Index) searchChunk(ctx context.Context, b batch.Batch, lo, hi int) error {
	return x.searchRange(ctx, b.Dst, b.Queries, b.K, lo, hi, b.Filter())
}

// flatState is the per-goroutine scratch of the flat index's search: the
// tables, heaps, scales and biases (all zero) of a group of queries scanned
// together.
type flatState struct {
	*Scanner
	table []float32
	luts  []byte
	heaps []topk.Heap
	hp    []*topk.Heap // &heaps[j]
	ab    []float32    // a, b per query
	tops  []uint32
	zero  []uint16 // the biases: the flat index has none
}

// QueryGroup is how many queries scan blocks together: each block's codes
// are loaded once per group (asm.LUT4ScanMulti).
const QueryGroup = 12

func (x *Index) searchRange(ctx context.Context, dst *kume.Results, queries []float32, k, lo, hi int, f kume.IDFilter) error {
	st := x.getState()
	defer x.putState(st)
	st.SetFilter(f)
	for g0 := lo; g0 < hi; g0 += QueryGroup {
		if err := ctx.Err(); err != nil {
			return err
		}
		x.searchGroup(st, dst, queries, g0, min(g0+QueryGroup, hi))
	}
	return nil
}

// tables builds and quantizes query q's table into lut; it returns the
// scale, offset and (for inner product) top of the quantized sums.
func (x *Index) tables(st *flatState, q []float32, lut []byte) (a, b float32, top uint32) {
	ip := x.mt == metric.InnerProduct
	if ip {
		x.pq.IPTables(st.table, q)
	} else {
		x.pq.L2Tables(st.table, q)
	}
	a, b = st.QuantizeTables(lut, nil, st.table, nil, 1, x.m, true)
	if ip {
		top = Complement(lut, x.m)
	}
	return a, b, top
}

// searchGroup answers queries g0..g1-1 together: each batch of blocks is
// scanned once for all of them, each query with its own table, threshold
// and heap.
func (x *Index) searchGroup(st *flatState, dst *kume.Results, queries []float32, g0, g1 int) {
	nq, m2 := g1-g0, M2(x.m)
	lb := LUTBytes(x.m)
	for j := 0; j < nq; j++ {
		i := g0 + j
		st.ab[2*j], st.ab[2*j+1], st.tops[j] = x.tables(st, queries[i*x.d:(i+1)*x.d], st.luts[j*lb:(j+1)*lb])
		dist, ids := dst.Row(i)
		st.heaps[j].Reset(dist, ids)
	}
	st.Scan(x.packed, x.ntotal, m2, x.ids, st.luts[:nq*lb], st.zero[:nq], st.hp[:nq])
	ip := x.mt == metric.InnerProduct
	for j := 0; j < nq; j++ {
		dist, _ := dst.Row(g0 + j)
		Finish(&st.heaps[j], dist, st.ab[2*j], st.ab[2*j+1], ip, st.tops[j])
	}
}

func (x *Index) getState() *flatState {
	st, _ := x.states.Get().(*flatState)
	if st == nil {
		st = &flatState{
			Scanner: NewScanner(),
			table:   make([]float32, x.m*KSub),
			luts:    make([]byte, QueryGroup*LUTBytes(x.m)),
			heaps:   make([]topk.Heap, QueryGroup),
			hp:      make([]*topk.Heap, QueryGroup),
			ab:      make([]float32, 2*QueryGroup),
			tops:    make([]uint32, QueryGroup),
			zero:    make([]uint16, QueryGroup),
		}
		for j := range st.heaps {
			st.hp[j] = &st.heaps[j]
		}
	}
	return st
}

// putState returns st to the pool, without its filter.
func (x *Index) putState(st *flatState) {
	st.SetFilter(nil)
	x.states.Put(st)
}
