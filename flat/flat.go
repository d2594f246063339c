// Package flat implements the exact index ("Flat" in a factory string): it
// stores the vectors as they are and compares a query with every one of them.
//
// It is the ground truth every approximate index is measured against, the
// coarse quantizer of IVF indexes, and the store that RFlat re-ranks with.
package flat

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/batch"
	"github.com/kume-ann/kume/internal/check"
	"github.com/kume-ann/kume/internal/exact"
	"github.com/kume-ann/kume/internal/pruned"
	"github.com/kume-ann/kume/internal/rangeres"
	"github.com/kume-ann/kume/internal/rows"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/metric"
)

const (
	// rowBlock is how many stored vectors one query is compared with per
	// kernel call on the one-query path.
	rowBlock = 1024
	// tileQueries and tileRows shape the many-to-many blocks of the batch
	// path: tileQueries queries against tileRows stored vectors per call.
	tileQueries = 256
	tileRows    = 512
	// minTileQueries is the smallest group of queries that takes the tiled
	// path. Below it the tiled kernel's packing does not pay for itself.
	minTileQueries = 8
	// prunedGrain is how many queries one goroutine takes on the pruned
	// path.
	prunedGrain = 64
	// cancelRows is how many stored vectors one query is compared with
	// between checks of its context (a few milliseconds of work).
	cancelRows = 16 * rowBlock
)

// Index is an exact nearest-neighbour index. The zero value is not usable;
// create one with New.
type Index struct {
	d int
	m metric.Metric

	mu    sync.RWMutex
	data  []float32 // len = n*d
	norms []float32 // squared norms of the rows, for L2 batches
	ids   []int64   // nil while every id equals its row number
	pos   map[int64]int
	next  int64 // the id of the next Add (see NextID)

	pruning   pruneMode                  // see EnablePruning; guarded by mu
	pruneMu   sync.Mutex                 // serialises building the pruned set
	pruned    atomic.Pointer[pruned.Set] // built on demand, dropped on change
	unpruning atomic.Bool                // the rows held are not worth a pruned set
	searched  atomic.Int64               // queries searched since the last change

	// A build of the pruned set in the background (pruneAuto): building
	// is set while one runs, stopBuild cancels it (writers call it before
	// they wait for mu), builds counts the goroutines, for tests.
	building  atomic.Bool
	stopMu    sync.Mutex
	stopBuild context.CancelFunc
	builds    sync.WaitGroup

	scratch sync.Pool
}

type scratch struct {
	dist   []float32
	qnorm  []float32
	heaps  []topk.Heap
	cands  []exact.Collector
	hits   [][]rangeres.Hit // per query of a range tile
	radius []exact.Radius   // per query of a range tile
	packed asm.PackedTile   // a range tile's rows
}

// New returns an empty exact index for d-dimensional vectors.
func New(d int, m metric.Metric) (*Index, error) {
	if d <= 0 {
		return nil, fmt.Errorf("flat: %w: dimension %d", kume.ErrInvalidArgument, d)
	}
	if !m.Valid() {
		return nil, fmt.Errorf("flat: %w: metric %v", kume.ErrUnsupported, m)
	}
	return &Index{d: d, m: m}, nil
}

// Dim returns the dimension.
func (x *Index) Dim() int { return x.d }

// Metric returns the distance measure.
func (x *Index) Metric() metric.Metric { return x.m }

// IsTrained is always true: a flat index needs no training.
func (x *Index) IsTrained() bool { return true }

// Len returns the number of stored vectors.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.data) / x.d
}

// Train checks its input and does nothing else: a flat index needs no
// training.
func (x *Index) Train(ctx context.Context, v []float32) error {
	_, err := check.Vectors("training set", v, x.d)
	return err
}

// Add stores vectors with the ids NextID(), NextID()+1, ...
func (x *Index) Add(ctx context.Context, v []float32) error {
	n, err := check.Vectors("vectors", v, x.d)
	if err != nil {
		return err
	}
	x.lock()
	defer x.mu.Unlock()
	first, err := check.NextIDs(x.next, n)
	if err != nil {
		return fmt.Errorf("flat: %w", err)
	}
	start := len(x.data) / x.d
	if x.ids == nil && first != int64(start) {
		x.materializeIDs(start + n)
	}
	x.append(v, n)
	if x.ids != nil {
		for i := 0; i < n; i++ {
			x.addID(first+int64(i), start+i)
		}
	}
	x.next = first + int64(n)
	x.changed()
	return nil
}

