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
