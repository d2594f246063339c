//go:build !purego

package asm

// dot32AVX2 is Dot32 in AVX2 + FMA (dot32_avx2_amd64.s).
//
//go:noescape
func dot32AVX2(x, y *[32]float32) float32
