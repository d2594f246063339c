// float32 distance kernels for arm64 with Advanced SIMD (NEON, 4 lanes):
// dot products and squared L2 distances of one query against many rows
// (dotManyNEON, l2ManyNEON), and the 4-row by 16-column micro-kernel of the
// tiled inner-product kernel DotTile (tile4x16NEON), which multiplies rows
// of xs by a packed panel of ys with broadcast FMAs. Tails are read one
// float at a time: no kernel reads past its inputs.
//
// The Go assembler has no vector forms of FADD, FSUB and FADDP; they are
// encoded with WORD by the macros below (Advanced SIMD, single precision,
// 128-bit):
//	FADD  Vd.4S, Vn.4S, Vm.4S   0x4E20D400 | m<<16 | n<<5 | d
//	FSUB  Vd.4S, Vn.4S, Vm.4S   0x4EA0D400 | m<<16 | n<<5 | d   (Vn - Vm)
//	FADDP Vd.4S, Vn.4S, Vm.4S   0x6E20D400 | m<<16 | n<<5 | d
//	FADDP Sd, Vn.2S             0x7E30D800 | n<<5 | d

//go:build !purego

#include "textflag.h"

#define FADD4S(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FSUB4S(d, n, m) WORD $(0x4EA0D400 | ((m)<<16) | ((n)<<5) | (d))
#define FADDP4S(d, n, m) WORD $(0x6E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FADDP2S(d, n) WORD $(0x7E30D800 | ((n)<<5) | (d))

// Sums the four lanes of V0..V3 into F0.
#define REDUCE4 \
	FADD4S(0, 0, 1) \
	FADD4S(2, 2, 3) \
	FADD4S(0, 0, 2) \
	FADDP4S(0, 0, 0) \
	FADDP2S(0, 0)

// func dotManyNEON(dst, q, ys []float32)
// dst[i] = <q, ys[i*d:(i+1)*d]>, d = len(q), for every i < len(dst).
TEXT ·dotManyNEON(SB), NOSPLIT, $0-72
	MOVD dst_base+0(FP), R0
	MOVD dst_len+8(FP), R1
	MOVD q_base+24(FP), R2
	MOVD q_len+32(FP), R3
	MOVD ys_base+48(FP), R4

dot_row:
	CBZ  R1, dot_done
	MOVD R2, R5                     // q cursor
	MOVD R3, R6                     // floats left in this row
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16

dot_loop16:
	CMP    $16, R6
	BLT    dot_loop4
	VLD1.P 64(R5), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1.P 64(R4), [V16.S4, V17.S4, V18.S4, V19.S4]
	VFMLA  V4.S4, V16.S4, V0.S4
	VFMLA  V5.S4, V17.S4, V1.S4
	VFMLA  V6.S4, V18.S4, V2.S4
	VFMLA  V7.S4, V19.S4, V3.S4
	SUB    $16, R6
	B      dot_loop16

dot_loop4:
	CMP    $4, R6
	BLT    dot_reduce
	VLD1.P 16(R5), [V4.S4]
	VLD1.P 16(R4), [V16.S4]
	VFMLA  V4.S4, V16.S4, V0.S4
	SUB    $4, R6
	B      dot_loop4

dot_reduce:
	REDUCE4

dot_loop1:
	CBZ    R6, dot_store
	FMOVS.P 4(R5), F4
	FMOVS.P 4(R4), F16
	FMADDS F4, F0, F16, F0          // F0 += F16 * F4
	SUB    $1, R6
	B      dot_loop1

dot_store:
	FMOVS.P F0, 4(R0)
	SUB     $1, R1
	B       dot_row

dot_done:
	RET

// func l2ManyNEON(dst, q, ys []float32)
// dst[i] = ||q - ys[i*d:(i+1)*d]||², d = len(q), for every i < len(dst).
TEXT ·l2ManyNEON(SB), NOSPLIT, $0-72
	MOVD dst_base+0(FP), R0
	MOVD dst_len+8(FP), R1
	MOVD q_base+24(FP), R2
	MOVD q_len+32(FP), R3
	MOVD ys_base+48(FP), R4

l2_row:
	CBZ  R1, l2_done
	MOVD R2, R5
	MOVD R3, R6
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16

l2_loop16:
	CMP    $16, R6
	BLT    l2_loop4
	VLD1.P 64(R5), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1.P 64(R4), [V16.S4, V17.S4, V18.S4, V19.S4]
	FSUB4S(16, 16, 4)
	FSUB4S(17, 17, 5)
	FSUB4S(18, 18, 6)
	FSUB4S(19, 19, 7)
	VFMLA  V16.S4, V16.S4, V0.S4
	VFMLA  V17.S4, V17.S4, V1.S4
	VFMLA  V18.S4, V18.S4, V2.S4
	VFMLA  V19.S4, V19.S4, V3.S4
	SUB    $16, R6
	B      l2_loop16

l2_loop4:
	CMP    $4, R6
	BLT    l2_reduce
	VLD1.P 16(R5), [V4.S4]
	VLD1.P 16(R4), [V16.S4]
	FSUB4S(16, 16, 4)
	VFMLA  V16.S4, V16.S4, V0.S4
	SUB    $4, R6
	B      l2_loop4

