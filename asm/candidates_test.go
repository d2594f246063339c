package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestL2CandidatesMatchesTwin: every implementation gives the Go
// expression's mask, bit for bit, on values that round at the bound, NaN,
// ±Inf, signed zeros and every length up to 32.
func TestL2CandidatesMatchesTwin(t *testing.T) {
	forEachTableImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1e38, -1e38}
		for trial := 0; trial < 2000; trial++ {
			n := trial % 33
			dots, norms := make([]float32, n), make([]float32, n)
			for j := range dots {
				dots[j] = float32(r.NormFloat64() * 100)
				norms[j] = float32(r.Float64() * 300)
				if r.IntN(16) == 0 {
					dots[j] = special[r.IntN(len(special))]
				}
				if r.IntN(16) == 0 {
					norms[j] = special[r.IntN(len(special))]
				}
			}
			th := float32(r.NormFloat64() * 100)
			if n > 0 && trial%3 == 0 {
				j := r.IntN(n)
				th = norms[j] - 2*dots[j] // exactly at the bound: kept
			}
			if got, want := L2Candidates(dots, norms, th), l2CandidatesGeneric(dots, norms, th); got != want {
				t.Fatalf("n=%d t=%v: mask %032b, twin %032b (dots %v norms %v)", n, th, got, want, dots, norms)
			}
		}
	})
}

func TestL2CandidatesPanics(t *testing.T) {
	for _, c := range [][2]int{{33, 33}, {5, 4}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%d scores, %d norms: no panic", c[0], c[1])
				}
			}()
			L2Candidates(make([]float32, c[0]), make([]float32, c[1]), 0)
		}()
	}
}
