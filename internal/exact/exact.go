// Package exact turns the scores of the many-to-many kernels into exact
// answers.
//
// A batch of queries is compared with stored vectors fastest as a matrix
// product: inner products from asm.DotTile, squared L2 distances expanded as
// ||q||² + ||x||² - 2<q, x> (asm.L2SqrTile). Those scores are rounded
// differently from the one-query kernels (asm.Dot, asm.L2Sqr), and the
// expansion loses every digit that the norms have and the distance has not:
// for vectors far from the origin, or a query next to a stored vector, it
// can be 0 or many times the true distance.
//
// A Collector keeps the matrix product for what it is good at, choosing
// candidates, and returns distances as the one-query kernels compute them.
// Every kernel score s of a row x is within e = c·(||q||² + ||x||²) of the
// exact value (c from ErrorScale, a bound on the rounding error of any
// summation order, for the product and for the direct form alike). The
// Collector tracks U, the k-th smallest upper bound s + e seen, and keeps
// every row whose lower bound s - e does not exceed it: the rows of the
// exact top k, ties included, are always among those. Flush computes their
// distances with the one-query kernel and pushes them into the caller's
// heap, so a batch returns the same ids and the same distances, bit for bit,
// as each of its queries searched alone. Usually only about k rows are
// recomputed; on data whose norms dwarf its distances every row can be,
// which costs about one more pass of the direct kernel.
package exact

import (
	"math"
	"math/bits"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/metric"
)

// unitRoundoff is float32's unit roundoff, 2^-24.
const unitRoundoff = 1.0 / (1 << 24)

// ErrorScale returns c such that a kernel score of a query q and a row x of
// d floats, and the direct one-query value, differ by at most
// c·(||q||² + ||x||²), norms as asm.SqNorms computes them.
//
// Any summation of n products has an error of at most γn·Σ|qᵢxᵢ|, with
// γn ≈ n·u, and Σ|qᵢxᵢ| <= (||q||² + ||x||²)/2. The depth n is taken as
// d plus the partial sums of the tiled kernel's chunks, with room to spare.
// Inner product: two such sums (kernel and direct) differ by at most
// γn·(||q||² + ||x||²). L2: the norms, twice the product and the two final
// operations of the expansion, and the direct sum of squared differences
// (at most 2(||q||² + ||x||²)), give (4γn + 4u)(||q||² + ||x||²). A factor
// 5/4 covers the rounding of the norms themselves.
func ErrorScale(d int, m metric.Metric) float32 {
	n := float64(d + d/64 + 16)
	var c float64
	if m == metric.InnerProduct {
		c = (n + 1) * unitRoundoff
	} else {
		c = (4*n + 4) * unitRoundoff
	}
	return float32(1.25 * c)
}

// candidate is a row that may be among the best k: row row of the rows of
// the Offer call recorded as source src. It holds no pointer, so keeping one
// costs no write barrier.
type candidate struct {
	lb  float32 // lower bound of its key
	src int32
	row int32
	id  int64
}

// Collector gathers one query's candidates from kernel scores. The zero
// value is ready for Reset; a Collector reuses its buffers across Resets.
type Collector struct {
	ip    bool
	scale float32
	q     []float32
	qn    float32

	upper kth // the k-th smallest upper bound

	cand   []candidate
	srcs   [][]float32 // the rows of the Offer calls that gave candidates
	limit  int
	filter kume.IDFilter
}

// Reset prepares c for query q, whose squared norm is qn, k results, metric
// m and error scale (ErrorScale(len(q), m)).
func (c *Collector) Reset(q []float32, qn float32, k int, m metric.Metric, scale float32) {
	c.ip = m == metric.InnerProduct
	c.scale = scale
	c.q, c.qn = q, qn
	c.upper.reset(k)
	c.cand = c.cand[:0]
	clear(c.srcs)
	c.srcs = c.srcs[:0]
	c.limit = max(2*k, 64)
	c.filter = nil
}

// SetFilter makes c ignore the rows whose ids f does not contain (nil: keep
// every row), until the next Reset. A filtered row neither becomes a
// candidate nor lowers the bound the others are kept by.
func (c *Collector) SetFilter(f kume.IDFilter) { c.filter = f }

