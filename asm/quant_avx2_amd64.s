// Look-up-table quantization helpers for amd64 with AVX2, for rows of 16
// float32 values (one product-quantization sub-table per row).
//
// rowRangesAVX2 writes the minimum and maximum of each row: the two halves
// of a row are combined with VMINPS/VMAXPS, then each 8-lane result is
// folded in three steps (128-bit halves, 64-bit halves, 32-bit halves).
// The values are finite, so VMINPS/VMAXPS agree with ordered comparisons.
//
// quantizeRowsAVX2 writes, for each row r and column c, the byte
// trunc(float32((t - lo[r]) * a) + 0.5): VSUBPS, VMULPS and VADDPS, each
// rounded to float32 (no fused multiply-add), then VCVTTPS2DQ truncates.
// The 16 int32 results, all in 0..255, are packed to words (VPACKSSDW),
// put back in order (VPERMQ) and packed to bytes (VPACKUSWB).

//go:build !purego

#include "textflag.h"

// func rowRangesAVX2(lo *float32, hi *float32, t *float32, rows int)
TEXT ·rowRangesAVX2(SB), NOSPLIT, $0-32
	MOVQ lo+0(FP), DI
	MOVQ hi+8(FP), R8
	MOVQ t+16(FP), SI
	MOVQ rows+24(FP), CX

row:
	VMOVUPS      (SI), Y0
	VMOVUPS      32(SI), Y1
	VMINPS       Y1, Y0, Y2
	VMAXPS       Y1, Y0, Y3
	VEXTRACTF128 $1, Y2, X4
	VMINPS       X4, X2, X2
	VEXTRACTF128 $1, Y3, X5
	VMAXPS       X5, X3, X3
	VPERMILPS    $0x4e, X2, X4 // swap the 64-bit halves
	VMINPS       X4, X2, X2
	VPERMILPS    $0x4e, X3, X5
	VMAXPS       X5, X3, X3
	VPERMILPS    $0xb1, X2, X4 // swap neighbouring lanes
	VMINPS       X4, X2, X2
	VPERMILPS    $0xb1, X3, X5
	VMAXPS       X5, X3, X3
	VMOVSS       X2, (DI)
	VMOVSS       X3, (R8)
	ADDQ         $64, SI
	ADDQ         $4, DI
	ADDQ         $4, R8
	DECQ         CX
	JNZ          row
	VZEROUPPER
	RET

// func quantizeRowsAVX2(dst *byte, t *float32, lo *float32, rows int, a float32)
TEXT ·quantizeRowsAVX2(SB), NOSPLIT, $0-36
	MOVQ         dst+0(FP), DI
	MOVQ         t+8(FP), SI
	MOVQ         lo+16(FP), R8
	MOVQ         rows+24(FP), CX
	VBROADCASTSS a+32(FP), Y14
	MOVL         $0x3f000000, AX // 0.5
	MOVL         AX, X15
	VBROADCASTSS X15, Y15

qrow:
	VBROADCASTSS (R8), Y2
	VMOVUPS      (SI), Y0
	VMOVUPS      32(SI), Y1
	VSUBPS       Y2, Y0, Y0
	VSUBPS       Y2, Y1, Y1
	VMULPS       Y14, Y0, Y0
	VMULPS       Y14, Y1, Y1
	VADDPS       Y15, Y0, Y0
	VADDPS       Y15, Y1, Y1
	VCVTTPS2DQ   Y0, Y0
	VCVTTPS2DQ   Y1, Y1
	VPACKSSDW    Y1, Y0, Y0      // words 0-3, 8-11 | 4-7, 12-15
	VPERMQ       $0xd8, Y0, Y0   // words 0-15 in order
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB    X1, X0, X0      // bytes 0-15
	VMOVDQU      X0, (DI)
	ADDQ         $64, SI
	ADDQ         $4, R8
	ADDQ         $16, DI
	DECQ         CX
	JNZ          qrow
	VZEROUPPER
	RET
