// Prefetch for amd64: on every 64-byte cache line that the slice touches,
// from the line of its first float to the line of its last, PREFETCHT0
// (prefetchLines: into every cache level) or PREFETCHT1 (prefetchLinesL2:
// into the second level and beyond, not the first). Prefetches never fault
// and change no architectural state.

//go:build !purego

#include "textflag.h"

// PREFETCH_LINES is the body of func(p *float32, n int) that runs OP on
// each line of p[:n].
#define PREFETCH_LINES(OP) \
	MOVQ p+0(FP), SI \
	MOVQ n+8(FP), CX \
	LEAQ -4(SI)(CX*4), DX \
	ANDQ $-64, SI \
	ANDQ $-64, DX \
line: \
	OP   (SI) \
	ADDQ $64, SI \
	CMPQ SI, DX \
	JLE  line \
	RET

// func prefetchLines(p *float32, n int)
TEXT ·prefetchLines(SB), NOSPLIT, $0-16
	PREFETCH_LINES(PREFETCHT0)

// func prefetchLinesL2(p *float32, n int)
TEXT ·prefetchLinesL2(SB), NOSPLIT, $0-16
	PREFETCH_LINES(PREFETCHT1)
