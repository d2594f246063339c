//go:build !purego

package asm

// minValueAVX2 returns the smallest value of x (len a multiple of 8, >= 8).
//
//go:noescape
func minValueAVX2(x []float32) float32

// firstEqualAVX2 returns the first index of a value equal to v in x (len a
// multiple of 8), or -1.
//
//go:noescape
func firstEqualAVX2(x []float32, v float32) int

// atMostAVX2 writes into dst the indices of the values of x (len a multiple
// of 8, len(dst) >= len(x)) that are <= thr and returns how many.
//
//go:noescape
func atMostAVX2(dst []int32, x []float32, thr float32) int
