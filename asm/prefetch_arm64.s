// Prefetch for arm64: on every 64-byte block that the slice touches, from
// the block of its first float to the block of its last, PRFM PLDL1KEEP
// (prefetchLines: into the first-level data cache) or PRFM PLDL2KEEP
// (prefetchLinesL2: into the second level). Prefetches never fault and
// change no architectural state.

//go:build !purego

#include "textflag.h"

// PREFETCH_LINES is the body of func(p *float32, n int) that runs PRFM OP
// on each block of p[:n].
#define PREFETCH_LINES(OP) \
	MOVD p+0(FP), R0 \
	MOVD n+8(FP), R1 \
	ADD  R1<<2, R0, R2 \
	SUB  $4, R2 \
	AND  $~63, R0 \
	AND  $~63, R2 \
line: \
	PRFM (R0), OP \
	ADD  $64, R0 \
	CMP  R2, R0 \
	BLE  line \
	RET

// func prefetchLines(p *float32, n int)
TEXT ·prefetchLines(SB), NOSPLIT, $0-16
	PREFETCH_LINES(PLDL1KEEP)

// func prefetchLinesL2(p *float32, n int)
TEXT ·prefetchLinesL2(SB), NOSPLIT, $0-16
	PREFETCH_LINES(PLDL2KEEP)
