// Product-quantization distance tables for amd64 with AVX2 (SubTables).
//
// For each sub-space, two Y registers hold the 16 running sums (centroids
// 0-7 and 8-15). For each coordinate k of the sub-space, x[k] is broadcast
// and the 16 centroid coordinates (64 contiguous bytes) are loaded; the L2
// kernel adds (x[k] - c)², the inner-product kernel x[k]·c, with separate
// VMULPS and VADDPS (no fused multiply-add) so that the sums equal the Go
// twin's bit for bit. The 16 sums are then stored.

//go:build !purego

#include "textflag.h"

// func l2SubTablesAVX2(dst *float32, x *float32, ct *float32, nsub int, dsub int)
TEXT ·l2SubTablesAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ ct+16(FP), DX
	MOVQ nsub+24(FP), CX
	MOVQ dsub+32(FP), R8

l2sub:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   R8, R9

l2coord:
	VBROADCASTSS (SI), Y2
	VSUBPS       (DX), Y2, Y3
	VSUBPS       32(DX), Y2, Y4
	VMULPS       Y3, Y3, Y3
	VMULPS       Y4, Y4, Y4
	VADDPS       Y3, Y0, Y0
	VADDPS       Y4, Y1, Y1
	ADDQ         $4, SI
	ADDQ         $64, DX
	DECQ         R9
	JNZ          l2coord

	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, DI
	DECQ    CX
	JNZ     l2sub
	VZEROUPPER
	RET

// func dotSubTablesAVX2(dst *float32, x *float32, ct *float32, nsub int, dsub int)
TEXT ·dotSubTablesAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ ct+16(FP), DX
	MOVQ nsub+24(FP), CX
	MOVQ dsub+32(FP), R8

ipsub:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   R8, R9

ipcoord:
	VBROADCASTSS (SI), Y2
	VMULPS       (DX), Y2, Y3
	VMULPS       32(DX), Y2, Y4
	VADDPS       Y3, Y0, Y0
	VADDPS       Y4, Y1, Y1
	ADDQ         $4, SI
	ADDQ         $64, DX
	DECQ         R9
	JNZ          ipcoord

	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, DI
	DECQ    CX
	JNZ     ipsub
	VZEROUPPER
	RET
