//go:build !purego && (amd64 || arm64)

package asm

// chunkFloats bounds the floats one assembly call of the one-to-one and
// one-to-many kernels reads (256 KiB), so that a goroutine running them can
// be preempted between calls.
const chunkFloats = 1 << 16

// manyRows is how many rows of d floats one call of a one-to-many kernel
// handles.
func manyRows(d int) int {
	return max(chunkFloats/max(d, 1), 4)
}