// NextID is the id Add gives the next vector: one more than the largest id
// the index ever held since it was created or Reset (so an id is never
// handed out twice, also after RemoveIDs), or -1 when that would be past
// math.MaxInt64.
func (x *Index) NextID() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.next
}

// AddWithIDs stores vectors with the given ids. Ids must be non-negative.
// Adding an id that is already stored keeps both vectors; searches may return
// either, and Reconstruct returns the later one.
func (x *Index) AddWithIDs(ctx context.Context, v []float32, ids []int64) error {
	n, err := check.Vectors("vectors", v, x.d)
	if err != nil {
		return err
	}
	if err := check.IDs(ids, n); err != nil {
		return err
	}
	x.lock()
	defer x.mu.Unlock()
	start := len(x.data) / x.d
	sequential := x.ids == nil
	for i, id := range ids {
		sequential = sequential && id == int64(start+i)
	}
	if !sequential && x.ids == nil {
		x.materializeIDs(start + n)
	}
	x.append(v, n)
	if x.ids != nil {
		for i, id := range ids {
			x.addID(id, start+i)
		}
	}
	x.next = check.AfterIDs(x.next, ids)
	x.changed()
	return nil
}

// materializeIDs stores the implicit ids (row numbers) of the rows held, with
// room for capacity rows.
func (x *Index) materializeIDs(capacity int) {
	rows := len(x.data) / x.d
	x.ids = make([]int64, rows, capacity)
	x.pos = make(map[int64]int, capacity)
	for i := range x.ids {
		x.ids[i] = int64(i)
		x.pos[int64(i)] = i
	}
}

func (x *Index) append(v []float32, n int) {
	x.data = append(x.data, v...)
	start := len(x.norms)
	x.norms = append(x.norms, make([]float32, n)...)
	asm.SqNorms(x.norms[start:], v, x.d)
}

func (x *Index) addID(id int64, row int) {
	x.ids = append(x.ids, id)
	x.pos[id] = row
}

// Reset removes every vector.
func (x *Index) Reset() {
	x.lock()
	defer x.mu.Unlock()
	x.data, x.norms, x.ids, x.pos = nil, nil, nil, nil
	x.next = 0
	x.changed()
}

// pruneMode says when an index builds its pruned set.
type pruneMode uint8

const (
	// pruneAuto (the default) builds it once pruneAfter queries have been
	// searched since the last change.
	pruneAuto pruneMode = iota
	pruneOn             // builds it now and on the first search after a change
	pruneOff            // never
)

// pruneAfter is how many queries an index searches exhaustively after a
// change before it builds its pruned set by default. Building costs about
// what 60 exhaustive queries cost, so an index changed after every few
// searches spends at most about a quarter more than without the set.
const pruneAfter = 256

// EnablePruning turns pruned search on or off. With it on, k-nearest
// searches of k <= Len() results without a filter (under L2 and inner
// product), and L2 range searches with or without one, skip most stored
// vectors: each query measures only those that a lower bound from a
// 30-dimensional projection of the vectors cannot rule out (see package
// internal/pruned; under inner product the vectors are first lifted to a
// common norm, which turns the largest products into the nearest
// vectors), and returns exactly what the exhaustive search returns, the
// same ids and bit for bit the same distances. The projection
// is built now and again on the first search after each change (Add,
// RemoveIDs, Reset), at the cost of a few matrix products of the vectors
// with 32 directions (milliseconds for thousands of vectors, about what 60
// exhaustive queries cost) and holds 32 floats per vector. On vectors with
// no low-dimensional structure it prunes little; after a few hundred such
// queries searches go back to the exhaustive path, and try the bound again
// now and then.
//
// Without a call of EnablePruning, an index builds the projection once
// it has searched 256 queries since its last change, so that an index that
// changes after every few searches does not pay for projections it barely
// uses; it builds it in a goroutine of its own, while searches go on
// exhaustively, and a change (Add, RemoveIDs, Reset) stops that build
// within about a millisecond. EnablePruning(false) turns pruned search off.
func (x *Index) EnablePruning(on bool) {
	x.lock()
	x.pruning = pruneOff
	if on {
		x.pruning = pruneOn
	}
	x.changed()
	x.mu.Unlock()
	if on {
		x.mu.RLock()
		x.prunedSet()
		x.mu.RUnlock()
	}
}

// Pruning reports whether searches skip vectors by lower bounds: pruning
// is on (EnablePruning, or by default once enough queries have been
// searched since the last change and the projection, built in the
// background, is ready) and the vectors held are worth it (at least 128 of
// 64 or more dimensions, of moderate size).
func (x *Index) Pruning() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.prunedSet() != nil
}

