// Multi-query LUT4 scan for amd64 with AVX2: the sums and masks of LUT4Scan
// for a group of 2 or 3 queries over the same blocks, loading and splitting
// each block's codes once for the whole group.
//
// Query q of the group (q = 0, 1, 2) has its table at luts + q*16*m2 bytes,
// its threshold at thresholds[q], its sums at sums + q*stride*64 bytes and its
// masks at masks + q*stride*4 bytes: stride is the number of blocks of the
// whole batch, so the caller can cut any group of queries and any run of
// blocks out of query-major output arrays.
//
// For each block and each pair p of sub-quantizers, the pair's 32 code bytes
// are loaded and split into low and high nibbles once. Then, for each query,
// its 32 table bytes of the pair are loaded and indexed by both nibble vectors
// with VPSHUFB (lane 0 holds sub-quantizer 2p, lane 1 sub-quantizer 2p+1),
// and the bytes found, R, are added into four 16-bit accumulators per query
// as in lut4_avx2_amd64.s: A0 += R and A1 += R>>8 for the low nibbles, A2 and
// A3 likewise for the high nibbles. At the end of the block A0 -= A1<<8
// leaves in A0 the sums of the even bytes (A1 holds those of the odd bytes),
// all modulo 2^16. For the low nibbles the even and odd bytes of word i are
// vectors i and i+8 (i = 0..7), for the high nibbles vectors i+16 and i+24;
// adding the two lanes of each (A0, A1) and (A2, A3) pair gives the sums of
// vectors 0..15 and 16..31 in natural order. Bit v of a block's mask is set
// when sum v < threshold (unsigned: not max(sum, threshold) == sum).
//
// All accumulators stay in registers for the whole block: 8 of them for two
// queries, with the nibble mask in Y15; 12 for three queries, with the nibble
// mask read from memory. Per pair and query the work is a table load, two
// VPSHUFB, four VPADDW and two VPSRLW; the load and split of the codes (one
// load, three operations) and the loop's single ADDQ/JNZ (the index runs from
// -16*m2 up to 0 against pointers to the end of the block and of each table)
// are shared by the group.
//
// Each pair also prefetches the code bytes 4 KB ahead: without it, scanning
// blocks that come from memory runs at about half the speed for M = 128.
// Prefetches do not fault, so past the last block they are harmless; the
// kernels load exactly 16*m2 code bytes per block and 16*m2 table bytes per
// query, and write 32 sums and one mask per block and query.

//go:build !purego

#include "textflag.h"

DATA lut4mNibbles<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA lut4mNibbles<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA lut4mNibbles<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA lut4mNibbles<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL lut4mNibbles<>(SB), RODATA|NOPTR, $32

// ACC4 looks the low (lo) and high (hi) nibbles of one pair up in the
// table at address table and adds the bytes found into the accumulators
// a0..a3 of one query; t and u are scratch.
#define ACC4(table, lo, hi, a0, a1, a2, a3, t, u) \
	VMOVDQU table, t;  \
	VPSHUFB lo, t, u;  \
	VPSHUFB hi, t, t;  \
	VPADDW  u, a0, a0; \
	VPSRLW  $8, u, u;  \
	VPADDW  u, a1, a1; \
	VPADDW  t, a2, a2; \
	VPSRLW  $8, t, t;  \
	VPADDW  t, a3, a3

// FINISH turns one query's accumulators into its 32 sums, stored at out0
// (vectors 0..15) and out1 (16..31), and its mask of sums below the
// threshold at address thr, stored at mask. t and u are scratch; a0..a3 are
// clobbered. Uses AX.
#define FINISH(a0, a1, a2, a3, t, u, thr, out0, out1, mask) \
	VPSLLW       $8, a1, t;          \
	VPSUBW       t, a0, a0;          \
	VPSLLW       $8, a3, t;          \
	VPSUBW       t, a2, a2;          \
	VPERM2I128   $0x20, a1, a0, t;   \
	VPERM2I128   $0x31, a1, a0, u;   \
	VPADDW       u, t, t;            \
	VPERM2I128   $0x20, a3, a2, u;   \
	VPERM2I128   $0x31, a3, a2, a0;  \
	VPADDW       a0, u, u;           \
	VMOVDQU      t, out0;            \
	VMOVDQU      u, out1;            \
	VPBROADCASTW thr, a1;            \
	VPMAXUW      a1, t, a2;          \
	VPCMPEQW     t, a2, a2;          \
	VPMAXUW      a1, u, a3;          \
	VPCMPEQW     u, a3, a3;          \
	VPACKSSWB    a3, a2, a2;         \
	VPERMQ       $0xd8, a2, a2;      \
	VPMOVMSKB    a2, AX;             \
	NOTL         AX;                 \
	MOVL         AX, mask

// Registers of both kernels: DI, R8 the sums and mask of query 0 for the
// current block, SI the end of the block's codes, R11 the pair index (-16*m2
// up to 0), DX the bytes per block and per table, R9, R10, BX the ends of the
// tables, R12 the thresholds, R13 and R14 the sum and mask bytes between
// queries, CX the blocks left.

