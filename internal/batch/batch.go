// Package batch is where a k-NN search is checked and spread over
// goroutines: once, at the outermost public call (the queries' values chunk
// by chunk, on the goroutines that answer them). Every kume index is a
// Part: its public SearchInto checks the arguments (Into) and calls its own
// SearchChecked, and a composite index (refine, l2norm) calls the
// SearchChecked of the index it wraps (Search), which trusts its input. The
// innermost part spreads the queries over goroutines; a wrapper that has
// work to do per query after its part (refine's re-ranking) hands it over as
// Then, which the part runs on the goroutine that answered those queries.
package batch

import (
	"context"
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/check"
	"github.com/kume-ann/kume/internal/parallel"
	"github.com/kume-ann/kume/internal/rangeres"
)

// Batch is a checked search: the queries are finite rows of the index's
// dimension, 1 <= K with Dst.NQ*K results in bounds, Params within the
// bounds of kume.SearchParams.Check, and Dst already sized to NQ x K. A
// Batch cannot be made outside kume, so SearchChecked cannot be called
// there.
type Batch struct {
	Queries []float32
	K       int
	Params  *kume.SearchParams
	Dst     *kume.Results
	// Then, when set, is called for each chunk of queries [lo, hi) once
	// their rows of Dst are final, on the goroutine that answered them.
	Then func(lo, hi int) error
	// ValuesChecked reports that the queries' values are known to be
	// finite, with no squared norm beyond float32's range. When it is
	// false (as a public call's batch is), Run checks each chunk's queries
	// before answering them, on the goroutine that answers them (which
	// then finds them in its cache), and Into turns a failure into the
	// error a check of the whole batch gives; a part that reads the
	// queries before Run does checks them first (CheckValues).
	ValuesChecked bool
}

// CheckValues checks the values of the queries [lo, hi) unless the batch
// says they are checked already.
func (b Batch) CheckValues(lo, hi int) error {
	if b.ValuesChecked || hi <= lo {
		return nil
	}
	d := len(b.Queries) / b.Dst.NQ
	return check.Values("queries", b.Queries[lo*d:hi*d], d)
}

// After calls b.Then for the queries [lo, hi), if it is set.
func (b Batch) After(lo, hi int) error {
	if b.Then == nil {
		return nil
	}
	return b.Then(lo, hi)
}

// Filter returns the batch's id filter, nil when there is none.
func (b Batch) Filter() kume.IDFilter {
	if b.Params == nil {
		return nil
	}
	return b.Params.Filter
}

// Run answers the checked batch b in chunks of queries [lo, hi), at most
// grain long: for each, fn(st, ctx, b, lo, hi), then b.Then. A batch that
// fits one chunk runs on the calling goroutine and allocates nothing for
// it; a larger one is spread over up to GOMAXPROCS goroutines. st carries
// what the part resolved for the whole batch (its defaults, nprobe, ...),
// so that fn need not be a closure (a method expression: T.method).
func Run[S any](ctx context.Context, b Batch, grain int, st S, fn func(st S, ctx context.Context, b Batch, lo, hi int) error) error {
	return RunShrinking(ctx, b, grain, grain, st, fn)
}

// RunShrinking is Run with chunks that shrink from grain to minGrain
// queries as the batch runs out (parallel.ForShrinking), so that the
// goroutines finish together.
func RunShrinking[S any](ctx context.Context, b Batch, minGrain, grain int, st S, fn func(st S, ctx context.Context, b Batch, lo, hi int) error) error {
	nq := b.Dst.NQ
	if nq <= max(grain, 1) {
		if err := ctx.Err(); err != nil {
			return err
		}
		return runChunk(ctx, b, st, fn, 0, nq)
	}
	return parallel.ForShrinking(ctx, nq, minGrain, grain, func(lo, hi int) error {
		return runChunk(ctx, b, st, fn, lo, hi)
	})
}

