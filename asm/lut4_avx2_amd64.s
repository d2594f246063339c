// LUT4 scan for amd64 with AVX2: sums of 4-bit look-up-table entries for
// blocks of 32 vectors packed in FAISS's fast-scan layout.
//
// For each block and each pair p of sub-quantizers, the 32 code bytes of the
// pair are loaded once; their low and high nibbles index the pair's 32-byte
// table with VPSHUFB (lane 0 holds sub-quantizer 2p's codes and table, lane
// 1 sub-quantizer 2p+1's). The looked-up bytes are added into four 16-bit
// accumulators: A0 += R0, A1 += R0>>8 (low nibbles), A2 += R1, A3 += R1>>8
// (high nibbles). At the end A0 -= A1<<8 leaves the sums of the low bytes;
// adding each accumulator's two lanes yields the sums of vectors 0..15
// (from A0, A1) and 16..31 (from A2, A3) in natural order, modulo 2^16.
// The sums are stored, and bit v of the block's mask is set when sum v <
// threshold (unsigned: not(max(sum, threshold) == sum)).
//
// Reads exactly 16*m2 bytes of codes per block and 16*m2 bytes of table
// (and prefetches, which cannot fault, 4 KB ahead of the codes); writes 32
// sums and one mask per block.

//go:build !purego

#include "textflag.h"

// func lut4ScanAVX2(sums *uint16, masks *uint32, codes *byte, nblocks int, m2 int, lut *byte, threshold uint16)
TEXT ·lut4ScanAVX2(SB), NOSPLIT, $0-50
	MOVQ    sums+0(FP), DI
	MOVQ    masks+8(FP), R8
	MOVQ    codes+16(FP), SI
	MOVQ    nblocks+24(FP), CX
	MOVQ    m2+32(FP), DX
	SHRQ    $1, DX                     // pairs of sub-quantizers
	MOVQ    lut+40(FP), R9
	MOVWQZX threshold+48(FP), AX
	MOVQ    AX, X15
	VPBROADCASTW X15, Y15              // threshold in every word
	MOVQ    $0x0f0f0f0f0f0f0f0f, BX
	MOVQ    BX, X14
	VPBROADCASTQ X14, Y14              // nibble mask

block:
	TESTQ CX, CX
	JZ    done
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ  R9, R10
	MOVQ  DX, R11

pair:
	PREFETCHT0 4096(SI)                // codes 4 KB ahead: large scans are memory-bound
	VMOVDQU (SI), Y4                   // codes of sub-quantizers 2p, 2p+1
	VMOVDQU (R10), Y5                  // their tables
	VPAND   Y14, Y4, Y6                // low nibbles
	VPSRLW  $4, Y4, Y7
	VPAND   Y14, Y7, Y7                // high nibbles
	VPSHUFB Y6, Y5, Y8
	VPSHUFB Y7, Y5, Y9
	VPADDW  Y8, Y0, Y0
	VPSRLW  $8, Y8, Y8
	VPADDW  Y8, Y1, Y1
	VPADDW  Y9, Y2, Y2
	VPSRLW  $8, Y9, Y9
	VPADDW  Y9, Y3, Y3
	ADDQ    $32, SI
	ADDQ    $32, R10
	DECQ    R11
	JNZ     pair

	VPSLLW     $8, Y1, Y10
	VPSUBW     Y10, Y0, Y0             // sums of the low bytes: vectors 0..7
	VPSLLW     $8, Y3, Y10
	VPSUBW     Y10, Y2, Y2             // vectors 16..23
	VPERM2I128 $0x20, Y1, Y0, Y10
	VPERM2I128 $0x31, Y1, Y0, Y11
	VPADDW     Y11, Y10, Y10           // vectors 0..15: even + odd sub-quantizers
	VPERM2I128 $0x20, Y3, Y2, Y11
	VPERM2I128 $0x31, Y3, Y2, Y12
	VPADDW     Y12, Y11, Y11           // vectors 16..31
	VMOVDQU    Y10, (DI)
	VMOVDQU    Y11, 32(DI)

	VPMAXUW   Y15, Y10, Y12
	VPCMPEQW  Y10, Y12, Y12            // sum >= threshold, vectors 0..15
	VPMAXUW   Y15, Y11, Y13
	VPCMPEQW  Y11, Y13, Y13            // vectors 16..31
	VPACKSSWB Y13, Y12, Y12            // bytes: 0-7, 16-23 | 8-15, 24-31
	VPERMQ    $0xd8, Y12, Y12          // bytes: 0-7, 8-15, 16-23, 24-31
	VPMOVMSKB Y12, AX
	NOTL      AX                       // sum < threshold
	MOVL      AX, (R8)

	ADDQ $64, DI
	ADDQ $4, R8
	DECQ CX
	JMP  block

done:
	VZEROUPPER
	RET
