// Package check validates the inputs every index receives, so that each
// index reports bad input with the same errors.
package check

import (
	"fmt"
	"math"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
)

// Vectors checks that x holds whole rows of d floats, all finite, none so
// large that the row's squared norm overflows float32, and returns the number
// of rows. what names the argument in the error ("training set", "queries",
// ...).
//
// The norm bound makes every distance kume computes well defined: an inner
// product of two such rows cannot overflow (|<x, y>| <= ||x||·||y||), a
// squared L2 distance can at worst be +Inf, never NaN, and the error bounds
// of batched distances stay finite.
func Vectors(what string, x []float32, d int) (int, error) {
	n, err := Shape(what, x, d)
	if err != nil {
		return 0, err
	}
	if err := Values(what, x, d); err != nil {
		return 0, err
	}
	return n, nil
}

// Shape is the part of Vectors that does not read the values: d >= 1 and x
// whole rows of d floats. It returns the number of rows.
func Shape(what string, x []float32, d int) (int, error) {
	if d <= 0 {
		return 0, fmt.Errorf("%w: dimension %d", kume.ErrInvalidArgument, d)
	}
	if len(x)%d != 0 {
		return 0, fmt.Errorf("%w: %s has %d floats, not a multiple of d = %d", kume.ErrDimension, what, len(x), d)
	}
	return len(x) / d, nil
}

// Values is the rest of Vectors, for x of whole rows of d >= 1 floats
// (Shape): every component finite, no row's squared norm beyond float32's
// range. Rows are numbered from the start of x.
func Values(what string, x []float32, d int) error {
	// One pass finds whether any component is non-finite or so large that
	// d of them squared could overflow; only then are the rows looked at.
	if !anyLarge(x, largeBits(d)) {
		return nil
	}
	if i := firstNonFinite(x); i >= 0 {
		return fmt.Errorf("%w: %s row %d, component %d is %v", kume.ErrNonFinite, what, i/d, i%d, x[i])
	}
	if r := firstOverflowingRow(x, d); r >= 0 {
		return fmt.Errorf("%w: %s row %d has a squared norm of %.3g, beyond float32's range (values too large)", kume.ErrNonFinite, what, r, sqNorm64(x[r*d:(r+1)*d]))
	}
	return nil
}

// largeBits returns the bits of the smallest magnitude L such that d
// components below it cannot make a squared norm overflow float32
// (d·L² < MaxFloat32), rounded down so that the test is safe.
func largeBits(d int) uint32 {
	l := float32(math.Sqrt(math.MaxFloat32/float64(d)) * (1 - 1e-6))
	return math.Float32bits(l)
}

// anyLarge reports whether some component of x has a magnitude of at least
// the float32 whose bits are lim (0 < lim <= +Inf's bits), NaN and ±Inf
// included.
func anyLarge(x []float32, lim uint32) bool {
	return asm.AnyAbsAtLeast(x, math.Float32frombits(lim))
}

// firstNonFinite returns the index of the first NaN or infinity in x, or -1.
func firstNonFinite(x []float32) int {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return i
		}
	}
	return -1
}

// firstOverflowingRow returns the first row of x whose squared norm is not
// below math.MaxFloat32, or -1.
func firstOverflowingRow(x []float32, d int) int {
	for r := 0; r < len(x)/d; r++ {
		if sqNorm64(x[r*d:(r+1)*d]) >= math.MaxFloat32 {
			return r
		}
	}
	return -1
}

func sqNorm64(row []float32) float64 {
	var s float64
	for _, v := range row {
		s += float64(v) * float64(v)
	}
	return s
}

// Search checks the arguments of a search: finite queries of dimension d and
// 1 <= k with nq*k <= kume.MaxResults. It returns the number of queries.
func Search(queries []float32, d, k int) (int, error) {
	nq, err := SearchShape(queries, d, k)
	if err != nil {
		return 0, err
	}
	if err := Values("queries", queries, d); err != nil {
		return 0, err
	}
	return nq, nil
}

// SearchShape is the part of Search that does not read the queries'
// values (Values checks them).
func SearchShape(queries []float32, d, k int) (int, error) {
	if k <= 0 {
		return 0, fmt.Errorf("%w: k = %d, want k >= 1", kume.ErrInvalidArgument, k)
	}
	nq, err := Shape("queries", queries, d)
	if err != nil {
		return 0, err
	}
	if err := Results(nq, k); err != nil {
		return 0, err
	}
	return nq, nil
}

// Results checks that nq queries with k results each fit kume.MaxResults
// (no overflow of nq*k).
func Results(nq, k int) error {
	if k > kume.MaxResults || (nq > 0 && k > kume.MaxResults/nq) {
		return fmt.Errorf("%w: %d queries x k = %d results, more than the %d one search may return", kume.ErrInvalidArgument, nq, k, kume.MaxResults)
	}
	return nil
}

// IDs checks that there is one id per vector and that no id is negative (-1
// marks an empty result slot, so it cannot name a vector).
func IDs(ids []int64, n int) error {
	if len(ids) != n {
		return fmt.Errorf("%w: %d ids for %d vectors", kume.ErrInvalidArgument, len(ids), n)
	}
	for i, id := range ids {
		if id < 0 {
			return fmt.Errorf("%w: id %d at position %d is negative", kume.ErrInvalidArgument, id, i)
		}
	}
	return nil
}

// Add checks the arguments of an Add: vectors of dimension d and, unless
// ids is nil (the index numbers the vectors), one non-negative id per
// vector. It returns the number of vectors. AddWithIDs passes its ids
// through Given, so that a nil slice there counts as no ids at all.
func Add(v []float32, d int, ids []int64) (int, error) {
	n, err := Vectors("vectors", v, d)
	if err != nil {
		return 0, err
	}
	if ids != nil {
		if err := IDs(ids, n); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Given returns ids, or an empty slice for nil ones: the ids an
// AddWithIDs was given, as Add checks them.
func Given(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// IDRange checks the arguments of ReconstructN(i0, n) on an index holding
// stored vectors: a range that is negative or runs past math.MaxInt64 is an
// ErrInvalidArgument, one longer than what is stored an ErrNotFound (some id
// in it cannot be there), so callers never allocate for it.
func IDRange(i0, n int64, stored int) error {
	if i0 < 0 || n < 0 || i0 > math.MaxInt64-n {
		return fmt.Errorf("%w: ReconstructN(%d, %d)", kume.ErrInvalidArgument, i0, n)
	}
	if n > int64(stored) {
		return fmt.Errorf("%w: %d vectors asked for, %d stored", kume.ErrNotFound, n, stored)
	}
	return nil
}

// NextIDs returns the first of n ids for Add on an index whose next id is
// next (one more than the largest id it ever stored), or an error when the
// ids would run past math.MaxInt64.
func NextIDs(next int64, n int) (int64, error) {
	if next < 0 || int64(n) > math.MaxInt64-next {
		return 0, fmt.Errorf("%w: no ids left: the next id is %d, %d vectors to add", kume.ErrInvalidArgument, next, n)
	}
	return next, nil
}

// AfterIDs returns the next id of an index whose next id was next once it
// also holds ids: one more than the largest of them, or next when that is
// larger. An id of math.MaxInt64 leaves no id for Add: the result is then -1
// (NextIDs refuses it).
func AfterIDs(next int64, ids []int64) int64 {
	if next < 0 {
		return next
	}
	for _, id := range ids {
		if id == math.MaxInt64 {
			return -1
		}
		next = max(next, id+1)
	}
	return next
}
