package kume

import (
	"context"

	"github.com/kume-ann/kume/metric"
)

// Index is a collection of vectors that can be searched for the nearest
// neighbours of a query.
//
// All methods are safe for concurrent use; see the package documentation for
// what a concurrent Add means to a Search.
type Index interface {
	// Dim is the dimension of the vectors.
	Dim() int
	// Len is the number of vectors stored.
	Len() int
	// Metric is the distance measure.
	Metric() metric.Metric
	// IsTrained reports whether the index can accept vectors. Indexes that
	// need no training are always trained.
	IsTrained() bool
	// Train learns the index's parameters (centroids, codebooks) from a
	// sample of vectors. Training an index that needs none is a no-op;
	// training one that needs it while it holds vectors (placed or encoded
	// by the old training) fails with ErrInvalidArgument: Reset it first.
	Train(ctx context.Context, x []float32) error
	// Add stores vectors with consecutive new ids, starting one past the
	// largest id the index has held since it was created, loaded or Reset
	// (0, 1, 2, ... for a new index): an id is never handed out twice, also
	// after RemoveIDs. An Add that fails leaves the index as it was.
	Add(ctx context.Context, x []float32) error
	// AddWithIDs stores vectors with the given non-negative ids, one per
	// vector. One that fails leaves the index as it was.
	AddWithIDs(ctx context.Context, x []float32, ids []int64) error
	// Search returns the k nearest stored vectors of each query, best first.
	// params may be nil; its zero fields mean "the index's default".
	Search(ctx context.Context, queries []float32, k int, params *SearchParams) (*Results, error)
	// SearchInto is Search writing into dst, whose buffers are reused (grown
	// when too small), so that a caller searching in a loop allocates nothing.
	SearchInto(ctx context.Context, dst *Results, queries []float32, k int, params *SearchParams) error
	// Reset removes every vector, keeping what training learned.
	Reset()
}

// IntoSearcher is the part of an Index that searches into given results.
type IntoSearcher interface {
	SearchInto(ctx context.Context, dst *Results, queries []float32, k int, params *SearchParams) error
}

// SearchNew searches s into new Results: every index's Search is
// SearchNew(x, ...) over its SearchInto.
func SearchNew(ctx context.Context, s IntoSearcher, queries []float32, k int, params *SearchParams) (*Results, error) {
	res := new(Results)
	if err := s.SearchInto(ctx, res, queries, k, params); err != nil {
		return nil, err
	}
	return res, nil
}

// Reconstructor is implemented by indexes that can return the stored vectors
// (exactly, for indexes that keep them as floats; decoded, for quantized
// ones).
type Reconstructor interface {
	// Reconstruct appends the vector with the given id to dst and returns
	// the extended slice. It fails with ErrNotFound for an unknown id.
	Reconstruct(id int64, dst []float32) ([]float32, error)
	// ReconstructN appends the vectors with ids i0 .. i0+n-1 to dst, in id
	// order, as FAISS's reconstruct_n does.
	ReconstructN(i0, n int64, dst []float32) ([]float32, error)
}

// Remover is implemented by indexes that can remove vectors by id.
type Remover interface {
	// RemoveIDs removes every stored vector whose id is in ids and returns
	// how many were removed.
	RemoveIDs(ids []int64) (int, error)
}

// ParamSetter is implemented by indexes that have search-time parameters
// with defaults that can be changed, by FAISS ParameterSpace name ("nprobe",
// "k_factor_rf", ...). Composite indexes forward names they do not own to
// their parts.
type ParamSetter interface {
	// SetParam sets the default of the named parameter. It fails with
	// ErrInvalidArgument for an unknown name or a bad value.
	SetParam(name string, value float64) error
}

// Wrapper is an index that wraps another and passes vectors on to it (RFlat,
// L2norm). Unwrap returns the wrapped index, so that a caller can walk an
// index's structure from the outside in (see factory.Describe).
type Wrapper interface {
	Index
	Unwrap() Index
}