// changed drops the pruned set after a change of the rows; the caller holds
// the write lock.
func (x *Index) changed() {
	x.pruned.Store(nil)
	x.unpruning.Store(false)
	x.searched.Store(0)
}

// prunedSet returns the pruned set of the rows held, or nil when pruning
// is off, the set is not built yet or it does not pay. The caller holds
// the read lock, so the rows cannot change meanwhile. With pruning on, a
// missing set is built now; by default (pruneAuto) it is built in the
// background once pruneAfter queries have been searched since the last
// change, and searches go on exhaustively meanwhile: the build takes about
// what 60 exhaustive queries take (half a second for 200,000 vectors of
// 768 floats), which no search should wait for.
func (x *Index) prunedSet() *pruned.Set {
	if x.pruning == pruneOff {
		return nil
	}
	if s := x.pruned.Load(); s != nil || x.unpruning.Load() {
		return s
	}
	if x.pruning == pruneAuto {
		if x.searched.Load() >= pruneAfter && x.building.CompareAndSwap(false, true) {
			x.buildInBackground()
		}
		return nil
	}
	x.pruneMu.Lock()
	defer x.pruneMu.Unlock()
	if s := x.pruned.Load(); s != nil || x.unpruning.Load() {
		return s
	}
	x.buildSet(context.Background())
	return x.pruned.Load()
}

// buildSet builds the pruned set of the rows held, unless ctx is done
// first; the caller holds the read lock.
func (x *Index) buildSet(ctx context.Context) {
	s, err := pruned.Build(ctx, x.data, x.d, x.m == metric.InnerProduct)
	switch {
	case err != nil:
		// Stopped by a change of the rows: the set is due again once
		// enough queries have been searched after it.
	case s == nil:
		x.unpruning.Store(true)
	default:
		x.pruned.Store(s)
	}
}

// buildInBackground starts a goroutine that builds the pruned set under the
// read lock; a writer stops it (stopBuilding) before waiting for the lock,
// which it then gets within about a millisecond. The caller has set
// x.building.
func (x *Index) buildInBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	x.stopMu.Lock()
	x.stopBuild = cancel
	x.stopMu.Unlock()
	x.builds.Add(1)
	go func() {
		defer x.builds.Done()
		defer cancel()
		defer x.building.Store(false)
		x.mu.RLock()
		defer x.mu.RUnlock()
		// A change may have come between the call and the lock: the
		// set is then due again later.
		if ctx.Err() != nil || x.pruning != pruneAuto || x.pruned.Load() != nil || x.unpruning.Load() || x.searched.Load() < pruneAfter {
			return
		}
		x.buildSet(ctx)
	}()
}

// stopBuilding cancels a background build of the pruned set; writers call it
// before they take the write lock.
func (x *Index) stopBuilding() {
	x.stopMu.Lock()
	if x.stopBuild != nil {
		x.stopBuild()
		x.stopBuild = nil
	}
	x.stopMu.Unlock()
}

// lock takes the write lock, stopping a background build first.
func (x *Index) lock() {
	x.stopBuilding()
	x.mu.Lock()
}

// Vectors returns the stored vectors, row-major, and their ids (nil when every
// id equals its row number). The slices must not be modified; they stay valid
// until the next Add, Reset or RemoveIDs.
func (x *Index) Vectors() ([]float32, []int64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.data, x.ids
}

// Reconstruct appends the vector with the given id to dst.
func (x *Index) Reconstruct(id int64, dst []float32) ([]float32, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.rows().Reconstruct("flat", id, dst)
}

// ReconstructN appends the vectors with ids i0 .. i0+n-1 to dst.
func (x *Index) ReconstructN(i0, n int64, dst []float32) ([]float32, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.rows().ReconstructN("flat", i0, n, dst)
}

// rows is the index's row store; the caller holds x.mu.
func (x *Index) rows() rows.View { return rows.Of(x.d, x.data, x.ids, x.pos) }

func (x *Index) row(id int64) (int, bool) { return x.rows().Row(id) }

// RemoveIDs removes every vector whose id is in ids and returns how many were
// removed. The remaining vectors keep their ids and order.
func (x *Index) RemoveIDs(ids []int64) (int, error) {
	drop := make(map[int64]bool, len(ids))
	for _, id := range ids {
		drop[id] = true
	}
	x.lock()
	defer x.mu.Unlock()
	n := len(x.data) / x.d
	if x.ids == nil {
		x.ids = make([]int64, n)
		for i := range x.ids {
			x.ids[i] = int64(i)
		}
	}
	w := 0
	for r := 0; r < n; r++ {
		if drop[x.ids[r]] {
			continue
		}
		if w != r {
			copy(x.data[w*x.d:(w+1)*x.d], x.data[r*x.d:(r+1)*x.d])
			x.norms[w], x.ids[w] = x.norms[r], x.ids[r]
		}
		w++
	}
	removed := n - w
	x.data, x.norms, x.ids = x.data[:w*x.d], x.norms[:w], x.ids[:w]
	x.changed()
	x.pos = make(map[int64]int, w)
	for r, id := range x.ids {
		x.pos[id] = r
	}
	return removed, nil
}

