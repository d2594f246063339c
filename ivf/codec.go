package ivf

import (
	"context"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/topk"
)

// Codec gives the codes of inverted lists their meaning. The index owns the
// lists (Lists: the ids of each list and its codes, adding, removing,
// resetting) and drives every search (grouping a batch's probes by list,
// one heap per query, cancellation); the codec decides how a list encodes
// its vectors (raw floats, product-quantized codes, ...) and how one list is
// compared with the queries that probe it. This keeps ivf ignorant of any
// code format. Codecs are implemented inside this module (FlatCodec, and
// the fast-scan codec of package ivf/ivfpqfs): a Scanner works on the
// module's result heaps.
//
// A codec is used under the index's lock: Init, Train and the Codes'
// changing methods are never called concurrently with each other or with a
// search; Scanners of one codec may search concurrently.
type Codec interface {
	// Init prepares the codec for nlist lists of d-dimensional vectors with
	// the given coarse centroids (nlist rows of d floats), which it may keep
	// (for residual encoding). It is called after the coarse quantizer is
	// trained or loaded, before Train and NewList.
	Init(d, nlist int, centroids []float32) error
	// Train learns the codec's parameters from training vectors and the
	// list each was assigned to. Codecs that need no training return nil.
	Train(ctx context.Context, x []float32, lists []int32) error
	// IsTrained reports whether vectors can be encoded.
	IsTrained() bool
	// NewList returns the empty codes of a list.
	NewList(list int) Codes
	// NewScanner returns a Scanner. Each goroutine uses its own.
	NewScanner() Scanner
	// BytesPerVector is the storage cost of one vector's code (ids not
	// included).
	BytesPerVector() float64
}

// Codes are the codes of one inverted list, in the layout of the codec that
// made them (Codec.NewList); the index keeps the list's ids beside them, in
// the same order.
type Codes interface {
	// Len is the number of codes.
	Len() int
	// Append encodes vectors (rows of d floats) and appends their codes.
	Append(x []float32) error
	// Truncate keeps the first n codes, as they were when the list held n
	// (an Append that fails is undone so).
	Truncate(n int)
	// Keep keeps the codes at positions keep (ascending), in that order.
	Keep(keep []int32)
	// Decode appends to dst the vector the code at position i stands for.
	Decode(i int, dst []float32) []float32
}

// Scanner compares queries with the codes of inverted lists. The index
// drives it: Begin prepares a batch of at most MaxBatch queries, Scan is
// called once for each probed list with the probes that visit it, and
// Finish writes each query's results; a range search calls Range for each
// probe of one query instead. Keys in the heaps are the scanner's own (for
// example quantized sums), smaller is better, ties by smaller id; Finish
// turns them into distances.
// Prefetcher is a Scanner that can ask for a list's codes ahead of its
// Scan, so that reading them from memory overlaps the scan before it.
// probes is how many of the batch's queries will scan the list: the
// scanner asks for what they will read, or for nothing when the hardware
// prefetcher, following a scan row by row, does better.
type Prefetcher interface {
	Prefetch(codes Codes, probes int)
}

type Scanner interface {
	// SetFilter restricts the following scans to ids f contains; nil lifts
	// the restriction.
	SetFilter(f kume.IDFilter)
	// MaxBatch is how many queries one Begin may prepare (at least 1).
	MaxBatch() int
	// WorkPerCheck is about how many codes (summed over probes) the scanner
	// compares in a few milliseconds: the index checks its context so often.
	WorkPerCheck() int
	// Begin prepares nq queries (rows of d floats): lists holds nprobe list
	// numbers per query, best first (-1: none), and coarse the query's
	// coarse score of each (squared L2 distance or inner product to the
	// list's centroid). heaps holds the nq queries' heaps, reset by the
	// index (nil for a range search).
	Begin(queries []float32, nprobe int, lists []int64, coarse []float32, heaps []topk.Heap)
	// Scan compares the codes of list (ids and codes, its contents) with
	// the probes that visit it: positions p of Begin's lists, of query
	// p/nprobe, ascending; it offers the codes to the queries' heaps.
	Scan(list int, ids []int64, codes Codes, probes []int32)
	// Finish sorts query i's heap and writes its distances into dist, the
	// heap's distance slots: unfilled slots get the metric's worst score.
	Finish(i int, dist []float32)
	// Range appends to dist and out every vector of list (ids and codes)
	// within radius of the single query of the last Begin, which probes it
	// as its probe j, by the codec's distance (squared L2 below radius, or
	// inner product above it), in any order; it returns the extended
	// slices.
	Range(j int, ids []int64, codes Codes, radius float32, dist []float32, out []int64) ([]float32, []int64)
}