// func lut4MultiAVX2x2(sums *uint16, masks *uint32, codes *byte, nblocks int, m2 int, luts *byte, thresholds *uint16, stride int)
TEXT ·lut4MultiAVX2x2(SB), NOSPLIT, $0-64
	MOVQ    sums+0(FP), DI
	MOVQ    masks+8(FP), R8
	MOVQ    codes+16(FP), SI
	MOVQ    nblocks+24(FP), CX
	MOVQ    m2+32(FP), DX
	SHLQ    $4, DX                     // bytes per block and per table
	MOVQ    luts+40(FP), R9
	ADDQ    DX, R9                     // end of table 0
	LEAQ    (R9)(DX*1), R10            // end of table 1
	MOVQ    thresholds+48(FP), R12
	MOVQ    stride+56(FP), R14
	SHLQ    $2, R14                    // mask bytes between queries
	MOVQ    R14, R13
	SHLQ    $4, R13                    // sum bytes between queries
	ADDQ    DX, SI                     // end of block 0
	MOVQ    $0x0f0f0f0f0f0f0f0f, AX
	MOVQ    AX, X15
	VPBROADCASTQ X15, Y15              // nibble mask

x2block:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	MOVQ  DX, R11
	NEGQ  R11

x2pair:
	PREFETCHT0 4096(SI)(R11*1)         // codes of the blocks to come
	VMOVDQU (SI)(R11*1), Y9            // codes of sub-quantizers 2p, 2p+1
	VPAND   Y15, Y9, Y8                // low nibbles
	VPSRLW  $4, Y9, Y9
	VPAND   Y15, Y9, Y9                // high nibbles
	ACC4((R9)(R11*1), Y8, Y9, Y0, Y1, Y2, Y3, Y10, Y11)
	ACC4((R10)(R11*1), Y8, Y9, Y4, Y5, Y6, Y7, Y12, Y13)
	ADDQ    $32, R11
	JNZ     x2pair

	FINISH(Y0, Y1, Y2, Y3, Y10, Y11, (R12), (DI), 32(DI), (R8))
	FINISH(Y4, Y5, Y6, Y7, Y12, Y13, 2(R12), (DI)(R13*1), 32(DI)(R13*1), (R8)(R14*1))

	ADDQ DX, SI
	ADDQ $64, DI
	ADDQ $4, R8
	DECQ CX
	JNZ  x2block
	VZEROUPPER
	RET

// func lut4MultiAVX2x3(sums *uint16, masks *uint32, codes *byte, nblocks int, m2 int, luts *byte, thresholds *uint16, stride int)
TEXT ·lut4MultiAVX2x3(SB), NOSPLIT, $0-64
	MOVQ sums+0(FP), DI
	MOVQ masks+8(FP), R8
	MOVQ codes+16(FP), SI
	MOVQ nblocks+24(FP), CX
	MOVQ m2+32(FP), DX
	SHLQ $4, DX                        // bytes per block and per table
	MOVQ luts+40(FP), R9
	ADDQ DX, R9                        // end of table 0
	LEAQ (R9)(DX*1), R10               // end of table 1
	LEAQ (R10)(DX*1), BX               // end of table 2
	MOVQ thresholds+48(FP), R12
	MOVQ stride+56(FP), R14
	SHLQ $2, R14                       // mask bytes between queries
	MOVQ R14, R13
	SHLQ $4, R13                       // sum bytes between queries
	ADDQ DX, SI                        // end of block 0

x3block:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	MOVQ  DX, R11
	NEGQ  R11

x3pair:
	PREFETCHT0 4096(SI)(R11*1)         // codes of the blocks to come
	VMOVDQU (SI)(R11*1), Y13           // codes of sub-quantizers 2p, 2p+1
	VPAND   lut4mNibbles<>(SB), Y13, Y12 // low nibbles
	VPSRLW  $4, Y13, Y13
	VPAND   lut4mNibbles<>(SB), Y13, Y13 // high nibbles
	ACC4((R9)(R11*1), Y12, Y13, Y0, Y1, Y2, Y3, Y14, Y15)
	ACC4((R10)(R11*1), Y12, Y13, Y4, Y5, Y6, Y7, Y14, Y15)
	ACC4((BX)(R11*1), Y12, Y13, Y8, Y9, Y10, Y11, Y14, Y15)
	ADDQ    $32, R11
	JNZ     x3pair

	FINISH(Y0, Y1, Y2, Y3, Y12, Y13, (R12), (DI), 32(DI), (R8))
	FINISH(Y4, Y5, Y6, Y7, Y12, Y13, 2(R12), (DI)(R13*1), 32(DI)(R13*1), (R8)(R14*1))
	FINISH(Y8, Y9, Y10, Y11, Y12, Y13, 4(R12), (DI)(R13*2), 32(DI)(R13*2), (R8)(R14*2))

	ADDQ DX, SI
	ADDQ $64, DI
	ADDQ $4, R8
	DECQ CX
	JNZ  x3block
	VZEROUPPER
	RET
