//go:build !purego

package asm

// lut4ScanTBL is LUT4Scan for nblocks >= 1 blocks (lut4_tbl_arm64.s).
//
//go:noescape
func lut4ScanTBL(sums *uint16, masks *uint32, codes *byte, nblocks int, m2 int, lut *byte, threshold uint16)

func init() {
	// Advanced SIMD is part of every arm64 CPU Go supports.
	registerLUT4("neon", true, lut4Kernels{scan: func(sums []uint16, masks []uint32, codes []byte, m2 int, lut []byte, threshold uint16) {
		lut4ScanTBL(&sums[0], &masks[0], &codes[0], len(masks), m2, &lut[0], threshold)
	}})
}
