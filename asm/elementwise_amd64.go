//go:build !purego

package asm

// subAVX2 writes x - y into dst (one length, a multiple of 8, >= 8).
//
//go:noescape
func subAVX2(dst, x, y []float32)

// anyAtLeastAVX2 reports whether (bits(v) & 0x7fffffff) + off has its top
// bit set for some v of x (len a multiple of 8, >= 8): see absOffset.
//
//go:noescape
func anyAtLeastAVX2(x []float32, off uint32) bool
