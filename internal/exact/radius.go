package exact

import (
	"math/bits"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/rangeres"
	"github.com/kume-ann/kume/metric"
)

// Radius picks one query's range results out of kernel scores: the rows
// whose score, within its error bound, can be inside the radius are
// measured again with the one-query kernel, whose value decides and is the
// distance returned. Every row inside the radius is found (its lower bound
// is inside too), and the results are those of ScanRadius, bit for bit.
// The zero value is ready for Reset.
type Radius struct {
	ip     bool
	scale  float32
	q      []float32
	qn     float32
	radius float32
	thr    float32 // the radius as a key: radius under L2, -radius under IP
	filter kume.IDFilter
}

// Reset prepares r for query q, whose squared norm is qn, under metric m
// with error scale (ErrorScale(len(q), m)), radius radius and filter f (nil:
// every id).
func (r *Radius) Reset(q []float32, qn float32, m metric.Metric, scale, radius float32, f kume.IDFilter) {
	r.ip = m == metric.InnerProduct
	r.scale, r.q, r.qn, r.radius, r.filter = scale, q, qn, radius, f
	r.thr = radius
	if r.ip {
		r.thr = -radius
	}
}

// Radius returns the radius of the last Reset.
func (r *Radius) Radius() float32 { return r.radius }

// Offer appends to hits the rows within the radius among consecutive rows
// whose inner products with the query are dots (as asm.DotTile computes
// them, for either metric: under L2 the distance is expanded from them
// only for the rows that pass a quick test), with their one-query kernel
// values. Row j is rows[j*d:(j+1)*d], with squared norm norms[j] and id
// ids[j], or base+j when ids is nil; normMax is at least every norms[j].
func (r *Radius) Offer(hits []rangeres.Hit, dots, rows, norms []float32, normMax float32, ids []int64, base int64) []rangeres.Hit {
	// A key above reject has a lower bound above the radius for any row of
	// these norms (rejectAbove's rule, the Collector's).
	reject := r.thr + r.scale*(r.qn+normMax)
	reject += abs(reject)*(1.0/(1<<21)) + 1e-30
	d := len(r.q)
	if r.ip {
		for j, s := range dots {
			if -s > reject {
				continue // false for NaN: such a row is measured
			}
			hits = r.offerRow(hits, -s, j, rows[j*d:(j+1)*d], norms[j], ids, base)
		}
		return hits
	}
	// Under L2 the test is on ||x||² - 2<q, x>, without the query's norm,
	// widened as the Collector's quick bound is.
	quick := reject - r.qn + 32*unitRoundoff*(r.qn+normMax+abs(reject))
	norms = norms[:len(dots)]
	for j0 := 0; j0 < len(dots); j0 += 32 {
		j1 := min(j0+32, len(dots))
		// The rows that pass the quick test (NaN rows too): usually none.
		for m := asm.L2Candidates(dots[j0:j1], norms[j0:j1], quick); m != 0; m &= m - 1 {
			j := j0 + bits.TrailingZeros32(m)
			key := r.qn + norms[j] - 2*dots[j]
			if key < 0 {
				key = 0
			}
			hits = r.offerRow(hits, key, j, rows[j*d:(j+1)*d], norms[j], ids, base)
		}
	}
	return hits
}

// offerRow measures row j, whose key passed the quick test, when its own
// lower bound is within the radius, and appends it when the measure is.
func (r *Radius) offerRow(hits []rangeres.Hit, key float32, j int, row []float32, norm float32, ids []int64, base int64) []rangeres.Hit {
	if key-r.scale*(r.qn+norm) > r.thr { // false for NaN: measured
		return hits
	}
	id := base + int64(j)
	if ids != nil {
		id = ids[j]
	}
	if r.filter != nil && !r.filter.Contains(id) {
		return hits
	}
	if r.ip {
		if v := asm.Dot(r.q, row); v > r.radius {
			hits = append(hits, rangeres.Hit{Dist: v, ID: id})
		}
		return hits
	}
	if v := asm.L2Sqr(r.q, row); v < r.radius {
		hits = append(hits, rangeres.Hit{Dist: v, ID: id})
	}
	return hits
}
