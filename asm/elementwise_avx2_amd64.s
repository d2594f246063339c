// Element-wise kernels for AVX2: the difference of two slices, and whether
// any value of a slice has a magnitude at or above a limit (NaN included),
// tested on the values' bits. Every input length is a multiple of 8, at
// least 8 (the Go wrappers in elementwise.go handle the rest).

//go:build !purego

#include "textflag.h"

// func subAVX2(dst, x, y []float32)
TEXT ·subAVX2(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ y_base+48(FP), DX
	XORQ AX, AX
	MOVQ CX, BX
	SUBQ $32, BX // the last start where 32 values fit

loop32:
	CMPQ    AX, BX
	JGT     loop8
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS 64(SI)(AX*4), Y2
	VMOVUPS 96(SI)(AX*4), Y3
	VSUBPS  (DX)(AX*4), Y0, Y0
	VSUBPS  32(DX)(AX*4), Y1, Y1
	VSUBPS  64(DX)(AX*4), Y2, Y2
	VSUBPS  96(DX)(AX*4), Y3, Y3
	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ    $32, AX
	JMP     loop32

loop8:
	CMPQ    AX, CX
	JGE     done
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS  (DX)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     loop8

done:
	VZEROUPPER
	RET

// func anyAtLeastAVX2(x []float32, off uint32) bool
//
// Or-s (bits & 0x7fffffff) + off over every value into four accumulators;
// the answer is whether any lane's top bit ended up set.
TEXT ·anyAtLeastAVX2(SB), NOSPLIT, $0-33
	MOVQ         x_base+0(FP), SI
	MOVQ         x_len+8(FP), CX
	MOVL         off+24(FP), AX
	MOVL         AX, X7
	VPBROADCASTD X7, Y7
	MOVL         $0x7fffffff, AX
	MOVL         AX, X6
	VPBROADCASTD X6, Y6
	VPXOR        Y0, Y0, Y0
	VPXOR        Y1, Y1, Y1
	VPXOR        Y2, Y2, Y2
	VPXOR        Y3, Y3, Y3
	XORQ         AX, AX
	MOVQ         CX, BX
	SUBQ         $32, BX // the last start where 32 values fit

loop32:
	CMPQ   AX, BX
	JGT    loop8
	VPAND  (SI)(AX*4), Y6, Y4
	VPAND  32(SI)(AX*4), Y6, Y5
	VPAND  64(SI)(AX*4), Y6, Y8
	VPAND  96(SI)(AX*4), Y6, Y9
	VPADDD Y7, Y4, Y4
	VPADDD Y7, Y5, Y5
	VPADDD Y7, Y8, Y8
	VPADDD Y7, Y9, Y9
	VPOR   Y4, Y0, Y0
	VPOR   Y5, Y1, Y1
	VPOR   Y8, Y2, Y2
	VPOR   Y9, Y3, Y3
	ADDQ   $32, AX
	JMP    loop32

loop8:
	CMPQ   AX, CX
	JGE    reduce
	VPAND  (SI)(AX*4), Y6, Y4
	VPADDD Y7, Y4, Y4
	VPOR   Y4, Y0, Y0
	ADDQ   $8, AX
	JMP    loop8

reduce:
	VPOR      Y1, Y0, Y0
	VPOR      Y3, Y2, Y2
	VPOR      Y2, Y0, Y0
	VMOVMSKPS Y0, AX
	TESTL     AX, AX
	SETNE     ret+32(FP)
	VZEROUPPER
	RET
