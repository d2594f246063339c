//go:build linux

package asm

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestLUT4PageEdge runs the scan on codes and tables that end exactly where
// a PROT_NONE page begins: an over-read faults.
func TestLUT4PageEdge(t *testing.T) {
	forEachLUT4Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, m2 := range []int{2, 4, 8, 32, 64, 130} {
			for _, nb := range []int{1, 2, 5} {
				codes, lut := randomLUT4Input(r, nb, m2, false)
				gc := guardedBytes(t, len(codes))
				copy(gc, codes)
				gl := guardedBytes(t, len(lut))
				copy(gl, lut)
				scanBoth(t, gc, gl, nb, m2, 30000)
			}
		}
	})
}

func guardedBytes(t *testing.T, n int) []byte {
	t.Helper()
	f := guardedFloats(t, (n+3)/4)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), 4*len(f))
	return b[len(b)-n:]
}
