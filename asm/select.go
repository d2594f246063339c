package asm

import (
	"fmt"
	"math"
	"slices"
)

// ArgMin returns the index of the first smallest value of x, which must not
// be empty; NaNs are never chosen (0 when every value is NaN). -0 and +0
// are equal: the first of them wins.
func ArgMin(x []float32) int {
	if len(x) == 0 {
		panic("asm.ArgMin: empty slice")
	}
	n8 := len(x) &^ 7
	m := x[0]
	if n8 > 0 {
		m = fk.minValue(x[:n8])
	}
	for _, v := range x[n8:] {
		if v < m || m != m {
			m = v
		}
	}
	// m is NaN only when every value is.
	if n8 > 0 {
		if i := fk.firstEqual(x[:n8], m); i >= 0 {
			return i
		}
	}
	for i := n8; i < len(x); i++ {
		if x[i] == m {
			return i
		}
	}
	return 0 // every value is NaN
}

// Min returns the smallest value of x, NaNs aside: +Inf when x is empty or
// holds only NaNs and +Inf. Of -0 and +0, either may be returned.
func Min(x []float32) float32 {
	n8 := len(x) &^ 7
	m := float32(math.Inf(1))
	if n8 > 0 {
		m = fk.minValue(x[:n8])
	}
	for _, v := range x[n8:] {
		if v < m {
			m = v
		}
	}
	return m
}

// AppendAtMost appends to dst the indices i, in increasing order, of the
// values x[i] <= thr (never of a NaN), and returns the extended slice. x
// must hold fewer than 2³¹ values.
func AppendAtMost(dst []int32, x []float32, thr float32) []int32 {
	if len(x) > 1<<31-1 {
		panic(fmt.Sprintf("asm.AppendAtMost: %d values", len(x)))
	}
	n8 := len(x) &^ 7
	if n8 > 0 {
		dst = slices.Grow(dst, n8)
		n := len(dst)
		dst = dst[:n+fk.atMost(dst[n:n+n8], x[:n8], thr)]
	}
	for i := n8; i < len(x); i++ {
		if x[i] <= thr {
			dst = append(dst, int32(i))
		}
	}
	return dst
}

// The pure-Go twins of the selection kernels. Their inputs have a length
// that is a multiple of 8, at least 8.

// minValueGeneric returns the smallest value of x, NaNs aside: +Inf when x
// holds only NaN and +Inf.
func minValueGeneric(x []float32) float32 {
	m := float32(math.Inf(1))
	for _, v := range x {
		if v < m {
			m = v
		}
	}
	return m
}

// firstEqualGeneric returns the first index of a value equal to v, or -1.
func firstEqualGeneric(x []float32, v float32) int {
	for i, y := range x {
		if y == v {
			return i
		}
	}
	return -1
}

// atMostGeneric writes into dst (room for len(x)) the indices of the values
// <= thr and returns how many it wrote.
func atMostGeneric(dst []int32, x []float32, thr float32) int {
	n := 0
	for i, v := range x {
		if v <= thr {
			dst[n] = int32(i)
			n++
		}
	}
	return n
}
