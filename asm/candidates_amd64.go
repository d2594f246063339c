//go:build !purego

package asm

// l2Candidates32AVX2 is L2Candidates for 32 rows (candidates_avx2_amd64.s).
//
//go:noescape
func l2Candidates32AVX2(dots, norms *float32, t float32) uint32

func l2CandidatesAVX2Go(dots, norms []float32, t float32) uint32 {
	return l2Candidates32AVX2(&dots[0], &norms[0], t)
}
