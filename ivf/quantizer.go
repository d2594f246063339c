package ivf

import (
	"context"
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/metric"
)

// Quantizer is the coarse quantizer of an IVF index: an index over the
// nlist centroids (the id of a centroid is its list) that a query searches
// for the nprobe lists to visit, and that Add uses to choose each vector's
// list. *flat.Index is the exact one ("IVF{n}"); *hnsw.Index is a graph over
// the centroids that finds them approximately, much faster when there are
// tens of thousands ("IVF{n}_HNSW{M}").
//
// Its SearchInto must answer each query as it answers it alone; it is called
// with a *kume.SearchParams carrying only the quantizer's parameters
// (EfSearch), or nil.
type Quantizer interface {
	Dim() int
	Len() int
	Metric() metric.Metric
	// Add stores centroids; their ids are their rows.
	Add(ctx context.Context, x []float32) error
	Reset()
	Search(ctx context.Context, queries []float32, k int, p *kume.SearchParams) (*kume.Results, error)
	SearchInto(ctx context.Context, dst *kume.Results, queries []float32, k int, p *kume.SearchParams) error
	// Vectors returns the centroids, row-major, and their ids (nil when
	// they are the rows).
	Vectors() ([]float32, []int64)
}

// NewWithQuantizer returns an IVF index with nlist lists stored by codec and
// the coarse quantizer q, which must be empty (Train fills it with the
// k-means centroids) or hold the nlist trained centroids, as a quantizer
// read from a file does; the index is then trained and its lists empty.
func NewWithQuantizer(d, nlist int, m metric.Metric, codec Codec, q Quantizer) (*Index, error) {
	x, err := New(d, nlist, m, codec)
	if err != nil {
		return nil, err
	}
	if q.Dim() != d || q.Metric() != m {
		return nil, fmt.Errorf("ivf: %w: a %d-d %v index with a %d-d %v quantizer", kume.ErrInvalidArgument, d, m, q.Dim(), q.Metric())
	}
	if _, ids := q.Vectors(); ids != nil {
		return nil, fmt.Errorf("ivf: %w: the quantizer's ids must be its rows", kume.ErrInvalidArgument)
	}
	switch q.Len() {
	case 0:
	case nlist:
		c, _ := q.Vectors()
		if err := codec.Init(d, nlist, c); err != nil {
			return nil, fmt.Errorf("ivf: %w", err)
		}
		x.lists.init(d, nlist, codec)
		x.trained = true
	default:
		return nil, fmt.Errorf("ivf: %w: a quantizer of %d centroids for %d lists", kume.ErrInvalidArgument, q.Len(), nlist)
	}
	// The exact quantizer searches its centroids through a bound built at
	// once, the graph one walks them with it (both are fixed after
	// training): the same lists, most centroids not measured.
	if pq, ok := q.(interface{ EnablePruning(bool) }); ok {
		pq.EnablePruning(true)
	}
	x.quantizer = q
	return x, nil
}

// quantizerEf returns p's QuantizerEfSearch (0: the quantizer's default).
func quantizerEf(p *kume.SearchParams) int {
	if p == nil {
		return 0
	}
	return p.QuantizerEfSearch
}

// quantizerParams returns the parameters the coarse quantizer is searched
// with, ef as its EfSearch, or nil for its defaults. They live in s, so
// that a search allocates nothing for them.
func (s *searcher) quantizerParams(ef int) *kume.SearchParams {
	if ef == 0 {
		return nil
	}
	s.qparams = kume.SearchParams{EfSearch: ef}
	return &s.qparams
}
