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

// PrefetchL2 is Prefetch into the core's second-level cache rather than its
// first: for many scattered rows that a caller reads a step later, a graph
// walk's next vectors or a refining index's candidates, a kilobyte or more
// each. A first-level prefetch holds one of the first level's few miss
// buffers per line and stalls once they are all taken, which the sixteen
// lines of each of several 256-d vectors do; a second-level one does not.
// (AMD EPYC, 1M x 256, IVF16384_HNSW32: the walk 20-24 % faster with
// PrefetchL2 for its vectors; RFlat's re-ranking of k·k_factor candidates
// 10-22 % faster. A list scanned row by row right away is better served by
// Prefetch.) The pure-Go build does nothing.
func PrefetchL2(p []float32) {
	if len(p) == 0 {
		return
	}
	prefetchL2(p)
}

// PrefetchL2Rows is how many scattered rows of d floats a caller should ask
// for with PrefetchL2 at once (at least one): 64 KiB of them, so that the
// last do not push the first out of the second-level cache before they are
// read.
func PrefetchL2Rows(d int) int { return max(1, (64<<10)/(4*max(d, 1))) }

// PrefetchInt32 is Prefetch for a slice of int32 (a graph node's neighbour
// list, say).
func PrefetchInt32(p []int32) {
	if len(p) == 0 {
		return
	}
	prefetch(unsafe.Slice((*float32)(unsafe.Pointer(&p[0])), len(p)))
}
