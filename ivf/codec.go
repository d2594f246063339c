package ivf

import (
	"context"
	"fmt"

	"github.com/kume-ann/kume"
)

// Codec stores and scans the contents of inverted lists. The IVF index
// decides which list a vector belongs to and which lists a query visits; the
// codec decides how vectors are stored in a list (raw floats, product-
// quantized codes, ...) and how a list is compared with a query. This keeps
// ivf ignorant of any code format.
//
// A codec is used under the index's lock: Train, Add, Remove and Reset are
// never called concurrently with each other or with a Scanner's Search;
// Scanners of one codec may search concurrently.
type Codec interface {
	// Init prepares the codec for nlist lists of d-dimensional vectors with
	// the given coarse centroids (nlist rows of d floats), which it may keep
	// (for residual encoding). It is called after the coarse quantizer is
	// trained or loaded, before Train and Add.
	Init(d, nlist int, centroids []float32) error
	// Train learns the codec's parameters from training vectors and the
	// list each was assigned to. Codecs that need no training return nil.
	Train(ctx context.Context, x []float32, lists []int32) error
	// IsTrained reports whether Add can be called.
	IsTrained() bool
	// Add appends vectors (rows of d floats) with their ids to list.
	Add(list int, x []float32, ids []int64) error
	// Truncate drops the vectors at positions n and beyond of list, leaving
	// it as it was when it held n vectors (an Add that fails is undone so).
	Truncate(list, n int)
	// Len is the number of vectors in list.
	Len(list int) int
	// IDs returns the ids of list in storage order. The slice must not be
	// modified.
	IDs(list int) []int64
	// Reconstruct appends to dst the (decoded) vector at position i of list.
	Reconstruct(list, i int, dst []float32) []float32
	// Remove deletes every vector whose id satisfies drop and returns how
	// many were deleted. The others keep their order.
	Remove(drop func(id int64) bool) int
	// Reset empties every list, keeping what training learned.
	Reset()
	// NewScanner returns a Scanner. Each goroutine uses its own.
	NewScanner() Scanner
	// BytesPerVector is the storage cost of one vector's code (ids not
	// included).
	BytesPerVector() float64
}

// Scanner answers one query at a time over the lists the coarse quantizer
// chose. It sees all probed lists before scanning any, so a codec can
// prepare per-list tables and put them on one scale.
type Scanner interface {
	// Search scans lists (in the given order: best first) for query q and
	// writes the len(dist) best results, sorted best first, into dist and
	// ids; unfilled slots get id -1 and the metric's worst score. coarse
	// holds the query's coarse score for each list (squared L2 distance or
	// inner product to the list's centroid). Lists numbered -1 are skipped.
	// It checks ctx every few milliseconds of work and returns its error
	// when it is done; the results are then unspecified.
	Search(ctx context.Context, q []float32, lists []int64, coarse []float32, dist []float32, ids []int64) error
}

// BatchScanner is a Scanner that can also answer a batch of queries
// together, reading each probed list once for all the queries that probe it.
// The index uses it for batches when a codec's scanner provides it.
type BatchScanner interface {
	Scanner
	// SearchBatch answers nq = len(dist)/k queries (rows of d floats in
	// queries): lists and coarse hold nprobe entries per query, as Search
	// takes them; query i's results go to dist[i*k:(i+1)*k] and
	// ids[i*k:(i+1)*k]. Each query's answer must equal what Search
	// returns for it alone. It checks ctx as Search does.
	SearchBatch(ctx context.Context, queries []float32, nprobe int, lists []int64, coarse []float32, k int, dist []float32, ids []int64) error
}

// FilterScanner is a Scanner that can restrict its results to the ids a
// filter contains (SearchParams.Filter). A search with a filter over a codec
// whose scanner lacks it fails with kume.ErrUnsupported: a filter is never
// ignored.
type FilterScanner interface {
	Scanner
	// SetFilter restricts the following searches (Search, SearchBatch and
	// RangeSearch) to ids f contains; nil lifts the restriction.
	SetFilter(f kume.IDFilter)
}

// RangeScanner is a Scanner that can also answer range searches.
type RangeScanner interface {
	Scanner
	// RangeSearch appends to dist and ids every vector of lists (as Search
	// takes them) within radius of q, by the codec's distance (squared L2
	// below radius, or inner product above it), in any order, and returns
	// the extended slices. It checks ctx as Search does.
	RangeSearch(ctx context.Context, q []float32, lists []int64, coarse []float32, radius float32, dist []float32, ids []int64) ([]float32, []int64, error)
}

// setFilter gives f to s, or fails when s cannot honour a filter.
func setFilter(s Scanner, f kume.IDFilter) error {
	fs, ok := s.(FilterScanner)
	if !ok {
		if f == nil {
			return nil
		}
		return fmt.Errorf("ivf: %w: the list codec's scanner (%T) cannot filter ids", kume.ErrUnsupported, s)
	}
	fs.SetFilter(f)
	return nil
}
