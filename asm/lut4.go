package asm

import "fmt"

// BlockSize is the number of vectors in one packed fast-scan block.
const BlockSize = 32

// LUT4Scan scans blocks of 4-bit PQ codes packed in FAISS's fast-scan layout
// (32 vectors per block, m2 sub-quantizers, m2 even, 16*m2 bytes per block) with
// one query's quantized look-up table.
//
// lut holds m2*16 bytes in pair order: for each pair p of sub-quantizers, 16
// bytes of table for sub-quantizer 2p followed by 16 bytes for 2p+1. For each
// block b and vector v of the block (in natural order), it writes
//
//	sums[b*32+v] = Σ_s lut[s*16 + code(v, s)]   (mod 2^16)
//
// and sets bit v of masks[b] when sums[b*32+v] < threshold. The number of
// blocks is len(masks); codes must hold exactly that many blocks and sums 32
// entries per block.
func LUT4Scan(sums []uint16, masks []uint32, codes []byte, m2 int, lut []byte, threshold uint16) {
	nb := len(masks)
	if m2 <= 0 || m2%2 != 0 {
		panic(fmt.Sprintf("asm.LUT4Scan: m2 = %d must be positive and even", m2))
	}
	if len(codes) != nb*16*m2 || len(sums) != nb*BlockSize || len(lut) != 16*m2 {
		panic(fmt.Sprintf("asm.LUT4Scan: %d code bytes, %d sums, %d table bytes for %d blocks of m2 = %d",
			len(codes), len(sums), len(lut), nb, m2))
	}
	if nb == 0 {
		return
	}
	lk.scan(sums, masks, codes, m2, lut, threshold)
}

// LUT4ScanMulti is LUT4Scan for a batch of queries over the same blocks. It
// gives each query exactly LUT4Scan's results, but the kernels read each
// block's codes once for several queries.
//
// The number of queries nq is len(thresholds), at least 1; the number of
// blocks nb is len(masks)/nq, and codes must hold exactly nb blocks of 16*m2
// bytes (m2 positive and even). luts holds the nq tables of 16*m2 bytes back
// to back, query q's at luts[q*16*m2:], each in LUT4Scan's pair order. The
// results are query-major: for query q, block b and vector v of the block,
//
//	sums[q*nb*32 + b*32 + v] = Σ_s luts[q*16*m2 + s*16 + code(v, s)]   (mod 2^16)
//
// and bit v of masks[q*nb+b] is set when that sum < thresholds[q]. sums must
// hold nq*nb*32 entries and masks nq*nb.
func LUT4ScanMulti(sums []uint16, masks []uint32, codes []byte, m2 int, luts []byte, thresholds []uint16) {
	nq := len(thresholds)
	if nq == 0 {
		panic("asm.LUT4ScanMulti: no queries (empty thresholds)")
	}
	if m2 <= 0 || m2%2 != 0 {
		panic(fmt.Sprintf("asm.LUT4ScanMulti: m2 = %d must be positive and even", m2))
	}
	nb := len(masks) / nq
	if len(masks) != nq*nb || len(codes) != nb*16*m2 || len(sums) != nq*nb*BlockSize || len(luts) != nq*16*m2 {
		panic(fmt.Sprintf("asm.LUT4ScanMulti: %d masks, %d code bytes, %d sums, %d table bytes for %d queries of m2 = %d",
			len(masks), len(codes), len(sums), len(luts), nq, m2))
	}
	if nb == 0 {
		return
	}
	lmk(sums, masks, codes, m2, luts, thresholds)
}
