// LUT4 scan for arm64 with NEON (Advanced SIMD): sums of 4-bit look-up-table
// entries for blocks of 32 vectors packed in FAISS's fast-scan layout.
//
// For each block and each sub-quantizer s, its 16 code bytes are loaded once;
// their low and high nibbles index the sub-quantizer's 16-byte table with TBL.
// The looked-up bytes R (16 per nibble half) are read as eight 16-bit words
// and added into four 16-bit accumulators: A0 += R_lo and A1 += R_lo >> 8
// (USRA), A2 += R_hi and A3 += R_hi >> 8. In the block layout, byte 2i holds
// vectors i (low nibble) and i+16 (high nibble), byte 2i+1 vectors i+8 and
// i+24; so at the end of the block A0 -= A1 << 8 leaves the sums of vectors
// 0..7 in A0, A1 holds those of 8..15, A2 (after A2 -= A3 << 8) 16..23 and A3
// 24..31: the 32 sums in natural order, modulo 2^16. They are stored, and
// bit v of the block's mask is set when sum v < threshold (unsigned: not
// max(sum, threshold) == sum); each comparison is reduced to 8 bits by an AND
// with the weights 1, 2, ..., 128 and an add across the vector.
//
// Reads exactly 16*m2 bytes of codes per block and 16*m2 bytes of table;
// writes 32 sums and one mask per block.

//go:build !purego

#include "textflag.h"

DATA lut4Weights<>+0(SB)/8, $0x0008000400020001
DATA lut4Weights<>+8(SB)/8, $0x0080004000200010
GLOBL lut4Weights<>(SB), RODATA|NOPTR, $16

// func lut4ScanTBL(sums *uint16, masks *uint32, codes *byte, nblocks int, m2 int, lut *byte, threshold uint16)
TEXT ·lut4ScanTBL(SB), NOSPLIT, $0-50
	MOVD  sums+0(FP), R0
	MOVD  masks+8(FP), R1
	MOVD  codes+16(FP), R2
	MOVD  nblocks+24(FP), R3
	MOVD  m2+32(FP), R4
	MOVD  lut+40(FP), R5
	MOVHU threshold+48(FP), R6
	VDUP  R6, V31.H8                  // threshold in every word
	VMOVI $15, V30.B16                // nibble mask
	MOVD  $lut4Weights<>(SB), R7
	VLD1  (R7), [V29.H8]              // bit weights

block:
	CBZ  R3, done
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	MOVD R5, R8
	MOVD R4, R9

sub:
	VLD1.P 16(R2), [V4.B16]           // codes of one sub-quantizer
	VLD1.P 16(R8), [V5.B16]           // its table
	VAND   V30.B16, V4.B16, V6.B16    // low nibbles
	VUSHR  $4, V4.B16, V7.B16         // high nibbles
	VTBL   V6.B16, [V5.B16], V16.B16
	VTBL   V7.B16, [V5.B16], V17.B16
	VADD   V16.H8, V0.H8, V0.H8
	VUSRA  $8, V16.H8, V1.H8
	VADD   V17.H8, V2.H8, V2.H8
	VUSRA  $8, V17.H8, V3.H8
	SUBS   $1, R9, R9
	BNE    sub

	VSHL   $8, V1.H8, V18.H8
	VSUB   V18.H8, V0.H8, V0.H8       // vectors 0..7
	VSHL   $8, V3.H8, V19.H8
	VSUB   V19.H8, V2.H8, V2.H8       // vectors 16..23
	VST1.P [V0.H8, V1.H8, V2.H8, V3.H8], 64(R0)

	VUMAX V31.H8, V0.H8, V20.H8
	VUMAX V31.H8, V1.H8, V21.H8
	VUMAX V31.H8, V2.H8, V22.H8
	VUMAX V31.H8, V3.H8, V23.H8
	VCMEQ V0.H8, V20.H8, V20.H8       // sum >= threshold
	VCMEQ V1.H8, V21.H8, V21.H8
	VCMEQ V2.H8, V22.H8, V22.H8
	VCMEQ V3.H8, V23.H8, V23.H8
	VAND  V29.B16, V20.B16, V20.B16
	VAND  V29.B16, V21.B16, V21.B16
	VAND  V29.B16, V22.B16, V22.B16
	VAND  V29.B16, V23.B16, V23.B16
	VADDV V20.H8, V20
	VADDV V21.H8, V21
	VADDV V22.H8, V22
	VADDV V23.H8, V23
	VMOV  V20.H[0], R10
	VMOV  V21.H[0], R11
	VMOV  V22.H[0], R12
	VMOV  V23.H[0], R13
	ORR   R11<<8, R10, R10
	ORR   R12<<16, R10, R10
	ORR   R13<<24, R10, R10
	MVNW  R10, R10                    // sum < threshold
	MOVW  R10, (R1)
	ADD   $4, R1
	SUB   $1, R3
	B     block

done:
	RET
