//go:build !purego

package asm

import "golang.org/x/sys/cpu"

// lut4ScanZMM is LUT4Scan for nblocks >= 1 blocks (lut4_zmm_amd64.s).
//
//go:noescape
func lut4ScanZMM(sums *uint16, masks *uint32, codes *byte, nblocks int, m2 int, lut *byte, threshold uint16)

func init() {
	// The multi-query scan of this level is the AVX2 one (no scanMulti).
	registerLUT4("avx512", hasAVX512 && cpu.X86.HasAVX512BW, lut4Kernels{scan: func(sums []uint16, masks []uint32, codes []byte, m2 int, lut []byte, threshold uint16) {
		lut4ScanZMM(&sums[0], &masks[0], &codes[0], len(masks), m2, &lut[0], threshold)
	}})
}
