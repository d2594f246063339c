package asm

import "fmt"

// L2Candidates returns the rows of a tile that a squared-distance bound
// keeps: bit j is set, for j < len(dots) <= 32, unless
// norms[j] - 2*dots[j] > t, the expression evaluated in float32 as written
// (so a NaN sets its bit). dots are inner products of a query with rows
// whose squared norms are norms; t is a bound on ||x||² - 2<q, x> that a
// candidate does not exceed. It is the quick test of package exact's
// collectors, 32 rows per call.
func L2Candidates(dots, norms []float32, t float32) uint32 {
	if len(dots) > 32 || len(norms) < len(dots) {
		panic(fmt.Sprintf("asm.L2Candidates: %d scores and %d norms (at most 32 scores)", len(dots), len(norms)))
	}
	if len(dots) == 32 {
		return tk.l2Candidates(dots, norms[:32], t)
	}
	return l2CandidatesGeneric(dots, norms, t)
}

func l2CandidatesGeneric(dots, norms []float32, t float32) uint32 {
	norms = norms[:len(dots)]
	var m uint32
	for j, s := range dots {
		if !(norms[j]-2*s > t) {
			m |= 1 << j
		}
	}
	return m
}
