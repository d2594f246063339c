//go:build linux

package asm

import (
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// TestLUT4MultiPageEdge runs the multi-query scan with codes, tables and
// thresholds that end exactly where a PROT_NONE page begins (an over-read
// faults) and with sums and masks that end there too (an over-write
// faults).
func TestLUT4MultiPageEdge(t *testing.T) {
	forEachLUT4MultiImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, nq := range []int{1, 2, 3, 4, 5} {
			for _, m2 := range []int{2, 4, 8, 32, 64, 130} {
				for _, nb := range []int{1, 2, 5, 40} {
					codes, luts := randomLUT4MultiInput(r, nq, nb, m2, false)
					thr := lut4MultiThresholds(r, nq, m2)[5]
					wantS, wantM := make([]uint16, nq*nb*BlockSize), make([]uint32, nq*nb)
					lut4ScanMultiGeneric(wantS, wantM, codes, m2, luts, thr)

					gc, gl := guardedBytes(t, len(codes)), guardedBytes(t, len(luts))
					copy(gc, codes)
					copy(gl, luts)
					gt := guardedUint16s(t, nq)
					copy(gt, thr)
					gs, gm := guardedUint16s(t, len(wantS)), guardedUint32s(t, len(wantM))
					LUT4ScanMulti(gs, gm, gc, m2, gl, gt)
					if !slices.Equal(gs, wantS) || !slices.Equal(gm, wantM) {
						t.Fatalf("nq=%d m2=%d nb=%d: results differ from the twin's", nq, m2, nb)
					}
				}
			}
		}
	})
}

func guardedUint16s(t *testing.T, n int) []uint16 {
	t.Helper()
	b := guardedBytes(t, 2*n)
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

func guardedUint32s(t *testing.T, n int) []uint32 {
	t.Helper()
	b := guardedBytes(t, 4*n)
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}
