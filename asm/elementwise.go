package asm

import (
	"fmt"
	"math"
)

// Sub writes x[i] - y[i] into dst[i] for every i; the three slices must have
// the same length (dst may be x or y). Every implementation rounds each
// difference alone, so the results are the same bit for bit.
func Sub(dst, x, y []float32) {
	if len(x) != len(y) || len(dst) != len(x) {
		panic(fmt.Sprintf("asm.Sub: lengths %d, %d and %d", len(dst), len(x), len(y)))
	}
	for len(x) > 0 {
		n := min(len(x), chunkFloats) &^ 7
		if n > 0 {
			fk.sub(dst[:n], x[:n], y[:n])
		} else {
			n = len(x)
			subGeneric(dst, x, y)
		}
		dst, x, y = dst[n:], x[n:], y[n:]
	}
}

// AnyAbsAtLeast reports whether some value of x is a NaN or has a magnitude
// of at least lim, which must be positive (+Inf finds the NaNs and the
// infinities).
func AnyAbsAtLeast(x []float32, lim float32) bool {
	if !(lim > 0) {
		panic(fmt.Sprintf("asm.AnyAbsAtLeast: limit %v", lim))
	}
	off := absOffset(lim)
	for len(x) > 0 {
		n := min(len(x), chunkFloats) &^ 7
		var found bool
		if n > 0 {
			found = fk.anyAtLeast(x[:n], off)
		} else {
			n = len(x)
			found = anyAtLeastGeneric(x, off)
		}
		if found {
			return true
		}
		x = x[n:]
	}
	return false
}

// absOffset is the number that, added to the bits of a magnitude (a value's
// bits without the sign), sets their top bit exactly when the magnitude is
// at least lim or a NaN: finite magnitudes and +Inf order as their bits do
// and NaNs' bits lie above +Inf's, and with 1 <= bits(lim) the sum of at
// most 2³¹-1 and 2³¹-bits(lim) does not wrap.
func absOffset(lim float32) uint32 { return 0x80000000 - math.Float32bits(lim) }

// The pure-Go twins of the element-wise kernels; the kernels get lengths
// that are multiples of 8, at least 8.

func subGeneric(dst, x, y []float32) {
	y, dst = y[:len(x)], dst[:len(x)]
	for i, v := range x {
		dst[i] = v - y[i]
	}
}

func anyAtLeastGeneric(x []float32, off uint32) bool {
	var acc uint32
	for _, v := range x {
		acc |= math.Float32bits(v)&0x7fffffff + off
	}
	return acc&0x80000000 != 0
}
