// Package ivf implements the inverted-file index ("IVF{n},..." in a factory
// string): a coarse quantizer of n centroids trained with k-means splits the
// vectors into n lists; a query visits only the nprobe lists whose centroids
// are nearest. The index owns the lists (Lists: each list's ids and codes)
// and drives every search; what a code is, and how a list is compared with
// queries, is up to a Codec: raw vectors (FlatCodec, "IVF{n},Flat", the index
// RVC voice models ship) or fast-scan PQ codes (package ivf/ivfpqfs).
//
// Search is safe from many goroutines. Train, Add, AddWithIDs, RemoveIDs and
// Reset take the index's write lock, so a search sees the index either before
// or after a given Add, never half of it.
package ivf

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/batch"
	"github.com/kume-ann/kume/internal/check"
	"github.com/kume-ann/kume/internal/parallel"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/kmeans"
	"github.com/kume-ann/kume/metric"
)

// DefaultNIter is the number of k-means iterations of coarse training, as in
// FAISS.
const DefaultNIter = 10

// Index is an inverted-file index.
type Index struct {
	d, nlist int
	m        metric.Metric
	codec    Codec

	// KMeans configures coarse training. NIter defaults to 10; for the inner
	// product metric assignment is by inner product and the centroids are
	// spherical, as in FAISS. Set it before Train.
	KMeans kmeans.Config

	mu        sync.RWMutex
	quantizer Quantizer // the coarse centroids
	lists     Lists     // made when the centroids are set
	trained   bool
	ntotal    int
	next      int64 // the id of the next Add (see NextID)
	nprobe    int
	where     map[int64]loc // id -> list position, built on demand

	searchers sync.Pool
}

type loc struct{ list, pos int32 }

// searcher is the per-goroutine state of a search.
type searcher struct {
	scanner Scanner
	coarse  kume.Results
	qparams kume.SearchParams // the coarse quantizer's, see quantizerParams
	heaps   []topk.Heap
	groups  byList
}

// New returns an untrained IVF index for d-dimensional vectors with nlist
// lists stored by codec.
func New(d, nlist int, m metric.Metric, codec Codec) (*Index, error) {
	if d <= 0 || nlist <= 0 {
		return nil, fmt.Errorf("ivf: %w: d = %d, nlist = %d", kume.ErrInvalidArgument, d, nlist)
	}
	q, err := flat.New(d, m)
	if err != nil {
		return nil, fmt.Errorf("ivf: %w", err)
	}
	q.EnablePruning(true)
	return &Index{d: d, nlist: nlist, m: m, codec: codec, quantizer: q, nprobe: 1}, nil
}

// NewFlat returns an untrained "IVF{nlist},Flat" index.
func NewFlat(d, nlist int, m metric.Metric) (*Index, error) {
	return New(d, nlist, m, NewFlatCodec(m))
}

// Dim returns the dimension.
func (x *Index) Dim() int { return x.d }

// NList returns the number of lists.
func (x *Index) NList() int { return x.nlist }

// Metric returns the distance measure.
func (x *Index) Metric() metric.Metric { return x.m }

// Codec returns the list codec.
func (x *Index) Codec() Codec { return x.codec }

// Lists returns the inverted lists (empty until the centroids are set). They
// change with Add, RemoveIDs and Reset: read them when nothing else writes
// to the index.
func (x *Index) Lists() *Lists { return &x.lists }

// Quantizer returns the coarse quantizer, the index of the centroids (empty
// until trained): a *flat.Index unless the index was made with
// NewWithQuantizer.
func (x *Index) Quantizer() Quantizer { return x.quantizer }

// IsTrained reports whether the coarse quantizer and the codec are trained.
func (x *Index) IsTrained() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.trained && x.codec.IsTrained()
}

// Len returns the number of stored vectors.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ntotal
}

// NProbe returns the default number of lists a query visits.
func (x *Index) NProbe() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.nprobe
}

