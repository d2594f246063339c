// Package refine implements exact re-ranking ("RFlat" and "Refine(Flat)" in a
// factory string): it keeps the raw vectors beside any base index, asks the
// base for k*k_factor candidates, recomputes their exact distances and
// returns the best k.
//
// With the default k_factor of 1 (FAISS's default) it only re-orders the
// base's k results with exact distances; a k_factor of 4 to 16 lets it find
// neighbours the base ranked too low.
package refine

import (
	"context"
	"fmt"
	"sync"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/batch"
	"github.com/kume-ann/kume/internal/check"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/metric"
)

// MaxKFactor bounds k_factor: kume.MaxKFactor.
const MaxKFactor = kume.MaxKFactor

// Index re-ranks a base index's candidates with exact distances.
type Index struct {
	base  kume.Index
	store *flat.Index

	// mu keeps the base and the store in step: writers hold it exclusively
	// across both halves, searches hold it shared.
	mu      sync.RWMutex
	kFactor float32

	scratch sync.Pool
}

type scratch struct {
	cand  kume.Results
	exact []float32
	heap  topk.Heap
}

// New wraps base. The raw vectors are kept in a flat index with the base's
// dimension and metric. The default k_factor is 1.
func New(base kume.Index) (*Index, error) {
	store, err := flat.New(base.Dim(), base.Metric())
	if err != nil {
		return nil, fmt.Errorf("refine: %w", err)
	}
	return &Index{base: base, store: store, kFactor: 1}, nil
}

// NewWithStore wraps base with an existing store of raw vectors, which must
// hold the same ids as base (used when loading a saved index).
func NewWithStore(base kume.Index, store *flat.Index, kFactor float32) (*Index, error) {
	if store.Dim() != base.Dim() || store.Metric() != base.Metric() {
		return nil, fmt.Errorf("refine: %w: store is %d-d %v, base is %d-d %v", kume.ErrDimension,
			store.Dim(), store.Metric(), base.Dim(), base.Metric())
	}
	if store.Len() != base.Len() {
		return nil, fmt.Errorf("refine: %w: store holds %d vectors, base %d", kume.ErrCorrupt, store.Len(), base.Len())
	}
	if err := checkKFactor(kFactor); err != nil {
		return nil, err
	}
	return &Index{base: base, store: store, kFactor: kFactor}, nil
}

// Base returns the index that proposes candidates.
func (x *Index) Base() kume.Index { return x.base }

// Unwrap returns the base index (kume.Wrapper).
func (x *Index) Unwrap() kume.Index { return x.base }

// Store returns the flat index of raw vectors.
func (x *Index) Store() *flat.Index { return x.store }

// KFactor returns the default k_factor.
func (x *Index) KFactor() float32 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.kFactor
}

// Dim returns the dimension.
func (x *Index) Dim() int { return x.base.Dim() }

// Metric returns the distance measure.
func (x *Index) Metric() metric.Metric { return x.base.Metric() }

// IsTrained reports whether the base is trained.
func (x *Index) IsTrained() bool { return x.base.IsTrained() }

// Len returns the number of stored vectors.
func (x *Index) Len() int { return x.store.Len() }

// Train trains the base index. An index that holds vectors refuses (Reset
// it first): the base's codes would belong to its old training.
func (x *Index) Train(ctx context.Context, v []float32) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if n := x.store.Len(); n > 0 {
		return fmt.Errorf("refine: %w: the index holds %d vectors: Reset it before training again", kume.ErrInvalidArgument, n)
	}
	return x.base.Train(ctx, v)
}

