//go:build !purego && (amd64 || arm64)

package asm

// prefetchLines prefetches the cache lines of n >= 1 floats from p
// (prefetch_amd64.s, prefetch_arm64.s).
//
//go:noescape
func prefetchLines(p *float32, n int)

// prefetchLinesL2 is prefetchLines into the second-level cache.
//
//go:noescape
func prefetchLinesL2(p *float32, n int)

func prefetch(p []float32) { prefetchLines(&p[0], len(p)) }

func prefetchL2(p []float32) { prefetchLinesL2(&p[0], len(p)) }