// Search returns the k nearest stored vectors of each query.
func (x *Index) Search(ctx context.Context, queries []float32, k int, p *kume.SearchParams) (*kume.Results, error) {
	return kume.SearchNew(ctx, x, queries, k, p)
}

// SearchInto is Search writing into dst. Batches are spread over GOMAXPROCS
// goroutines; a search allocates nothing once dst and the index's scratch
// buffers have grown to size.
func (x *Index) SearchInto(ctx context.Context, dst *kume.Results, queries []float32, k int, p *kume.SearchParams) error {
	return batch.Into(ctx, x, "", dst, queries, k, p)
}

// SearchChecked answers a batch checked by the public call that began it:
// SearchInto's, or that of an index wrapping this one.
func (x *Index) SearchChecked(ctx context.Context, b batch.Batch) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	x.searched.Add(int64(b.Dst.NQ))
	if s := x.prunedSet(); s != nil && b.Filter() == nil && b.K <= s.Len() && s.Pays() {
		return batch.Run(ctx, b, prunedGrain, prunedRun{x, s}, prunedRun.search)
	}
	tiled := b.Dst.NQ >= minTileQueries
	grain := 1
	if tiled {
		grain = tileQueries
	}
	return batch.Run(ctx, b, grain, flatRun{x, tiled}, flatRun.search)
}

// flatRun is what a flat search resolves once per batch.
type flatRun struct {
	x     *Index
	tiled bool
}

// prunedRun answers chunks of a batch through the pruned set of the rows.
type prunedRun struct {
	x *Index
	s *pruned.Set
}

func (r prunedRun) search(ctx context.Context, b batch.Batch, lo, hi int) error {
	d, k := r.x.d, b.K
	if !r.s.Pays() {
		// The rows have no structure the bound can use: the exhaustive
		// search, whose answers are the same, is faster.
		return r.x.searchRange(ctx, b.Dst, b.Queries, k, lo, hi, hi-lo >= minTileQueries, nil)
	}
	return r.s.Search(ctx, b.Queries[lo*d:hi*d], k, b.Dst.Distances[lo*k:hi*k], b.Dst.IDs[lo*k:hi*k], r.x.ids)
}

func (r flatRun) search(ctx context.Context, b batch.Batch, lo, hi int) error {
	return r.x.searchRange(ctx, b.Dst, b.Queries, b.K, lo, hi, r.tiled, b.Filter())
}

// searchRange answers queries lo..hi-1 of a batch into dst, returning only
// ids f contains (all when f is nil).
func (x *Index) searchRange(ctx context.Context, dst *kume.Results, queries []float32, k, lo, hi int, tiled bool, f kume.IDFilter) error {
	s := x.getScratch()
	defer x.scratch.Put(s)
	if tiled && hi-lo >= 2 {
		return x.searchTile(ctx, queries[lo*x.d:hi*x.d], k, dst.Distances[lo*k:hi*k], dst.IDs[lo*k:hi*k], s, f)
	}
	for i := lo; i < hi; i++ {
		if err := x.searchOne(ctx, queries[i*x.d:(i+1)*x.d], dst.Distances[i*k:(i+1)*k], dst.IDs[i*k:(i+1)*k], s, f); err != nil {
			return err
		}
	}
	return nil
}

func (x *Index) getScratch() *scratch {
	if s, ok := x.scratch.Get().(*scratch); ok {
		return s
	}
	return &scratch{
		dist:  make([]float32, max(rowBlock, tileQueries*tileRows)),
		qnorm: make([]float32, tileQueries),
		heaps: make([]topk.Heap, tileQueries),
		cands: make([]exact.Collector, tileQueries),
	}
}

func (x *Index) id(row int) int64 {
	if x.ids == nil {
		return int64(row)
	}
	return x.ids[row]
}

