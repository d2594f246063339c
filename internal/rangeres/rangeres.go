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

	keys []uint64 // sorting scratch
	tmp  []Hit
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
	o.sort(seg)
	if o.total.Add(int64(len(seg))) > kume.MaxResults {
		return TooMany()
	}
	o.start = len(o.Hits)
	o.ends = append(o.ends, o.start)
	return nil
}

// TooMany is the error of a range search whose results exceed
// kume.MaxResults.
func TooMany() error {
	return fmt.Errorf("%w: the range search has more than %d results: use a smaller radius or fewer queries", kume.ErrInvalidArgument, kume.MaxResults)
}

// Cap returns how many more hits may be appended before the total certainly
// exceeds kume.MaxResults; callers that can produce a great many hits for
// one query check it.
func (o *Out) Cap() int {
	return kume.MaxResults - int(o.total.Load()) - (len(o.Hits) - o.start)
}

// smallSort is the longest run of hits sorted by insertion.
const smallSort = 12

// sort orders seg best first, equal distances by smaller id: as
// slices.SortFunc with byL2 (byIP under inner product) does, faster. Each
// hit gets a key that orders as its distance does (the distance's bits
// made monotonic, complemented under inner product) above its position;
// the keys are sorted as integers, then each run of equal distances is
// ordered by id.
func (o *Out) sort(seg []Hit) {
	n := len(seg)
	if n <= smallSort {
		less := lessL2
		if o.ip {
			less = lessIP
		}
		insertion(seg, less)
		return
	}
	if cap(o.keys) < 2*n {
		o.keys = make([]uint64, 2*n, 4*n)
		o.tmp = make([]Hit, n, 2*n)
	}
	keys, tmp := o.keys[:n], o.tmp[:n]
	for i, h := range seg {
		k := uint64(ordered(h.Dist))
		if o.ip {
			k = ^k & 0xffffffff
		}
		keys[i] = k<<32 | uint64(i)
	}
	if n < radixMin {
		slices.Sort(keys)
	} else {
		keys = radixHigh(keys, o.keys[n:2*n])
	}
	for i, k := range keys {
		tmp[i] = seg[uint32(k)]
	}
	for i := 0; i < n; {
		j := i + 1
		for j < n && keys[j]>>32 == keys[i]>>32 {
			j++
		}
		if run := tmp[i:j]; len(run) > smallSort {
			slices.SortFunc(run, func(a, b Hit) int { return cmp.Compare(a.ID, b.ID) })
		} else if len(run) > 1 {
			insertion(run, func(a, b Hit) bool { return a.ID < b.ID })
		}
		i = j
	}
	copy(seg, tmp)
}

// radixMin is the shortest run of hits sorted by radix; below it
// slices.Sort is as fast.
const radixMin = 96

// radixHigh sorts keys by their upper 32 bits, stably (least significant
// byte first, one counting pass per byte, skipping the bytes all keys
// share), using buf (as long as keys) as scratch. Keys whose lower 32 bits
// ascend with their position come out in the order slices.Sort gives. It
// returns the sorted keys, which are in keys or in buf.
func radixHigh(keys, buf []uint64) []uint64 {
	var count [4][256]int32
	for _, k := range keys {
		count[0][byte(k>>32)]++
		count[1][byte(k>>40)]++
		count[2][byte(k>>48)]++
		count[3][byte(k>>56)]++
	}
	n := int32(len(keys))
	for pass := 0; pass < 4; pass++ {
		c := &count[pass]
		shift := 32 + 8*uint(pass)
		if c[byte(keys[0]>>shift)] == n {
			continue // every key has this byte
		}
		var sum int32
		for b := range c {
			sum, c[b] = sum+c[b], sum
		}
		for _, k := range keys {
			b := byte(k >> shift)
			buf[c[b]] = k
			c[b]++
		}
		keys, buf = buf, keys
	}
	return keys
}

// ordered maps a distance to an integer that orders as cmp.Compare orders
// distances: NaN first, then -Inf .. +Inf, with -0 equal to +0.
func ordered(d float32) uint32 {
	if d != d {
		return 0
	}
	if d == 0 {
		d = 0 // -0 as +0
	}
	b := math.Float32bits(d)
	if b>>31 != 0 {
		return ^b
	}
	return b | 1<<31
}

func insertion(s []Hit, less func(a, b Hit) bool) {
	for i := 1; i < len(s); i++ {
		h := s[i]
		j := i
		for j > 0 && less(h, s[j-1]) {
			s[j] = s[j-1]
			j--
		}
		s[j] = h
	}
}

func lessL2(a, b Hit) bool { return byL2(a, b) < 0 }
func lessIP(a, b Hit) bool { return byIP(a, b) < 0 }

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
