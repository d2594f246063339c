//go:build !purego

package asm

// lut4ScanTBL is LUT4Scan for nblocks >= 1 blocks (lut4_tbl_arm64.s).
//
//go:noescape
func lut4ScanTBL(sums *uint16, masks *uint32, codes *byte, nblocks int, m2 int, lut *byte, threshold uint16)

func init() {
	// Advanced SIMD is part of every arm64 CPU Go supports.
	registerLUT4("neon", true, lut4Kernels{
		scan: func(sums []uint16, masks []uint32, codes []byte, m2 int, lut []byte, threshold uint16) {
			lut4ScanTBL(&sums[0], &masks[0], &codes[0], len(masks), m2, &lut[0], threshold)
		},
		scanMulti: lut4ScanMultiTBL,
	})
}

// lut4ScanMultiTBL is LUT4ScanMulti with the single-query NEON kernel run
// once per query over each run of blocks small enough to stay in cache, so
// that the codes come from memory once.
func lut4ScanMultiTBL(sums []uint16, masks []uint32, codes []byte, m2 int, luts []byte, thresholds []uint16) {
	nq := len(thresholds)
	nb := len(masks) / nq
	bb := 16 * m2
	run := max(1, (32<<10)/bb)
	for b0 := 0; b0 < nb; b0 += run {
		n := min(run, nb-b0)
		for q, thr := range thresholds {
			lut4ScanTBL(&sums[(q*nb+b0)*BlockSize], &masks[q*nb+b0], &codes[b0*bb], n, m2, &luts[q*bb], thr)
		}
	}
}
