// Prefetch for arm64: on every 64-byte block that the slice touches, from
// the block of its first float to the block of its last, PRFM PLDL1KEEP
// (prefetchLines: into the first-level data cache) or PRFM PLDL2KEEP
// (prefetchLinesL2: into the second level). Prefetches never fault and
// change no architectural state.

//go:build !purego

#include "textflag.h"

// func prefetchLines(p *float32, n int)
TEXT ·prefetchLines(SB), NOSPLIT, $0-16
	MOVD p+0(FP), R0
	MOVD n+8(FP), R1
	ADD  R1<<2, R0, R2
	SUB  $4, R2           // last float
	AND  $~63, R0
	AND  $~63, R2

line:
	PRFM (R0), PLDL1KEEP
	ADD  $64, R0
	CMP  R2, R0
	BLE  line
	RET

// func prefetchLinesL2(p *float32, n int)
TEXT ·prefetchLinesL2(SB), NOSPLIT, $0-16
	MOVD p+0(FP), R0
	MOVD n+8(FP), R1
	ADD  R1<<2, R0, R2
	SUB  $4, R2           // last float
	AND  $~63, R0
	AND  $~63, R2

lineL2:
	PRFM (R0), PLDL2KEEP
	ADD  $64, R0
	CMP  R2, R0
	BLE  lineL2
	RET
