package asm

import "unsafe"

// Prefetch asks the CPU to bring the cache lines holding p into its caches,
// without waiting for them and without faulting. It changes no value: a
// caller about to read several scattered rows (the candidates a refining
// index re-ranks) prefetches them all first, so that their memory latencies
// overlap. The pure-Go build does nothing.
func Prefetch(p []float32) {
	if len(p) == 0 {
		return
	}
	prefetch(p)
}

// PrefetchInt32 is Prefetch for a slice of int32 (a graph node's neighbour
// list, say).
func PrefetchInt32(p []int32) {
	if len(p) == 0 {
		return
	}
	prefetch(unsafe.Slice((*float32)(unsafe.Pointer(&p[0])), len(p)))
}
