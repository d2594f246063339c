package kume

import "context"

// RangeSearcher is implemented by indexes that can return every stored
// vector within a radius of a query, as FAISS's range_search: under L2 the
// vectors whose squared distance is below radius (d < radius), under inner
// product those whose similarity is above it (s > radius). Approximate
// indexes apply the radius to their estimate of the distance, as FAISS does.
// params.Filter restricts the results as it does for Search; NProbe chooses
// the lists an IVF index visits.
//
// The number of results depends on the data: a search whose results would
// exceed MaxResults in total fails with an error wrapping
// ErrInvalidArgument.
type RangeSearcher interface {
	RangeSearch(ctx context.Context, queries []float32, radius float32, params *SearchParams) (*RangeResults, error)
}

// RangeResults holds the answers to a range search of NQ queries in FAISS's
// layout: the results of query i are IDs[Lims[i]:Lims[i+1]] and
// Distances[Lims[i]:Lims[i+1]], best first (ascending squared distances
// under L2, descending similarities under inner product), equal distances by
// smaller id. len(Lims) = NQ+1 and Lims[NQ] = len(IDs).
type RangeResults struct {
	NQ        int
	Lims      []int
	IDs       []int64
	Distances []float32
}

// Row returns the distances and ids of query i.
func (r *RangeResults) Row(i int) ([]float32, []int64) {
	return r.Distances[r.Lims[i]:r.Lims[i+1]], r.IDs[r.Lims[i]:r.Lims[i+1]]
}
