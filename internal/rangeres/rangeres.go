// Package rangeres gathers the results of range searches: every index
// appends each query's hits, in any order, to an Out; Run sorts them best
// first (ties by smaller id), bounds their total by kume.MaxResults and lays
// them out as FAISS's lims, ids and distances.
package rangeres

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/parallel"
	"github.com/kume-ann/kume/metric"
)

// Hit is one result: a distance (squared L2, or inner product) and an id.
type Hit struct {
	Dist float32
	ID   int64
}

// Out receives the hits of a group of consecutive queries, one query after
// the other: Append the hits of a query, then Done.
type Out struct {
	Hits  []Hit
	ends  []int
	start int
	ip    bool
	total *atomic.Int64
}

// Append adds a hit to the current query.
func (o *Out) Append(dist float32, id int64) {
	o.Hits = append(o.Hits, Hit{dist, id})
}

// Done closes the current query: its hits are sorted best first, and the
// search fails with ErrInvalidArgument once the hits of all queries exceed
// kume.MaxResults.
func (o *Out) Done() error {
	seg := o.Hits[o.start:]
	if o.ip {
		slices.SortFunc(seg, byIP)
	} else {
		slices.SortFunc(seg, byL2)
	}
	if o.total.Add(int64(len(seg))) > kume.MaxResults {
		return fmt.Errorf("%w: the range search has more than %d results: use a smaller radius or fewer queries", kume.ErrInvalidArgument, kume.MaxResults)
	}
	o.start = len(o.Hits)
	o.ends = append(o.ends, o.start)
	return nil
}

// Cap returns how many more hits may be appended before the total certainly
// exceeds kume.MaxResults; callers that can produce a great many hits for
// one query check it.
func (o *Out) Cap() int {
	return kume.MaxResults - int(o.total.Load()) - (len(o.Hits) - o.start)
}

func byL2(a, b Hit) int {
	if c := cmp.Compare(a.Dist, b.Dist); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

func byIP(a, b Hit) int {
	if c := cmp.Compare(b.Dist, a.Dist); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// CheckRadius refuses a NaN radius.
func CheckRadius(radius float32) error {
	if math.IsNaN(float64(radius)) {
		return fmt.Errorf("%w: radius is NaN", kume.ErrInvalidArgument)
	}
	return nil
}

// Keep reports whether a distance is within radius under m: d < radius
// under L2, d > radius under inner product (FAISS's rule).
func Keep(m metric.Metric, dist, radius float32) bool {
	if m == metric.InnerProduct {
		return dist > radius
	}
	return dist < radius
}

// Run answers nq queries with fn, which handles queries lo..hi-1 into out
// (each query's hits, then out.Done), in chunks of grain spread over
// GOMAXPROCS goroutines, and assembles the results in query order.
func Run(ctx context.Context, nq, grain int, m metric.Metric, fn func(lo, hi int, out *Out) error) (*kume.RangeResults, error) {
	grain = max(grain, 1)
	chunks := (nq + grain - 1) / grain
	outs := make([]Out, chunks)
	var total atomic.Int64
	run := func(lo, hi int) error {
		o := &outs[lo/grain]
		o.ip, o.total = m == metric.InnerProduct, &total
		if err := fn(lo, hi, o); err != nil {
			return err
		}
		if len(o.ends) != hi-lo {
			return fmt.Errorf("rangeres: %d queries closed for %d", len(o.ends), hi-lo)
		}
		return nil
	}
	var err error
	if chunks <= 1 {
		if err = ctx.Err(); err == nil && nq > 0 {
			err = run(0, nq)
		}
	} else {
		err = parallel.For(ctx, nq, grain, run)
	}
	if err != nil {
		return nil, err
	}
	n := int(total.Load())
	res := &kume.RangeResults{NQ: nq, Lims: make([]int, nq+1), IDs: make([]int64, n), Distances: make([]float32, n)}
	q, w := 0, 0
	for c := range outs {
		o := &outs[c]
		prev := 0
		for _, e := range o.ends {
			for _, h := range o.Hits[prev:e] {
				res.Distances[w], res.IDs[w] = h.Dist, h.ID
				w++
			}
			prev = e
			q++
			res.Lims[q] = w
		}
		o.Hits = nil
	}
	return res, nil
}