// Add adds vectors to the base and to the raw store with the ids
// NextID(), NextID()+1, ..., the same in both halves. An Add that fails
// leaves the index as it was.
func (x *Index) Add(ctx context.Context, v []float32) error {
	n, err := check.Vectors("vectors", v, x.Dim())
	if err != nil {
		return fmt.Errorf("refine: %w", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	first, err := check.NextIDs(x.store.NextID(), n)
	if err != nil {
		return fmt.Errorf("refine: %w", err)
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = first + int64(i)
	}
	// The base first: it is the half that can fail (a cancelled context,
	// an untrained quantizer) and then stores nothing.
	if err := x.base.AddWithIDs(ctx, v, ids); err != nil {
		return err
	}
	return x.store.Add(context.Background(), v)
}

// NextID is the id Add gives the next vector: one more than the largest id
// ever stored (see flat.Index.NextID).
func (x *Index) NextID() int64 { return x.store.NextID() }

// AddWithIDs adds vectors with the given ids to the base and to the store.
// An AddWithIDs that fails leaves the index as it was.
func (x *Index) AddWithIDs(ctx context.Context, v []float32, ids []int64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.base.AddWithIDs(ctx, v, ids); err != nil {
		return err
	}
	return x.store.AddWithIDs(context.Background(), v, ids)
}

// Reset empties both halves.
func (x *Index) Reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.base.Reset()
	x.store.Reset()
}

// Reconstruct returns the stored raw vector with the given id.
func (x *Index) Reconstruct(id int64, dst []float32) ([]float32, error) {
	return x.store.Reconstruct(id, dst)
}

// ReconstructN returns the raw vectors with ids i0 .. i0+n-1.
func (x *Index) ReconstructN(i0, n int64, dst []float32) ([]float32, error) {
	return x.store.ReconstructN(i0, n, dst)
}

// RemoveIDs removes ids from both halves. The base must support removal.
func (x *Index) RemoveIDs(ids []int64) (int, error) {
	r, ok := x.base.(kume.Remover)
	if !ok {
		return 0, fmt.Errorf("refine: %w: the base index cannot remove ids", kume.ErrUnsupported)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	n, err := r.RemoveIDs(ids)
	if err != nil {
		return n, err
	}
	return x.store.RemoveIDs(ids)
}

// SetParam sets k_factor ("k_factor_rf", as FAISS names it, or "k_factor")
// and forwards every other name to the base.
func (x *Index) SetParam(name string, v float64) error {
	switch name {
	case "k_factor_rf", "k_factor":
		var p kume.SearchParams
		if err := p.Set(name, v); err != nil {
			return err
		}
		if err := checkKFactor(p.KFactor); err != nil {
			return err
		}
		x.mu.Lock()
		x.kFactor = p.KFactor
		x.mu.Unlock()
		return nil
	}
	if s, ok := x.base.(kume.ParamSetter); ok {
		return s.SetParam(name, v)
	}
	return fmt.Errorf("refine: %w: unknown search parameter %q", kume.ErrInvalidArgument, name)
}

func checkKFactor(f float32) error {
	if err := kume.CheckKFactor(f); err != nil {
		return fmt.Errorf("refine: %w", err)
	}
	return nil
}

// Search returns the k nearest vectors of each query, re-ranked exactly.
func (x *Index) Search(ctx context.Context, queries []float32, k int, p *kume.SearchParams) (*kume.Results, error) {
	return kume.SearchNew(ctx, x, queries, k, p)
}

// SearchInto is Search writing into dst. The base is searched for
// int(k*k_factor) candidates with the same parameters (nprobe and so on).
func (x *Index) SearchInto(ctx context.Context, dst *kume.Results, queries []float32, k int, p *kume.SearchParams) error {
	return batch.Into(ctx, x, "", dst, queries, k, p)
}

// SearchChecked answers a batch checked by the public call that began it:
// SearchInto's, or that of an index wrapping this one. The base answers the
// candidates and spreads the queries over goroutines; each chunk is
// re-ranked on the goroutine that found its candidates.
func (x *Index) SearchChecked(ctx context.Context, b batch.Batch) error {
	queries, k, p, dst := b.Queries, b.K, b.Params, b.Dst
	nq, d := dst.NQ, x.Dim()
	x.mu.RLock()
	defer x.mu.RUnlock()
	kf := x.kFactor
	if p != nil && p.KFactor != 0 {
		kf = p.KFactor
	}
	kbf := float64(k) * float64(kf)
	if kbf > kume.MaxResults {
		return fmt.Errorf("refine: %w: k*k_factor = %.0f candidates per query, more than %d", kume.ErrInvalidArgument, kbf, kume.MaxResults)
	}
	kb := max(int(kbf), k)
	if err := check.Results(nq, kb); err != nil {
		return fmt.Errorf("refine: k*k_factor candidates: %w", err)
	}
	s := x.getScratch()
	defer x.scratch.Put(s)
	s.cand.Resize(nq, kb)
	f := b.Filter()
	// The base checks the queries' values chunk by chunk when b has not,
	// before the re-ranking of each chunk reads them.
	return batch.Search(ctx, x.base, batch.Batch{Queries: queries, K: kb, Params: p, Dst: &s.cand, ValuesChecked: b.ValuesChecked,
		Then: func(lo, hi int) error {
			w := x.getScratch()
			defer x.scratch.Put(w)
			for i := lo; i < hi; i++ {
				x.rerankRow(queries[i*d:(i+1)*d], k, s.cand.IDs[i*kb:(i+1)*kb], dst, i, w, f)
			}
			return b.After(lo, hi)
		}})
}

// rerankRow computes exact distances for one query's candidates and writes
// the best k into row i of dst. The base drew the candidates from the ids f
// allows; they are checked again, so that a base that does not honour
// filters cannot leak an id.
func (x *Index) rerankRow(q []float32, k int, cand []int64, dst *kume.Results, i int, s *scratch, f kume.IDFilter) {
	if cap(s.exact) < len(cand) {
		s.exact = make([]float32, len(cand))
	}
	exact := s.exact[:len(cand)]
	x.store.DistancesByID(q, cand, exact)
	dist, ids := dst.Row(i)
	s.heap.Reset(dist, ids)
	ip := x.Metric() == metric.InnerProduct
	for j, id := range cand {
		if id < 0 || f != nil && !f.Contains(id) {
			continue
		}
		key := exact[j]
		if ip {
			key = -key
		}
		s.heap.Push(key, id)
	}
	s.heap.Finish(ip)
}

func (x *Index) getScratch() *scratch {
	if s, ok := x.scratch.Get().(*scratch); ok {
		return s
	}
	return new(scratch)
}