// searchOne compares one query with every stored vector, rowBlock at a time.
func (x *Index) searchOne(ctx context.Context, q []float32, dist []float32, ids []int64, s *scratch, f kume.IDFilter) error {
	h := &s.heaps[0]
	h.Reset(dist, ids)
	n := len(x.data) / x.d
	ip := x.m == metric.InnerProduct
	for r0 := 0; r0 < n; r0 += rowBlock {
		if r0%cancelRows == 0 && r0 > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r1 := min(r0+rowBlock, n)
		rows := x.data[r0*x.d : r1*x.d]
		if f != nil {
			var rowIDs []int64
			if x.ids != nil {
				rowIDs = x.ids[r0:r1]
			}
			exact.Scan(h, q, rows, rowIDs, int64(r0), ip, f, s.dist[:rowBlock])
			continue
		}
		buf := s.dist[:r1-r0]
		if ip {
			asm.DotMany(buf, q, rows)
		} else {
			asm.L2SqrMany(buf, q, rows)
		}
		x.pushAll(h, buf, r0, ip)
	}
	h.Finish(ip)
	return nil
}

// searchTile compares a group of queries with every stored vector, tileRows
// at a time, with the many-to-many kernel. The kernel's scores only choose
// candidates; their distances are recomputed with the one-query kernel
// (package exact), so the answers are those of searchOne, bit for bit.
func (x *Index) searchTile(ctx context.Context, qs []float32, k int, dist []float32, ids []int64, s *scratch, f kume.IDFilter) error {
	nq := len(qs) / x.d
	n := len(x.data) / x.d
	ip := x.m == metric.InnerProduct
	qn := s.qnorm[:nq]
	asm.SqNorms(qn, qs, x.d)
	scale := exact.ErrorScale(x.d, x.m)
	for i := 0; i < nq; i++ {
		s.heaps[i].Reset(dist[i*k:(i+1)*k], ids[i*k:(i+1)*k])
		s.cands[i].Reset(qs[i*x.d:(i+1)*x.d], qn[i], k, x.m, scale)
		s.cands[i].SetFilter(f)
	}
	for r0 := 0; r0 < n; r0 += tileRows {
		if err := ctx.Err(); err != nil {
			return err
		}
		r1 := min(r0+tileRows, n)
		nr := r1 - r0
		buf := s.dist[:nq*nr]
		rows := x.data[r0*x.d : r1*x.d]
		asm.DotTile(buf, qs, rows, x.d) // the collectors expand it for L2
		var rowIDs []int64
		if x.ids != nil {
			rowIDs = x.ids[r0:r1]
		}
		norms := x.norms[r0:r1]
		normMax := maxOf(norms)
		for i := 0; i < nq; i++ {
			s.cands[i].Offer(buf[i*nr:(i+1)*nr], rows, norms, normMax, rowIDs, int64(r0))
		}
	}
	for i := 0; i < nq; i++ {
		s.cands[i].Flush(&s.heaps[i])
		s.heaps[i].Finish(ip)
	}
	return nil
}

// maxOf returns the largest of v (v holds non-negative norms).
func maxOf(v []float32) float32 {
	var m float32
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// pushAll offers scores for rows r0, r0+1, ... to h. Inner products are
// negated so that the heap always keeps the smallest keys.
func (x *Index) pushAll(h *topk.Heap, scores []float32, r0 int, ip bool) {
	thr := h.Threshold()
	if ip {
		for j, v := range scores {
			if -v <= thr {
				h.Push(-v, x.id(r0+j))
				thr = h.Threshold()
			}
		}
		return
	}
	for j, v := range scores {
		if v <= thr {
			h.Push(v, x.id(r0+j))
			thr = h.Threshold()
		}
	}
}

// DistancesByID writes into dst[i] the exact distance (squared L2, or inner
// product) between q and the stored vector with id ids[i]. Ids that are -1 or
// not stored get the metric's worst score. This is the re-ranking step of a
// refining index.
func (x *Index) DistancesByID(q []float32, ids []int64, dst []float32) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	worst := x.m.Worst()
	rs := x.rows()
	// The rows are scattered: ask for all of them first, so that their
	// memory latencies overlap instead of adding up (into the second-level
	// cache, whose misses do not stall the core as the first level's do
	// once k·k_factor rows are asked for).
	for _, id := range ids {
		if row, ok := rs.Row(id); ok {
			asm.PrefetchL2(x.data[row*x.d : (row+1)*x.d])
		}
	}
	for i, id := range ids {
		row, ok := rs.Row(id)
		if !ok {
			dst[i] = worst
			continue
		}
		v := x.data[row*x.d : (row+1)*x.d]
		if x.m == metric.InnerProduct {
			dst[i] = asm.Dot(q, v)
		} else {
			dst[i] = asm.L2Sqr(q, v)
		}
	}
}
