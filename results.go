package kume

// MaxResults bounds the result slots of one search, queries times k (and,
// for a refining index, queries times its k*k_factor candidates): 2^28 slots
// take 3 GiB. A search asking for more fails with ErrInvalidArgument before
// allocating anything.
const MaxResults = 1 << 28

// Results holds the answers to a batch of NQ queries, K per query, row-major:
// the results of query i are Distances[i*K:(i+1)*K] and IDs[i*K:(i+1)*K],
// best first. Missing results have ID -1 and the metric's worst distance.
type Results struct {
	NQ, K     int
	Distances []float32
	IDs       []int64
}

// Resize makes r hold nq*k results, reusing its buffers when they are large
// enough. The contents are unspecified until written.
func (r *Results) Resize(nq, k int) {
	n := nq * k
	if cap(r.Distances) < n {
		r.Distances = make([]float32, n)
	}
	if cap(r.IDs) < n {
		r.IDs = make([]int64, n)
	}
	r.NQ, r.K = nq, k
	r.Distances = r.Distances[:n]
	r.IDs = r.IDs[:n]
}

// Row returns the distances and ids of query i.
func (r *Results) Row(i int) ([]float32, []int64) {
	return r.Distances[i*r.K : (i+1)*r.K], r.IDs[i*r.K : (i+1)*r.K]
}
