// Selection kernels for AVX2: the smallest value of a slice, the first index
// of a given value, and the indices of the values at most a threshold. Every
// input length is a multiple of 8, at least 8 (the Go wrappers in select.go
// handle the rest).

//go:build !purego

#include "textflag.h"

// func minValueAVX2(x []float32) float32
//
// A NaN never enters the accumulators: VMINPS returns its second source
// when either is NaN, and the accumulators, which start at +Inf, are the
// second source. The result is +Inf when x holds only NaN and +Inf.
TEXT ·minValueAVX2(SB), NOSPLIT, $0-28
	MOVQ         x_base+0(FP), SI
	MOVQ         x_len+8(FP), CX
	MOVL         $0x7f800000, AX // +Inf
	MOVL         AX, X0
	VBROADCASTSS X0, Y0
	VMOVAPS      Y0, Y1
	VMOVAPS      Y0, Y2
	VMOVAPS      Y0, Y3
	XORQ         AX, AX
	MOVQ         CX, DX
	SUBQ         $32, DX // the last start where 32 values fit

loop32:
	CMPQ    AX, DX
	JGT     loop8
	VMOVUPS (SI)(AX*4), Y4
	VMOVUPS 32(SI)(AX*4), Y5
	VMOVUPS 64(SI)(AX*4), Y6
	VMOVUPS 96(SI)(AX*4), Y7
	VMINPS  Y0, Y4, Y0
	VMINPS  Y1, Y5, Y1
	VMINPS  Y2, Y6, Y2
	VMINPS  Y3, Y7, Y3
	ADDQ    $32, AX
	JMP     loop32

loop8:
	CMPQ    AX, CX
	JGE     reduce
	VMOVUPS (SI)(AX*4), Y4
	VMINPS  Y0, Y4, Y0
	ADDQ    $8, AX
	JMP     loop8

reduce:
	VMINPS       Y1, Y0, Y0
	VMINPS       Y3, Y2, Y2
	VMINPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMINPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMINPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMINPS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+24(FP)
	RET

// func firstEqualAVX2(x []float32, v float32) int
TEXT ·firstEqualAVX2(SB), NOSPLIT, $0-40
	MOVQ         x_base+0(FP), SI
	MOVQ         x_len+8(FP), CX
	VBROADCASTSS v+24(FP), Y0
	XORQ         AX, AX

eqloop:
	CMPQ      AX, CX
	JGE       none
	VCMPPS    $0, (SI)(AX*4), Y0, Y1 // equal, ordered
	VMOVMSKPS Y1, BX
	TESTL     BX, BX
	JNZ       hit
	ADDQ      $8, AX
	JMP       eqloop

hit:
	BSFL BX, BX
	ADDQ BX, AX
	MOVQ AX, ret+32(FP)
	VZEROUPPER
	RET

none:
	MOVQ $-1, ret+32(FP)
	VZEROUPPER
	RET

// func atMostAVX2(dst []int32, x []float32, thr float32) int
TEXT ·atMostAVX2(SB), NOSPLIT, $0-64
	MOVQ         dst_base+0(FP), DI
	MOVQ         x_base+24(FP), SI
	MOVQ         x_len+32(FP), CX
	VBROADCASTSS thr+48(FP), Y0
	XORQ         AX, AX
	XORQ         R8, R8

	MOVQ         CX, DX
	ANDQ         $-16, DX
	MOVQ         $16, R13 // values per step: 16, then 8 for the last 8

le16:
	CMPQ      AX, DX
	JGE       le8
	VCMPPS    $0x0d, (SI)(AX*4), Y0, Y1 // thr >= x, false for NaN
	VCMPPS    $0x0d, 32(SI)(AX*4), Y0, Y2
	VORPS     Y1, Y2, Y3
	VMOVMSKPS Y3, BX
	TESTL     BX, BX
	JNZ       hit16
	ADDQ      $16, AX
	JMP       le16

hit16:
	VMOVMSKPS Y1, BX
	VMOVMSKPS Y2, R12
	SHLL      $8, R12
	ORL       R12, BX

bits: // the set bits of BX, lowest first, are indices AX+bit
	BSFL BX, R9
	LEAQ (AX)(R9*1), R10
	MOVL R10, (DI)(R8*4)
	INCQ R8
	LEAL -1(BX), R11
	ANDL R11, BX
	JNZ  bits
	ADDQ R13, AX
	JMP  le16 // after the last 8, AX = len: le16 falls to le8, le8 to done

le8:
	CMPQ      AX, CX
	JGE       done
	MOVQ      $8, R13
	VCMPPS    $0x0d, (SI)(AX*4), Y0, Y1
	VMOVMSKPS Y1, BX
	TESTL     BX, BX
	JNZ       bits

done:
	MOVQ R8, ret+56(FP)
	VZEROUPPER
	RET
