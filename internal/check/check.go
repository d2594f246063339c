// Package check validates the inputs every index receives, so that each
// index reports bad input with the same errors.
package check

import (
	"fmt"
	"math"

	"github.com/kume-ann/kume"
)

// Vectors checks that x holds whole rows of d floats, all finite, and returns
// the number of rows. what names the argument in the error ("training set",
// "queries", ...).
func Vectors(what string, x []float32, d int) (int, error) {
	if d <= 0 {
		return 0, fmt.Errorf("%w: dimension %d", kume.ErrInvalidArgument, d)
	}
	if len(x)%d != 0 {
		return 0, fmt.Errorf("%w: %s has %d floats, not a multiple of d = %d", kume.ErrDimension, what, len(x), d)
	}
	if i := firstNonFinite(x); i >= 0 {
		return 0, fmt.Errorf("%w: %s row %d, component %d is %v", kume.ErrNonFinite, what, i/d, i%d, x[i])
	}
	return len(x) / d, nil
}

// firstNonFinite returns the index of the first NaN or infinity in x, or -1.
// A float32 is not finite when its exponent bits are all ones; adding one
// to the exponent field then carries into the top bit, so or-ing that sum
// over a chunk of values tells, without a branch per value, whether the
// chunk holds one.
func firstNonFinite(x []float32) int {
	const chunk = 64
	for c := 0; c < len(x); c += chunk {
		part := x[c:min(c+chunk, len(x))]
		var acc uint32
		for _, v := range part {
			acc |= math.Float32bits(v)&0x7f800000 + 0x00800000
		}
		if acc&0x80000000 == 0 {
			continue
		}
		for i, v := range part {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return c + i
			}
		}
	}
	return -1
}

// Search checks the arguments of a search: finite queries of dimension d and
// k >= 1. It returns the number of queries.
func Search(queries []float32, d, k int) (int, error) {
	if k <= 0 {
		return 0, fmt.Errorf("%w: k = %d, want k >= 1", kume.ErrInvalidArgument, k)
	}
	return Vectors("queries", queries, d)
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
