// Dot32 for amd64 (AVX2 + FMA): the inner product of two rows of 32
// floats, four 8-float products in two accumulators, then their horizontal
// sum. The AVX-512 level uses it too: 32 floats are two ZMM registers, no
// fewer instructions. Hand-written: a single fixed-length block is clearer
// as assembly than as a generator.

//go:build !purego

#include "textflag.h"

// func dot32AVX2(x, y *[32]float32) float32
TEXT ·dot32AVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	VMOVUPS      (SI), Y0
	VMOVUPS      32(SI), Y1
	VMULPS       (DI), Y0, Y0
	VMULPS       32(DI), Y1, Y1
	VMOVUPS      64(SI), Y2
	VMOVUPS      96(SI), Y3
	VFMADD231PS  64(DI), Y2, Y0
	VFMADD231PS  96(DI), Y3, Y1
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X1, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+16(FP)
	RET
