// Package l2norm implements the "L2norm" step of a factory string: every
// vector is scaled to unit length before it reaches the wrapped index, on
// training, adding and searching. With the inner-product metric this is
// cosine similarity; with L2 it ranks by the angle too (for unit vectors,
// ||a-b||² = 2 - 2cos).
//
// Zero vectors stay zero (no NaN). Reconstruct returns the normalised
// vectors, as they were stored.
package l2norm

import (
	"context"
	"fmt"
	"sync"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/batch"
	"github.com/kume-ann/kume/internal/check"
	"github.com/kume-ann/kume/metric"
)

// Index normalises vectors on their way into a wrapped index.
type Index struct {
	sub  kume.Index
	bufs sync.Pool
}

// New wraps sub.
func New(sub kume.Index) *Index { return &Index{sub: sub} }

// Sub returns the wrapped index.
func (x *Index) Sub() kume.Index { return x.sub }

// Unwrap returns the wrapped index (kume.Wrapper).
func (x *Index) Unwrap() kume.Index { return x.sub }

// normalized returns a normalised copy of v. Small inputs (queries) use a
// pooled buffer, which the caller hands back with release; large ones
// (training sets, batches to add) get a fresh one, so the pool never pins
// them.
func (x *Index) normalized(what string, v []float32) (*[]float32, error) {
	if _, err := check.Vectors(what, v, x.sub.Dim()); err != nil {
		return nil, err
	}
	return x.normalizedChecked(v), nil
}

// normalizedChecked is normalized for vectors already checked.
func (x *Index) normalizedChecked(v []float32) *[]float32 {
	var p *[]float32
	if len(v) <= maxPooled {
		p, _ = x.bufs.Get().(*[]float32)
	}
	if p == nil {
		p = new([]float32)
	}
	*p = append((*p)[:0], v...)
	metric.NormalizeL2(*p, x.sub.Dim())
	return p
}

// maxPooled is the largest copy, in floats, that goes back to the pool.
const maxPooled = 1 << 16

func (x *Index) release(p *[]float32) {
	if cap(*p) <= maxPooled {
		x.bufs.Put(p)
	}
}

// Dim returns the dimension.
func (x *Index) Dim() int { return x.sub.Dim() }

// Len returns the number of stored vectors.
func (x *Index) Len() int { return x.sub.Len() }

// Metric returns the wrapped index's metric.
func (x *Index) Metric() metric.Metric { return x.sub.Metric() }

// IsTrained reports whether the wrapped index is trained.
func (x *Index) IsTrained() bool { return x.sub.IsTrained() }

// Train trains the wrapped index on normalised vectors.
func (x *Index) Train(ctx context.Context, v []float32) error {
	p, err := x.normalized("training set", v)
	if err != nil {
		return err
	}
	defer x.release(p)
	return x.sub.Train(ctx, *p)
}

// Add adds normalised vectors.
func (x *Index) Add(ctx context.Context, v []float32) error {
	p, err := x.normalized("vectors", v)
	if err != nil {
		return err
	}
	defer x.release(p)
	return x.sub.Add(ctx, *p)
}

// AddWithIDs adds normalised vectors with ids.
func (x *Index) AddWithIDs(ctx context.Context, v []float32, ids []int64) error {
	p, err := x.normalized("vectors", v)
	if err != nil {
		return err
	}
	defer x.release(p)
	return x.sub.AddWithIDs(ctx, *p, ids)
}

// Search searches with normalised queries.
func (x *Index) Search(ctx context.Context, queries []float32, k int, params *kume.SearchParams) (*kume.Results, error) {
	return kume.SearchNew(ctx, x, queries, k, params)
}

// SearchInto is Search writing into dst.
func (x *Index) SearchInto(ctx context.Context, dst *kume.Results, queries []float32, k int, params *kume.SearchParams) error {
	return batch.Into(ctx, x, "", dst, queries, k, params)
}

// SearchChecked answers a batch checked by the public call that began it:
// SearchInto's, or that of an index wrapping this one. The wrapped index
// answers the normalised queries.
func (x *Index) SearchChecked(ctx context.Context, b batch.Batch) error {
	if err := b.CheckValues(0, b.Dst.NQ); err != nil {
		return err
	}
	p := x.normalizedChecked(b.Queries)
	defer x.release(p)
	b.Queries = *p
	b.ValuesChecked = true
	return batch.Search(ctx, x.sub, b)
}

// Reset empties the wrapped index.
func (x *Index) Reset() { x.sub.Reset() }

// Reconstruct returns the stored (normalised) vector with the given id.
func (x *Index) Reconstruct(id int64, dst []float32) ([]float32, error) {
	r, ok := x.sub.(kume.Reconstructor)
	if !ok {
		return dst, fmt.Errorf("l2norm: %w: the wrapped index cannot reconstruct", kume.ErrUnsupported)
	}
	return r.Reconstruct(id, dst)
}

// ReconstructN returns the stored (normalised) vectors with ids i0..i0+n-1.
func (x *Index) ReconstructN(i0, n int64, dst []float32) ([]float32, error) {
	r, ok := x.sub.(kume.Reconstructor)
	if !ok {
		return dst, fmt.Errorf("l2norm: %w: the wrapped index cannot reconstruct", kume.ErrUnsupported)
	}
	return r.ReconstructN(i0, n, dst)
}

// RemoveIDs removes ids from the wrapped index.
func (x *Index) RemoveIDs(ids []int64) (int, error) {
	r, ok := x.sub.(kume.Remover)
	if !ok {
		return 0, fmt.Errorf("l2norm: %w: the wrapped index cannot remove ids", kume.ErrUnsupported)
	}
	return r.RemoveIDs(ids)
}

// SetParam forwards a search parameter to the wrapped index.
func (x *Index) SetParam(name string, v float64) error {
	s, ok := x.sub.(kume.ParamSetter)
	if !ok {
		return fmt.Errorf("l2norm: %w: unknown search parameter %q", kume.ErrInvalidArgument, name)
	}
	return s.SetParam(name, v)
}

// RangeSearch searches the wrapped index with normalised queries; it fails
// with kume.ErrUnsupported when the wrapped index has no range search.
func (x *Index) RangeSearch(ctx context.Context, queries []float32, radius float32, params *kume.SearchParams) (*kume.RangeResults, error) {
	if _, ok := x.sub.(kume.RangeSearcher); !ok {
		return nil, fmt.Errorf("l2norm: %w: the wrapped index (%T) has no range search", kume.ErrUnsupported, x.sub)
	}
	if _, err := batch.CheckRange(queries, x.sub.Dim(), radius); err != nil {
		return nil, err
	}
	return x.RangeSearchChecked(ctx, queries, radius, params)
}

// RangeSearchChecked is RangeSearch for arguments already checked
// (batch.Ranger): the normalised queries, finite as well, enter the wrapped
// index through its own RangeSearchChecked when it has one.
func (x *Index) RangeSearchChecked(ctx context.Context, queries []float32, radius float32, params *kume.SearchParams) (*kume.RangeResults, error) {
	rs, ok := x.sub.(kume.RangeSearcher)
	if !ok {
		return nil, fmt.Errorf("l2norm: %w: the wrapped index (%T) has no range search", kume.ErrUnsupported, x.sub)
	}
	p := x.normalizedChecked(queries)
	defer x.release(p)
	return batch.RangeSearch(ctx, rs, *p, radius, params)
}
