// Prefetch for amd64: on every 64-byte cache line that the slice touches,
// from the line of its first float to the line of its last, PREFETCHT0
// (prefetchLines: into every cache level) or PREFETCHT1 (prefetchLinesL2:
// into the second level and beyond, not the first). Prefetches never fault
// and change no architectural state.

//go:build !purego

#include "textflag.h"

// func prefetchLines(p *float32, n int)
TEXT ·prefetchLines(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	LEAQ -4(SI)(CX*4), DX // last float
	ANDQ $-64, SI
	ANDQ $-64, DX

line:
	PREFETCHT0 (SI)
	ADDQ       $64, SI
	CMPQ       SI, DX
	JLE        line
	RET

// func prefetchLinesL2(p *float32, n int)
TEXT ·prefetchLinesL2(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	LEAQ -4(SI)(CX*4), DX // last float
	ANDQ $-64, SI
	ANDQ $-64, DX

lineL2:
	PREFETCHT1 (SI)
	ADDQ       $64, SI
	CMPQ       SI, DX
	JLE        lineL2
	RET
