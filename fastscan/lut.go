package fastscan

import (
	"math"

	"github.com/kume-ann/kume/asm"
)

// QuantizeTables turns nt float tables (m rows of 16 entries each, smaller is
// better) plus a float bias per table into uint8 tables (m2 rows each; rows m
// .. m2-1 zero) and uint16 biases, such that for any codes
//
//	bias[j] + Σ_s table_j[s][code_s]  ≈  b + (biasq[j] + Σ_s q_j[s][code_s]) / a
//
// with one scale a and offset b shared by all tables, so sums from different
// tables (the probes of one query) compare. Each entry is rounded to the
// nearest step of 1/a.
//
// With flat set this is FAISS's rule for the flat fast-scan index: one table,
// no bias, a = 255 / (largest row span). Otherwise it is FAISS's rule for IVF
// fast scan, which also keeps every possible sum (bias included) within 16
// bits: rows are shifted by their minimum, and a is the smaller of 255 /
// (largest row span) and 65535 / (largest total span of a table plus its
// bias above the smallest).
func (st *Scanner) QuantizeTables(q []byte, biasq []uint16, tables, bias []float32, nt, m int, flat bool) (a, b float32) {
	m2 := M2(m)
	lo, hi := st.rs.ranges(tables[:nt*m*KSub])
	var maxSpan, maxTotal float32
	b = float32(math.Inf(1))
	for j := 0; j < nt; j++ {
		var sumMin, sumSpan float32
		for s := j * m; s < (j+1)*m; s++ {
			sumMin += lo[s]
			sumSpan += hi[s] - lo[s]
			maxSpan = max(maxSpan, hi[s]-lo[s])
		}
		bias2 := sumMin
		if bias != nil {
			bias2 += bias[j]
		}
		b = min(b, bias2)
		maxTotal = max(maxTotal, bias2+sumSpan) // minus b below
	}
	a = scale(maxSpan, maxTotal-b, flat)
	for j := 0; j < nt; j++ {
		sumMin := fillLUT(q[j*m2*KSub:(j+1)*m2*KSub], tables[j*m*KSub:(j+1)*m*KSub], lo[j*m:(j+1)*m], a)
		if biasq != nil {
			bias2 := sumMin
			if bias != nil {
				bias2 += bias[j]
			}
			biasq[j] = uint16(math.Floor(float64(float32((bias2-b)*a) + 0.5)))
		}
	}
	return a, b
}

// QuantizeShared quantizes one table shared by every probe, with a bias per
// probe, under FAISS's IVF rule: the offset is the table's summed row minima
// plus the smallest bias, and the 16-bit budget must hold the spread of the
// biases plus the summed row spans.
func (st *Scanner) QuantizeShared(lut []byte, biasq []uint16, table, bias []float32, m int) (a, b float32) {
	lo, hi := st.rs.ranges(table[:m*KSub])
	var sumMin, sumSpan, maxSpan float32
	for s := range lo {
		sumMin += lo[s]
		sumSpan += hi[s] - lo[s]
		maxSpan = max(maxSpan, hi[s]-lo[s])
	}
	minBias, maxBias := float32(0), float32(0)
	if len(bias) > 0 {
		minBias, maxBias = bias[0], bias[0]
		for _, v := range bias[1:] {
			minBias, maxBias = min(minBias, v), max(maxBias, v)
		}
	}
	a = scale(maxSpan, maxBias-minBias+sumSpan, false)
	fillLUT(lut, table, lo, a)
	for j, v := range bias {
		biasq[j] = uint16(math.Floor(float64(float32((v-minBias)*a) + 0.5)))
	}
	return a, sumMin + minBias
}

// rangeScratch holds the row minima and maxima of the tables of one query.
type rangeScratch struct{ lo, hi []float32 }

// ranges returns the minimum and maximum of each row of 16 values of t.
func (rs *rangeScratch) ranges(t []float32) (lo, hi []float32) {
	n := len(t) / 16
	if cap(rs.lo) < n {
		rs.lo, rs.hi = make([]float32, n), make([]float32, n)
	}
	lo, hi = rs.lo[:n], rs.hi[:n]
	asm.RowRanges(lo, hi, t)
	return lo, hi
}

// scale is the quantization scale: 255 steps over the widest row, and, under
// the IVF rule, no more than 65535 steps over the largest possible sum.
// Degenerate tables (all rows constant) get 0.
func scale(maxSpan, maxTotal float32, flat bool) float32 {
	a := 255 / maxSpan
	if !flat {
		a = min(a, 65535/maxTotal)
	}
	if maxSpan == 0 || math.IsInf(float64(a), 0) || math.IsNaN(float64(a)) {
		return 0
	}
	return a
}

// fillLUT writes the uint8 table of one float table (m rows of 16, row
// minima lo) with scale a: each row shifted by its minimum, rounded to the
// nearest step; rows m .. M2-1 are zero. It returns the sum of the row
// minima.
func fillLUT(out []byte, t, lo []float32, a float32) float32 {
	m := len(lo)
	asm.QuantizeRows(out[:m*KSub], t[:m*KSub], lo, a)
	clear(out[m*KSub:])
	var sumMin float32
	for _, v := range lo {
		sumMin += v
	}
	return sumMin
}

// distance turns an accumulated sum back into the float estimate.
func distance(acc float32, a, b float32) float32 {
	if a == 0 {
		return b
	}
	return b + acc/a
}
