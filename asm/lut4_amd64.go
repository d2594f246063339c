//go:build !purego

package asm

import "golang.org/x/sys/cpu"

// lut4ScanAVX2 is LUT4Scan for nblocks >= 1 blocks (lut4_avx2_amd64.s).
//
//go:noescape
func lut4ScanAVX2(sums *uint16, masks *uint32, codes *byte, nblocks int, m2 int, lut *byte, threshold uint16)

// lut4MultiAVX2x2 and lut4MultiAVX2x3 (lut4multi_avx2_amd64.s) scan nblocks
// >= 1 blocks for a group of 2 or 3 queries: query q of the group has its
// table at luts[q*16*m2:], its threshold thresholds[q], its sums at
// sums[q*stride*32:] and its masks at masks[q*stride:].
//
//go:noescape
func lut4MultiAVX2x2(sums *uint16, masks *uint32, codes *byte, nblocks int, m2 int, luts *byte, thresholds *uint16, stride int)

//go:noescape
func lut4MultiAVX2x3(sums *uint16, masks *uint32, codes *byte, nblocks int, m2 int, luts *byte, thresholds *uint16, stride int)

func init() {
	// The AVX-512 level has its own single-query kernel
	// (lut4_zmm_amd64.s) and uses the multi-query kernels below.
	registerLUT4("avx2", cpu.X86.HasAVX2, lut4Kernels{
		scan: func(sums []uint16, masks []uint32, codes []byte, m2 int, lut []byte, threshold uint16) {
			lut4ScanAVX2(&sums[0], &masks[0], &codes[0], len(masks), m2, &lut[0], threshold)
		},
		scanMulti: lut4ScanMultiAVX2,
	})
}

// lut4MultiChunkBytes bounds the code bytes of the run of blocks that all
// groups of queries scan before the next run, so that the codes are read
// from memory once and from cache by the other groups.
const lut4MultiChunkBytes = 64 << 10

// lut4ScanMultiAVX2 is LUT4ScanMulti for nq >= 1 queries and nb >= 1 blocks.
// It scans runs of blocks of at most lut4MultiChunkBytes and, within a run,
// groups of 3 queries, with 2 + 2 or 2 for the last 4 or 2 queries and the
// single-query kernel for a lone query. Per query and code, groups of 3 run
// about 5% faster than groups of 2 and 25% faster than single queries; 2 + 2
// is a little faster than 3 + 1.
func lut4ScanMultiAVX2(sums []uint16, masks []uint32, codes []byte, m2 int, luts []byte, thresholds []uint16) {
	nq := len(thresholds)
	nb := len(masks) / nq
	bb := 16 * m2
	chunk := max(1, lut4MultiChunkBytes/bb)
	for b0 := 0; b0 < nb; b0 += chunk {
		n := min(chunk, nb-b0)
		c := &codes[b0*bb]
		for q := 0; q < nq; {
			s, m, l, t := &sums[(q*nb+b0)*BlockSize], &masks[q*nb+b0], &luts[q*bb], &thresholds[q]
			switch nq - q {
			case 1:
				lut4ScanAVX2(s, m, c, n, m2, l, *t)
				q++
			case 2, 4:
				lut4MultiAVX2x2(s, m, c, n, m2, l, t, nb)
				q += 2
			default:
				lut4MultiAVX2x3(s, m, c, n, m2, l, t, nb)
				q += 3
			}
		}
	}
}
