// LUT4 scan for amd64 with AVX-512 (F and BW): sums of 4-bit look-up-table
// entries for blocks of 32 vectors packed in FAISS's fast-scan layout.
//
// The 512-bit form of lut4_avx2_amd64.s: each step loads the 64 code bytes of
// two pairs of sub-quantizers (lanes 0..3 hold sub-quantizers 2p..2p+3) and
// their 64 table bytes, splits the nibbles and looks them up with one VPSHUFB
// each; the bytes found go into four 16-bit accumulators: A0 += R0,
// A1 += R0>>8 (low nibbles), A2 += R1, A3 += R1>>8 (high nibbles). An odd
// last pair is loaded into the low half of the registers (the upper half
// zeroed: zero codes index zero table bytes and add nothing). At the end of a
// block A0 -= A1<<8 and A2 -= A3<<8; adding each accumulator's four lanes
// gives the sums of vectors 0..7 (A0), 8..15 (A1), 16..23 (A2) and 24..31
// (A3) in natural order, modulo 2^16. They are stored, and bit v of the
// block's mask is set when sum v < threshold (VPCMPUW, unsigned less than).
//
// Reads exactly 16*m2 bytes of codes per block and 16*m2 bytes of table (and
// prefetches, which cannot fault, 4 KB ahead of the codes); writes 32 sums
// and one mask per block.

//go:build !purego

#include "textflag.h"

// func lut4ScanZMM(sums *uint16, masks *uint32, codes *byte, nblocks int, m2 int, lut *byte, threshold uint16)
TEXT ·lut4ScanZMM(SB), NOSPLIT, $0-50
	MOVQ    sums+0(FP), DI
	MOVQ    masks+8(FP), R8
	MOVQ    codes+16(FP), SI
	MOVQ    nblocks+24(FP), CX
	MOVQ    m2+32(FP), DX
	SHRQ    $1, DX                     // pairs of sub-quantizers
	MOVQ    DX, R12
	SHRQ    $1, R12                    // steps of two pairs
	ANDQ    $1, DX                     // a last, single pair?
	MOVQ    lut+40(FP), R9
	MOVWQZX threshold+48(FP), AX
	MOVQ    AX, X15
	VPBROADCASTW X15, Z31              // threshold in every word
	MOVQ    $0x0f0f0f0f0f0f0f0f, BX
	MOVQ    BX, X14
	VPBROADCASTQ X14, Z30              // nibble mask

block:
	TESTQ  CX, CX
	JZ     done
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	MOVQ   R9, R10
	MOVQ   R12, R11
	TESTQ  R11, R11
	JZ     tail

step:
	PREFETCHT0 4096(SI)
	VMOVDQU64  (SI), Z4                // codes of sub-quantizers 2p .. 2p+3
	VMOVDQU64  (R10), Z5               // their tables
	VPANDQ     Z30, Z4, Z6             // low nibbles
	VPSRLW     $4, Z4, Z7
	VPANDQ     Z30, Z7, Z7             // high nibbles
	VPSHUFB    Z6, Z5, Z8
	VPSHUFB    Z7, Z5, Z9
	VPADDW     Z8, Z0, Z0
	VPSRLW     $8, Z8, Z8
	VPADDW     Z8, Z1, Z1
	VPADDW     Z9, Z2, Z2
	VPSRLW     $8, Z9, Z9
	VPADDW     Z9, Z3, Z3
	ADDQ       $64, SI
	ADDQ       $64, R10
	DECQ       R11
	JNZ        step

tail:
	TESTQ   DX, DX
	JZ      fold
	VMOVDQU (SI), Y4                   // one pair; the upper half of Z4 is zeroed
	VMOVDQU (R10), Y5
	VPANDQ  Z30, Z4, Z6
	VPSRLW  $4, Z4, Z7
	VPANDQ  Z30, Z7, Z7
	VPSHUFB Z6, Z5, Z8
	VPSHUFB Z7, Z5, Z9
	VPADDW  Z8, Z0, Z0
	VPSRLW  $8, Z8, Z8
	VPADDW  Z8, Z1, Z1
	VPADDW  Z9, Z2, Z2
	VPSRLW  $8, Z9, Z9
	VPADDW  Z9, Z3, Z3
	ADDQ    $32, SI

fold:
	VPSLLW        $8, Z1, Z10
	VPSUBW        Z10, Z0, Z0          // vectors 0..7, per lane
	VPSLLW        $8, Z3, Z10
	VPSUBW        Z10, Z2, Z2          // vectors 16..23, per lane
	VEXTRACTI64X4 $1, Z0, Y10
	VEXTRACTI64X4 $1, Z1, Y11
	VEXTRACTI64X4 $1, Z2, Y12
	VEXTRACTI64X4 $1, Z3, Y13
	VPADDW        Y10, Y0, Y0
	VPADDW        Y11, Y1, Y1
	VPADDW        Y12, Y2, Y2
	VPADDW        Y13, Y3, Y3
	VEXTRACTI128  $1, Y0, X10
	VEXTRACTI128  $1, Y1, X11
	VEXTRACTI128  $1, Y2, X12
	VEXTRACTI128  $1, Y3, X13
	VPADDW        X10, X0, X0          // vectors 0..7
	VPADDW        X11, X1, X1          // 8..15
	VPADDW        X12, X2, X2          // 16..23
	VPADDW        X13, X3, X3          // 24..31
	VINSERTI128   $1, X1, Y0, Y6
	VINSERTI128   $1, X3, Y2, Y7
	VMOVDQU       Y6, (DI)
	VMOVDQU       Y7, 32(DI)
	VINSERTI64X4  $1, Y7, Z6, Z6
	VPCMPUW       $1, Z31, Z6, K2      // sum < threshold
	KMOVD         K2, AX
	MOVL          AX, (R8)

	ADDQ $64, DI
	ADDQ $4, R8
	DECQ CX
	JMP  block

done:
	VZEROUPPER
	RET