// runChunk answers the queries [lo, hi) of b: their values checked, fn,
// then b.Then.
func runChunk[S any](ctx context.Context, b Batch, st S, fn func(st S, ctx context.Context, b Batch, lo, hi int) error, lo, hi int) error {
	if err := b.CheckValues(lo, hi); err != nil {
		return err
	}
	if err := fn(st, ctx, b, lo, hi); err != nil {
		return err
	}
	return b.After(lo, hi)
}

// Part is an index that answers checked batches. Every kume index is one.
type Part interface {
	kume.Index
	// SearchChecked answers b, spreading its queries over goroutines as
	// the index sees fit and calling b.Then after each chunk. It does not
	// check b's arguments again, but for the queries' values when
	// b.ValuesChecked is false (Run checks them chunk by chunk).
	SearchChecked(ctx context.Context, b Batch) error
}

// Check checks the arguments of a search once, but for the queries'
// values (Batch.ValuesChecked): queries of dimension d, k >= 1 with nq*k
// in bounds, and p's fields within their bounds. It returns the number of
// queries.
func Check(queries []float32, d, k int, p *kume.SearchParams) (int, error) {
	nq, err := check.SearchShape(queries, d, k)
	if err != nil {
		return 0, err
	}
	if err := p.Check(); err != nil {
		return 0, err
	}
	return nq, nil
}

// Into is a Part's public SearchInto: it checks the arguments, sizes dst
// and calls x.SearchChecked. An argument error is prefixed with pkg ("ivf:
// ...") unless pkg is empty.
func Into(ctx context.Context, x Part, pkg string, dst *kume.Results, queries []float32, k int, p *kume.SearchParams) error {
	nq, err := Check(queries, x.Dim(), k, p)
	if err != nil {
		if pkg != "" {
			return fmt.Errorf("%s: %w", pkg, err)
		}
		return err
	}
	dst.Resize(nq, k)
	err = x.SearchChecked(ctx, Batch{Queries: queries, K: k, Params: p, Dst: dst})
	if err != nil {
		// A chunk that found a bad query may have been any of them: the
		// error names the first, as a check of the whole batch does.
		if verr := check.Values("queries", queries, x.Dim()); verr != nil {
			err = verr
			if pkg != "" {
				err = fmt.Errorf("%s: %w", pkg, err)
			}
		}
	}
	return err
}

// Search answers the checked batch b with idx: through SearchChecked when
// idx is a Part, else (an index from outside kume) through its public
// SearchInto, followed by b.Then for the whole batch.
func Search(ctx context.Context, idx kume.Index, b Batch) error {
	if x, ok := idx.(Part); ok {
		return x.SearchChecked(ctx, b)
	}
	if err := idx.SearchInto(ctx, b.Dst, b.Queries, b.K, b.Params); err != nil {
		return err
	}
	return b.After(0, b.Dst.NQ)
}

// Ranger is an index whose range search can be entered with arguments
// already checked, as a Part's k-NN search can: its public RangeSearch
// checks the queries and the radius (CheckRange) and calls its own
// RangeSearchChecked, and a composite index calls the RangeSearchChecked
// of the index it wraps (RangeSearch), which trusts them.
type Ranger interface {
	kume.RangeSearcher
	// RangeSearchChecked is RangeSearch for queries that are finite rows
	// of the index's dimension and a radius CheckRange accepted. It does
	// not check them again.
	RangeSearchChecked(ctx context.Context, queries []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error)
}

// CheckRange checks the arguments of a range search once: finite queries
// of dimension d and a finite radius. It returns the number of queries.
func CheckRange(queries []float32, d int, radius float32) (int, error) {
	nq, err := check.Vectors("queries", queries, d)
	if err != nil {
		return 0, err
	}
	if err := rangeres.CheckRadius(radius); err != nil {
		return 0, err
	}
	return nq, nil
}

// RangeSearch answers a checked range search with rs: through
// RangeSearchChecked when rs is a Ranger, else (an index from outside
// kume) through its public RangeSearch.
func RangeSearch(ctx context.Context, rs kume.RangeSearcher, queries []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	if x, ok := rs.(Ranger); ok {
		return x.RangeSearchChecked(ctx, queries, radius, p)
	}
	return rs.RangeSearch(ctx, queries, radius, p)
}