// Offer takes the inner products of the query with consecutive rows, as
// asm.DotTile computes them, for either metric: under L2 the collector
// expands them itself into ||q||² + ||x||² - 2<q, x> (clamped at 0, as
// asm.L2SqrTile does), but only for the few rows that pass a quick test, so
// that most rows cost a load and a comparison. Row j is rows[j*d:(j+1)*d],
// with squared norm norms[j] and id ids[j], or base+j when ids is nil;
// normMax is at least every norms[j]. The rows must stay unchanged until
// Flush.
func (c *Collector) Offer(dots, rows, norms []float32, normMax float32, ids []int64, base int64) {
	o := offer{rows: rows, norms: norms, normMax: normMax, ids: ids, base: base, src: -1}
	o.thr = c.upper.threshold()
	c.bounds(&o)
	// Most rows fail the first test; the loops are kept to it.
	if c.ip {
		for j, s := range dots {
			if -s > o.reject {
				continue // false for NaN: such a row is looked at
			}
			c.offerRow(&o, j, -s)
		}
		return
	}
	norms = norms[:len(dots)]
	for j0 := 0; j0 < len(dots); j0 += 32 {
		j1 := min(j0+32, len(dots))
		// The rows that pass the quick test (NaN rows too), 32 at a time:
		// usually none. A row offered may tighten the bound for the rows
		// after it, which are tested again.
		for m := asm.L2Candidates(dots[j0:j1], norms[j0:j1], o.quick); m != 0; m &= m - 1 {
			j := j0 + bits.TrailingZeros32(m)
			s := dots[j]
			if norms[j]-2*s > o.quick {
				continue // false for NaN: such a row is looked at
			}
			key := c.qn + norms[j] - 2*s
			if key < 0 {
				key = 0
			}
			c.offerRow(&o, j, key)
		}
	}
}

// offer is the state of one Offer call.
type offer struct {
	rows, norms []float32
	normMax     float32
	ids         []int64
	base        int64
	thr, reject float32
	quick       float32 // L2: rows with ||x||² - 2<q, x> above it are rejected
	src         int32   // rows, once recorded in c.srcs
}

// bounds sets o's reject bound (and, under L2, its quick bound on
// ||x||² - 2<q, x>) from its threshold. The quick bound is reject - ||q||²
// widened by 32 float32 steps of the magnitudes involved, more than the
// rounding of evaluating the expansion in another order can move it.
func (c *Collector) bounds(o *offer) {
	o.reject = c.rejectAbove(o.thr, o.normMax)
	if !c.ip {
		o.quick = o.reject - c.qn + 32*unitRoundoff*(c.qn+o.normMax+abs(o.reject))
	}
}

// offerRow keeps row j, whose key (squared distance or negated inner
// product) passed the tile's quick test, when its own bound lets it be
// among the best k.
func (c *Collector) offerRow(o *offer, j int, key float32) {
	e := c.scale * (c.qn + o.norms[j])
	lb := key - e
	if lb > o.thr { // false for NaN: such a row stays a candidate
		return
	}
	id := o.base + int64(j)
	if o.ids != nil {
		id = o.ids[j]
	}
	if c.filter != nil && !c.filter.Contains(id) {
		return
	}
	ub := key + e
	if ub <= o.thr || ub != ub {
		if ub != ub {
			ub = float32(math.Inf(1))
		}
		c.upper.push(ub)
		o.thr = c.upper.threshold()
		c.bounds(o)
	}
	if o.src < 0 {
		o.src = int32(len(c.srcs))
		c.srcs = append(c.srcs, o.rows)
	}
	c.cand = append(c.cand, candidate{lb: lb, src: o.src, row: int32(j), id: id})
	if len(c.cand) >= c.limit {
		c.prune(o.thr)
		c.limit = max(c.limit, 2*len(c.cand))
	}
}

// rejectAbove returns a key above which no row whose squared norm is at
// most normMax can have a lower bound at or below thr: thr plus the largest
// error bound, moved up a few float32 steps so that the rounding of the sum
// never rejects a row the exact test would keep.
func (c *Collector) rejectAbove(thr, normMax float32) float32 {
	r := thr + c.scale*(c.qn+normMax)
	// A few float32 steps up (2^-21 relative, and an absolute step for
	// sums near 0): room for the rounding of r.
	return r + abs(r)*(1.0/(1<<21)) + 1e-30
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// prune drops the candidates whose lower bound exceeds thr.
func (c *Collector) prune(thr float32) {
	w := 0
	for _, cd := range c.cand {
		if !(cd.lb > thr) {
			c.cand[w] = cd
			w++
		}
	}
	c.cand = c.cand[:w]
}

// Flush computes the exact key (squared distance, or negated inner product)
// of every candidate that can still be among the best k and pushes it into
// h, which may already hold exact entries from elsewhere. It leaves c empty.
func (c *Collector) Flush(h *topk.Heap) {
	thr := c.upper.threshold()
	d := len(c.q)
	for _, cd := range c.cand {
		if cd.lb > thr || cd.lb > h.Threshold() {
			continue
		}
		row := c.srcs[cd.src][int(cd.row)*d : int(cd.row+1)*d]
		var key float32
		if c.ip {
			key = -asm.Dot(c.q, row)
		} else {
			key = asm.L2Sqr(c.q, row)
		}
		h.Push(key, cd.id)
	}
	c.cand = c.cand[:0]
	clear(c.srcs)
	c.srcs = c.srcs[:0]
	c.q = nil
}