// SetNProbe sets the default number of lists a query visits. Values above
// nlist visit every list.
func (x *Index) SetNProbe(n int) error {
	if err := kume.CheckNProbe(n); err != nil {
		return fmt.Errorf("ivf: %w", err)
	}
	x.mu.Lock()
	x.nprobe = n
	x.mu.Unlock()
	return nil
}

// SetParam sets "nprobe", or "quantizer_efSearch" (the efSearch of an HNSW
// coarse quantizer).
func (x *Index) SetParam(name string, v float64) error {
	if name == "quantizer_efSearch" {
		if s, ok := x.quantizer.(kume.ParamSetter); ok {
			var p kume.SearchParams
			if err := p.Set(name, v); err != nil {
				return err
			}
			return s.SetParam("efSearch", float64(p.QuantizerEfSearch))
		}
	}
	if name != "nprobe" {
		return fmt.Errorf("ivf: %w: unknown search parameter %q", kume.ErrInvalidArgument, name)
	}
	var p kume.SearchParams
	if err := p.Set(name, v); err != nil {
		return err
	}
	return x.SetNProbe(p.NProbe)
}

// Train learns the coarse centroids with k-means (at most 256 points per
// list are used, as in FAISS), then trains the codec on the vectors and
// their lists.
func (x *Index) Train(ctx context.Context, v []float32) error {
	n, err := check.Vectors("training set", v, x.d)
	if err != nil {
		return fmt.Errorf("ivf: %w", err)
	}
	if held := x.Len(); held > 0 {
		return fmt.Errorf("ivf: %w: the index holds %d vectors, which new centroids would misplace: Reset it before training again", kume.ErrInvalidArgument, held)
	}
	if n < x.nlist {
		return fmt.Errorf("ivf: %w: %d training vectors for %d lists (need at least one per list)", kume.ErrInvalidArgument, n, x.nlist)
	}
	cfg := x.KMeans
	if cfg.NIter == 0 {
		cfg.NIter = DefaultNIter
	}
	if x.m == metric.InnerProduct {
		cfg.InnerProduct, cfg.Spherical = true, true
	}
	res, err := kmeans.Train(ctx, v, x.d, x.nlist, cfg)
	if err != nil {
		return fmt.Errorf("ivf: coarse training: %w", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ntotal > 0 {
		return fmt.Errorf("ivf: %w: vectors were added during training: Reset before training again", kume.ErrInvalidArgument)
	}
	// New centroids do not renumber: ids keep counting from where they
	// were (the index holds no vector, but may have held some).
	next := x.next
	if err := x.setCentroids(res.Centroids); err != nil {
		return err
	}
	x.next = next
	if !x.codec.IsTrained() {
		lists, err := x.assign(ctx, v)
		if err != nil {
			return err
		}
		if err := x.codec.Train(ctx, v, lists); err != nil {
			return fmt.Errorf("ivf: training the list codec: %w", err)
		}
	}
	x.trained = true
	return nil
}

// EnablePruning turns the index's pruned searches on (the default) or off:
// its quantizer's (the exact pruned coarse search of a flat one, the
// bounded walk of an HNSW one) and, for raw-vector lists under L2, the
// vectors' points that let a scan skip most of them (128 bytes a vector).
// Off frees the points; on after off projects every stored vector again.
// The answers are the same either way.
func (x *Index) EnablePruning(on bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if q, ok := x.quantizer.(interface{ EnablePruning(bool) }); ok {
		q.EnablePruning(on)
	}
	fc, ok := x.codec.(*FlatCodec)
	switch {
	case ok && x.trained:
		c, _ := x.quantizer.Vectors()
		fc.setBound(on, c, x.lists.codes)
	case ok:
		fc.EnablePruning(on)
	}
}

// SetCentroids installs trained coarse centroids (nlist rows of d floats), as
// when an index is loaded from a file, and empties the lists.
func (x *Index) SetCentroids(centroids []float32) error {
	if _, err := check.Vectors("centroids", centroids, x.d); err != nil {
		return fmt.Errorf("ivf: %w", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ntotal > 0 {
		return fmt.Errorf("ivf: %w: the index holds %d vectors: Reset before setting new centroids", kume.ErrInvalidArgument, x.ntotal)
	}
	if err := x.setCentroids(centroids); err != nil {
		return err
	}
	x.trained = true
	return nil
}

func (x *Index) setCentroids(c []float32) error {
	if len(c) != x.nlist*x.d {
		return fmt.Errorf("ivf: %w: %d centroid floats for %d lists of %d", kume.ErrDimension, len(c), x.nlist, x.d)
	}
	x.quantizer.Reset()
	if err := x.quantizer.Add(context.Background(), c); err != nil {
		return fmt.Errorf("ivf: %w", err)
	}
	if fq, ok := x.quantizer.(*flat.Index); ok {
		fq.Pruning() // builds the pruned coarse search now rather than in the first search
	}
	if err := x.codec.Init(x.d, x.nlist, c); err != nil {
		return fmt.Errorf("ivf: %w", err)
	}
	x.lists.init(x.d, x.nlist, x.codec)
	x.ntotal, x.next, x.where = 0, 0, nil
	return nil
}

// coarseSearch writes the nprobe nearest lists of the queries qs, which the
// caller has checked, into dst: through the quantizer's checked entry point
// when it has one (every kume index does), so the queries are not checked
// again.
func (x *Index) coarseSearch(ctx context.Context, dst *kume.Results, qs []float32, nprobe int, p *kume.SearchParams) error {
	nq := len(qs) / x.d
	if int64(nq)*int64(nprobe) > kume.MaxResults {
		return fmt.Errorf("ivf: %w: %d queries x nprobe %d coarse results, above %d", kume.ErrInvalidArgument, nq, nprobe, kume.MaxResults)
	}
	if part, ok := x.quantizer.(batch.Part); ok {
		dst.Resize(nq, nprobe)
		return part.SearchChecked(ctx, batch.Batch{Queries: qs, K: nprobe, Params: p, Dst: dst, ValuesChecked: true})
	}
	return x.quantizer.SearchInto(ctx, dst, qs, nprobe, p)
}

// assign returns the nearest list of each vector.
func (x *Index) assign(ctx context.Context, v []float32) ([]int32, error) {
	var res kume.Results
	if err := x.coarseSearch(ctx, &res, v, 1, nil); err != nil {
		return nil, fmt.Errorf("ivf: assigning vectors to lists: %w", err)
	}
	lists := make([]int32, len(res.IDs))
	for i, id := range res.IDs {
		lists[i] = int32(id)
	}
	return lists, nil
}

// Add stores vectors with the ids NextID(), NextID()+1, ... An Add that
// fails (a cancelled context, ...) leaves the index as it was.
func (x *Index) Add(ctx context.Context, v []float32) error {
	return x.add(ctx, v, nil)
}

// NextID is the id Add gives the next vector: one more than the largest id
// the index ever held since it was created, loaded or Reset, so that no id
// is handed out twice, also after RemoveIDs (FAISS numbers from ntotal,
// which can repeat an id after a removal); -1 when no id is left.
func (x *Index) NextID() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.next
}

// AddWithIDs stores vectors with the given ids (non-negative). An id that is
// already stored is stored again: searches may return both copies and
// Reconstruct returns one of them. An AddWithIDs that fails leaves the index
// as it was.
func (x *Index) AddWithIDs(ctx context.Context, v []float32, ids []int64) error {
	return x.add(ctx, v, check.Given(ids))
}

// addChunk bounds the memory and the time of one assignment pass: the
// context is checked between chunks (and within their assignment).
const addChunk = 16384

// add stores v with ids, or with ids from NextID on when ids is nil.
func (x *Index) add(ctx context.Context, v []float32, ids []int64) error {
	n, err := check.Add(v, x.d, ids)
	if err != nil {
		return fmt.Errorf("ivf: %w", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.trained || !x.codec.IsTrained() {
		return fmt.Errorf("ivf: %w: train before adding vectors", kume.ErrNotTrained)
	}
	first := int64(0)
	if ids == nil {
		if first, err = check.NextIDs(x.next, n); err != nil {
			return fmt.Errorf("ivf: %w", err)
		}
	}
	// The lengths of the lists before the call: on failure every list is
	// cut back to them, so that a failed Add changes nothing.
	var before map[int]int
	rollback := func() {
		for l, n0 := range before {
			x.lists.truncate(l, n0)
		}
	}
	order := make([][]int32, x.nlist)
	var vecs []float32
	var lids []int64
	for c0 := 0; c0 < n; c0 += addChunk {
		if err := ctx.Err(); err != nil {
			rollback()
			return err
		}
		c1 := min(c0+addChunk, n)
		chunk := v[c0*x.d : c1*x.d]
		lists, err := x.assign(ctx, chunk)
		if err != nil {
			rollback()
			return err
		}
		// Group by list, keeping insertion order within each list.
		for l := range order {
			order[l] = order[l][:0]
		}
		for i, l := range lists {
			order[l] = append(order[l], int32(i))
		}
		for l, rows := range order {
			if len(rows) == 0 {
				continue
			}
			if before == nil {
				before = make(map[int]int)
			}
			if _, ok := before[l]; !ok {
				before[l] = x.lists.Len(l)
			}
			vecs, lids = vecs[:0], lids[:0]
			for _, r := range rows {
				vecs = append(vecs, chunk[int(r)*x.d:(int(r)+1)*x.d]...)
				if ids != nil {
					lids = append(lids, ids[c0+int(r)])
				} else {
					lids = append(lids, first+int64(c0)+int64(r))
				}
			}
			if err := x.lists.Add(l, vecs, lids); err != nil {
				rollback()
				return fmt.Errorf("ivf: list %d: %w", l, err)
			}
		}
	}
	x.where = nil
	x.ntotal += n
	if ids == nil {
		x.next = first + int64(n)
	} else {
		x.next = check.AfterIDs(x.next, ids)
	}
	return nil
}

// Reset removes every vector, keeping the centroids and the codec's training.
func (x *Index) Reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.lists.reset()
	x.ntotal, x.next, x.where = 0, 0, nil
}

// RemoveIDs removes every vector whose id is in ids.
func (x *Index) RemoveIDs(ids []int64) (int, error) {
	drop := make(map[int64]bool, len(ids))
	for _, id := range ids {
		drop[id] = true
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	n := x.lists.remove(func(id int64) bool { return drop[id] })
	x.ntotal -= n
	x.where = nil
	return n, nil
}

// ListSizes returns the number of vectors in each list.
func (x *Index) ListSizes() []int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	sizes := make([]int, x.nlist)
	if x.trained {
		for l := range sizes {
			sizes[l] = x.lists.Len(l)
		}
	}
	return sizes
}

// Reconstruct appends the vector with the given id to dst (decoded, for
// codecs that quantize). The first call after a change builds an id map.
func (x *Index) Reconstruct(id int64, dst []float32) ([]float32, error) {
	for {
		x.mu.RLock()
		if x.where != nil {
			break
		}
		x.mu.RUnlock()
		x.mu.Lock()
		if x.where == nil {
			x.buildWhere()
		}
		x.mu.Unlock()
	}
	defer x.mu.RUnlock()
	l, ok := x.where[id]
	if !ok {
		return dst, fmt.Errorf("ivf: %w: %d", kume.ErrNotFound, id)
	}
	return x.lists.Codes(int(l.list)).Decode(int(l.pos), dst), nil
}

func (x *Index) buildWhere() {
	x.where = make(map[int64]loc, x.ntotal)
	if !x.trained {
		return
	}
	for l := 0; l < x.nlist; l++ {
		for p, id := range x.lists.IDs(l) {
			x.where[id] = loc{int32(l), int32(p)}
		}
	}
}

// ReconstructN appends the vectors with ids i0 .. i0+n-1 to dst in id order,
// walking every list once (FAISS's reconstruct_n, which RVC uses to read all
// stored vectors back). Every id in the range must be stored.
func (x *Index) ReconstructN(i0, n int64, dst []float32) ([]float32, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if err := check.IDRange(i0, n, x.ntotal); err != nil {
		return dst, fmt.Errorf("ivf: %w", err)
	}
	base := len(dst)
	dst = append(dst, make([]float32, int(n)*x.d)...)
	found := make([]bool, n)
	var tmp []float32
	if x.trained {
		for l := 0; l < x.nlist; l++ {
			for p, id := range x.lists.IDs(l) {
				if id < i0 || id >= i0+n {
					continue
				}
				tmp = x.lists.Codes(l).Decode(p, tmp[:0])
				copy(dst[base+int(id-i0)*x.d:], tmp)
				found[id-i0] = true
			}
		}
	}
	for i, ok := range found {
		if !ok {
			return dst[:base], fmt.Errorf("ivf: %w: %d", kume.ErrNotFound, i0+int64(i))
		}
	}
	return dst, nil
}

// Search returns the k nearest stored vectors of each query among the nprobe
// lists nearest to it.
func (x *Index) Search(ctx context.Context, queries []float32, k int, p *kume.SearchParams) (*kume.Results, error) {
	return kume.SearchNew(ctx, x, queries, k, p)
}

// SearchInto is Search writing into dst. nprobe comes from p when it is set
// there, else from the index; values above nlist visit every list. Batches
// are spread over GOMAXPROCS goroutines; a search allocates nothing once its
// buffers have grown.
func (x *Index) SearchInto(ctx context.Context, dst *kume.Results, queries []float32, k int, p *kume.SearchParams) error {
	return batch.Into(ctx, x, "ivf", dst, queries, k, p)
}

// SearchChecked answers a batch checked by the public call that began it:
// SearchInto's, or that of an index wrapping this one.
func (x *Index) SearchChecked(ctx context.Context, b batch.Batch) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.trained || !x.codec.IsTrained() {
		return fmt.Errorf("ivf: %w: train before searching", kume.ErrNotTrained)
	}
	r := ivfRun{x: x, nprobe: x.nprobe, qef: quantizerEf(b.Params)}
	if b.Params != nil && b.Params.NProbe != 0 {
		r.nprobe = b.Params.NProbe
	}
	r.nprobe = min(r.nprobe, x.nlist)
	lo, hi := x.searchGrain(b.Dst.NQ, r.nprobe)
	return batch.RunShrinking(ctx, b, lo, hi, r, ivfRun.search)
}

// WholeBatcher is implemented by scanners whose batches gain from holding
// as many queries as they can (the fast-scan codec's: each list's filter
// masks are made once for more queries, and its blocks are scanned for
// fuller groups of them).
type WholeBatcher interface {
	// WholeBatches reports whether a search should give each goroutine
	// one share of its queries rather than smaller chunks.
	WholeBatches() bool
}

// searchGrain is how many of nq queries, probing nprobe lists each, one
// goroutine takes at a time, from hi at the start of a batch down to lo at
// its end: one share per goroutine for a WholeBatcher; else
// parallel.Grain's smaller chunks, which balance better, but with several
// probes per query at least 2·nlist/nprobe queries, so that a chunk's
// probes cover the lists about twice and queries meet in the lists they
// share, each list read once for all of them (IVF16384_HNSW32,Flat on a
// million vectors, nprobe 32, 1,000 queries on one thread: 110-134 µs a
// query in chunks of 250, 95-98 in chunks of 500, 84-89 in one). With one
// probe per query a chunk would need 2·nlist queries to gain that way, and
// the queries that do share lists, as consecutive frames of speech do, meet
// within the smaller chunks; those chunks shrink to 16 queries as the batch
// runs out, so that neither goroutine waits long for the other's last one
// (RVC's 2,000-frame chunks on two threads: 3-4 % faster at 50k x 768
// and 50k x 256).
func (x *Index) searchGrain(nq, nprobe int) (lo, hi int) {
	s := x.getSearcher(nil)
	wb, ok := s.scanner.(WholeBatcher)
	whole := ok && wb.WholeBatches()
	x.putSearcher(s)
	procs := runtime.GOMAXPROCS(0)
	share := max((nq+procs-1)/procs, 16)
	if whole {
		return share, share
	}
	g := parallel.Grain(nq, 16)
	if nprobe > 1 {
		g = max(g, min(share, (2*x.nlist+nprobe-1)/nprobe))
		return g, g
	}
	return 16, g
}

// ivfRun is what an IVF search resolves once per batch.
type ivfRun struct {
	x           *Index
	nprobe, qef int
}

func (r ivfRun) search(ctx context.Context, b batch.Batch, lo, hi int) error {
	return r.x.searchRange(ctx, b.Dst, b.Queries, b.K, r.nprobe, lo, hi, b.Filter(), r.qef)
}

func (x *Index) searchRange(ctx context.Context, dst *kume.Results, queries []float32, k, nprobe, lo, hi int, f kume.IDFilter, qef int) error {
	s := x.getSearcher(f)
	defer x.putSearcher(s)
	qs := queries[lo*x.d : hi*x.d]
	if err := x.coarseSearch(ctx, &s.coarse, qs, nprobe, s.quantizerParams(qef)); err != nil {
		return err
	}
	batch := s.scanner.MaxBatch()
	for i0 := lo; i0 < hi; i0 += batch {
		i1 := min(i0+batch, hi)
		c0, c1 := (i0-lo)*nprobe, (i1-lo)*nprobe
		if err := x.scanBatch(ctx, s, queries[i0*x.d:i1*x.d], nprobe, s.coarse.IDs[c0:c1], s.coarse.Distances[c0:c1], k, dst.Distances[i0*k:i1*k], dst.IDs[i0*k:i1*k]); err != nil {
			return err
		}
	}
	return nil
}

// scanBatch answers nq = len(dist)/k queries whose probes (nprobe per query)
// are lists and coarse: one heap per query in its result row, the probes
// grouped by list so that each probed list is read once for all its
// queries, then the scanner's distances. Each query's answer is what it
// gets alone: the heaps order ties by id, whatever the order of the scans.
func (x *Index) scanBatch(ctx context.Context, s *searcher, queries []float32, nprobe int, lists []int64, coarse []float32, k int, dist []float32, ids []int64) error {
	nq := len(dist) / k
	if cap(s.heaps) < nq {
		s.heaps = make([]topk.Heap, nq)
	}
	heaps := s.heaps[:nq]
	for i := range heaps {
		heaps[i].Reset(dist[i*k:(i+1)*k], ids[i*k:(i+1)*k])
	}
	sc := s.scanner
	sc.Begin(queries, nprobe, lists, coarse, heaps)
	s.groups.group(lists, x.nlist)
	every, work := sc.WorkPerCheck(), 0
	pf, _ := sc.(Prefetcher)
	for g := 0; g < s.groups.len(); g++ {
		l, probes := s.groups.at(g)
		n := x.lists.Len(l)
		if n == 0 {
			continue
		}
		if pf != nil && g+1 < s.groups.len() {
			if next, nextProbes := s.groups.at(g + 1); x.lists.Len(next) > 0 {
				pf.Prefetch(x.lists.codes[next], len(nextProbes))
			}
		}
		if work += len(probes) * n; work >= every {
			work = 0
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		sc.Scan(l, x.lists.ids[l], x.lists.codes[l], probes)
	}
	for i := range heaps {
		sc.Finish(i, dist[i*k:(i+1)*k])
	}
	return nil
}

// getSearcher takes a searcher from the pool, its scanner restricted to f.
func (x *Index) getSearcher(f kume.IDFilter) *searcher {
	s, _ := x.searchers.Get().(*searcher)
	if s == nil {
		s = &searcher{scanner: x.codec.NewScanner()}
	}
	s.scanner.SetFilter(f)
	return s
}

// putSearcher returns s to the pool, without its filter.
func (x *Index) putSearcher(s *searcher) {
	s.scanner.SetFilter(nil)
	x.searchers.Put(s)
}
