//go:build !purego

package asm

import "golang.org/x/sys/cpu"

// lut4ScanAVX2 is LUT4Scan for nblocks >= 1 blocks (lut4_avx2_amd64.s).
//
//go:noescape
func lut4ScanAVX2(sums *uint16, masks *uint32, codes *byte, nblocks int, m2 int, lut *byte, threshold uint16)

func init() {
	// The AVX-512 level uses this kernel too: a 512-bit version is not
	// written yet.
	registerLUT4("avx2", cpu.X86.HasAVX2, lut4Kernels{scan: func(sums []uint16, masks []uint32, codes []byte, m2 int, lut []byte, threshold uint16) {
		lut4ScanAVX2(&sums[0], &masks[0], &codes[0], len(masks), m2, &lut[0], threshold)
	}})
}