l2_reduce:
	REDUCE4

l2_loop1:
	CBZ     R6, l2_store
	FMOVS.P 4(R5), F4
	FMOVS.P 4(R4), F16
	FSUBS   F4, F16, F16            // F16 -= F4
	FMADDS  F16, F0, F16, F0        // F0 += F16 * F16
	SUB     $1, R6
	B       l2_loop1

l2_store:
	FMOVS.P F0, 4(R0)
	SUB     $1, R1
	B       l2_row

l2_done:
	RET

// Multiply-accumulate one k step: V16..V19 hold 16 panel columns, V20..V23
// the broadcast values of rows 0..3; row r accumulates into V(4r)..V(4r+3).
#define TILE_FMAS \
	VFMLA V16.S4, V20.S4, V0.S4  \
	VFMLA V17.S4, V20.S4, V1.S4  \
	VFMLA V18.S4, V20.S4, V2.S4  \
	VFMLA V19.S4, V20.S4, V3.S4  \
	VFMLA V16.S4, V21.S4, V4.S4  \
	VFMLA V17.S4, V21.S4, V5.S4  \
	VFMLA V18.S4, V21.S4, V6.S4  \
	VFMLA V19.S4, V21.S4, V7.S4  \
	VFMLA V16.S4, V22.S4, V8.S4  \
	VFMLA V17.S4, V22.S4, V9.S4  \
	VFMLA V18.S4, V22.S4, V10.S4 \
	VFMLA V19.S4, V22.S4, V11.S4 \
	VFMLA V16.S4, V23.S4, V12.S4 \
	VFMLA V17.S4, V23.S4, V13.S4 \
	VFMLA V18.S4, V23.S4, V14.S4 \
	VFMLA V19.S4, V23.S4, V15.S4

// Adds the 16 floats at R0 to V(a0)..V(a3).
#define TILE_ADD_ROW(a0, a1, a2, a3) \
	VLD1 (R0), [V16.S4, V17.S4, V18.S4, V19.S4] \
	FADD4S(a0, a0, 16)                          \
	FADD4S(a1, a1, 17)                          \
	FADD4S(a2, a2, 18)                          \
	FADD4S(a3, a3, 19)

// func tile4x16NEON(dst *float32, ldc int, a *float32, lda int, b *float32, kc int, accum int)
// For i < 4 and j < 16 it sets (accum == 0) or adds to (accum != 0)
// dst[i*ldc+j] the sum over k < kc of a[i*lda+k] * b[k*16+j].
TEXT ·tile4x16NEON(SB), NOSPLIT, $0-56
	MOVD dst+0(FP), R0
	MOVD ldc+8(FP), R1
	MOVD a+16(FP), R2
	MOVD lda+24(FP), R3
	MOVD b+32(FP), R4
	MOVD kc+40(FP), R5
	MOVD accum+48(FP), R6
	LSL  $2, R1, R1
	LSL  $2, R3, R3
	ADD  R3, R2, R7                 // row 1
	ADD  R3, R7, R8                 // row 2
	ADD  R3, R8, R9                 // row 3
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16

tile_loop2:
	CMP     $2, R5
	BLT     tile_loop1
	VLD1.P  64(R4), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1R.P 4(R2), [V20.S4]
	VLD1R.P 4(R7), [V21.S4]
	VLD1R.P 4(R8), [V22.S4]
	VLD1R.P 4(R9), [V23.S4]
	TILE_FMAS
	VLD1.P  64(R4), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1R.P 4(R2), [V20.S4]
	VLD1R.P 4(R7), [V21.S4]
	VLD1R.P 4(R8), [V22.S4]
	VLD1R.P 4(R9), [V23.S4]
	TILE_FMAS
	SUB     $2, R5
	B       tile_loop2

tile_loop1:
	CBZ     R5, tile_store
	VLD1.P  64(R4), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1R.P 4(R2), [V20.S4]
	VLD1R.P 4(R7), [V21.S4]
	VLD1R.P 4(R8), [V22.S4]
	VLD1R.P 4(R9), [V23.S4]
	TILE_FMAS

tile_store:
	CBZ  R6, tile_set
	TILE_ADD_ROW(0, 1, 2, 3)
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R0)
	ADD  R1, R0, R0
	TILE_ADD_ROW(4, 5, 6, 7)
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R0)
	ADD  R1, R0, R0
	TILE_ADD_ROW(8, 9, 10, 11)
	VST1 [V8.S4, V9.S4, V10.S4, V11.S4], (R0)
	ADD  R1, R0, R0
	TILE_ADD_ROW(12, 13, 14, 15)
	VST1 [V12.S4, V13.S4, V14.S4, V15.S4], (R0)
	RET

tile_set:
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R0)
	ADD  R1, R0, R0
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R0)
	ADD  R1, R0, R0
	VST1 [V8.S4, V9.S4, V10.S4, V11.S4], (R0)
	ADD  R1, R0, R0
	VST1 [V12.S4, V13.S4, V14.S4, V15.S4], (R0)
	RET
