package refine

import (
	"context"
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/batch"
	"github.com/kume-ann/kume/internal/parallel"
	"github.com/kume-ann/kume/internal/rangeres"
)

// RangeSearch is a range search re-ranked exactly: the base's range search
// with the same radius and parameters proposes the candidates (for a
// fast-scan base, the vectors whose quantized estimate is within radius),
// then each candidate's exact distance decides: the results are the
// candidates whose exact distance is within radius (squared L2 below it,
// inner product above it), best first by exact distance, with exact
// distances. So every result is truly within radius, and a vector is missed
// only when the base's estimate put it outside. The base must implement
// kume.RangeSearcher; p.Filter restricts the candidates and the results.
func (x *Index) RangeSearch(ctx context.Context, queries []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	if _, err := batch.CheckRange(queries, x.Dim(), radius); err != nil {
		return nil, fmt.Errorf("refine: %w", err)
	}
	return x.RangeSearchChecked(ctx, queries, radius, p)
}

// RangeSearchChecked is RangeSearch for arguments already checked
// (batch.Ranger): the base is entered through its own RangeSearchChecked
// when it has one, so the queries are checked once.
func (x *Index) RangeSearchChecked(ctx context.Context, queries []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	d := x.Dim()
	nq := len(queries) / d
	rs, ok := x.base.(kume.RangeSearcher)
	if !ok {
		return nil, fmt.Errorf("refine: %w: the base index (%T) has no range search", kume.ErrUnsupported, x.base)
	}
	var f kume.IDFilter
	if p != nil {
		f = p.Filter
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	cand, err := batch.RangeSearch(ctx, rs, queries, radius, p)
	if err != nil {
		return nil, err
	}
	m := x.Metric()
	return rangeres.Run(ctx, nq, parallel.Grain(nq, 8), m, func(lo, hi int, out *rangeres.Out) error {
		s := x.getScratch()
		defer x.scratch.Put(s)
		for i := lo; i < hi; i++ {
			_, ids := cand.Row(i)
			if cap(s.exact) < len(ids) {
				s.exact = make([]float32, len(ids))
			}
			ex := s.exact[:len(ids)]
			x.store.DistancesByID(queries[i*d:(i+1)*d], ids, ex)
			for j, id := range ids {
				if (f == nil || f.Contains(id)) && rangeres.Keep(m, ex[j], radius) {
					out.Append(ex[j], id)
				}
			}
			if err := out.Done(); err != nil {
				return err
			}
		}
		return nil
	})
}
