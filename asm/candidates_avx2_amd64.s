// The quick test of the exact collectors for amd64 with AVX2, 32 rows per
// call: for each row, norms - 2*dots in float32 (VADDPS doubles exactly,
// VSUBPS rounds once, as Go evaluates the expression; no fused multiply-add)
// compared with t by VCMPPS with predicate NGT_UQ (0x1a): not greater than,
// true when unordered, so a NaN row is a candidate. VMOVMSKPS gathers the
// eight sign bits of each group of rows into the mask.

//go:build !purego

#include "textflag.h"

// func l2Candidates32AVX2(dots *float32, norms *float32, t float32) uint32
TEXT ·l2Candidates32AVX2(SB), NOSPLIT, $0-28
	MOVQ         dots+0(FP), SI
	MOVQ         norms+8(FP), DI
	VBROADCASTSS t+16(FP), Y0

	VMOVUPS   (SI), Y1
	VADDPS    Y1, Y1, Y1
	VMOVUPS   (DI), Y2
	VSUBPS    Y1, Y2, Y2
	VCMPPS    $0x1a, Y0, Y2, Y2
	VMOVMSKPS Y2, AX

	VMOVUPS   32(SI), Y1
	VADDPS    Y1, Y1, Y1
	VMOVUPS   32(DI), Y2
	VSUBPS    Y1, Y2, Y2
	VCMPPS    $0x1a, Y0, Y2, Y2
	VMOVMSKPS Y2, BX
	SHLL      $8, BX
	ORL       BX, AX

	VMOVUPS   64(SI), Y1
	VADDPS    Y1, Y1, Y1
	VMOVUPS   64(DI), Y2
	VSUBPS    Y1, Y2, Y2
	VCMPPS    $0x1a, Y0, Y2, Y2
	VMOVMSKPS Y2, BX
	SHLL      $16, BX
	ORL       BX, AX

	VMOVUPS   96(SI), Y1
	VADDPS    Y1, Y1, Y1
	VMOVUPS   96(DI), Y2
	VSUBPS    Y1, Y2, Y2
	VCMPPS    $0x1a, Y0, Y2, Y2
	VMOVMSKPS Y2, BX
	SHLL      $24, BX
	ORL       BX, AX

	VZEROUPPER
	MOVL AX, ret+24(FP)
	RET
