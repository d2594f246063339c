package rangeres

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortMatchesSortFunc: Out's sort orders hits exactly as slices.SortFunc
// with byL2 / byIP, with many ties, duplicated ids, NaN, ±0 and ±Inf, at
// every length around the insertion-sort cutoff and beyond.
func TestSortMatchesSortFunc(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), -1, 1}
	for _, ip := range []bool{false, true} {
		for _, n := range []int{0, 1, 2, 5, smallSort, smallSort + 1, 40, radixMin - 1, radixMin, 300, 2000} {
			for trial := 0; trial < 5; trial++ {
				hits := make([]Hit, n)
				for i := range hits {
					var d float32
					switch rng.IntN(4) {
					case 0:
						d = special[rng.IntN(len(special))]
					case 1:
						d = float32(rng.IntN(5)) // ties
					default:
						d = float32(rng.NormFloat64() * 100)
					}
					hits[i] = Hit{Dist: d, ID: rng.Int64N(int64(n/2 + 2))}
				}
				want := slices.Clone(hits)
				if ip {
					slices.SortFunc(want, byIP)
				} else {
					slices.SortFunc(want, byL2)
				}
				o := Out{ip: ip}
				got := slices.Clone(hits)
				o.sort(got)
				for i := range got {
					g, w := got[i], want[i]
					if g.ID != w.ID || math.Float32bits(g.Dist) != math.Float32bits(w.Dist) && !(g.Dist == 0 && w.Dist == 0) && !(g.Dist != g.Dist && w.Dist != w.Dist) {
						t.Fatalf("ip=%v n=%d trial %d: rank %d is %v, want %v", ip, n, trial, i, g, w)
					}
				}
			}
		}
	}
}

// BenchmarkSort sorts the hits of one query (300 distinct distances, as a
// range search of about 0.3 % of 100,000 vectors finds), by Out's sort and
// by slices.SortFunc.
func BenchmarkSort(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	hits := make([]Hit, 300)
	for i := range hits {
		hits[i] = Hit{Dist: 100 + 90*rng.Float32(), ID: rng.Int64N(100_000)}
	}
	seg := make([]Hit, len(hits))
	b.Run("Out", func(b *testing.B) {
		var o Out
		for b.Loop() {
			copy(seg, hits)
			o.sort(seg)
		}
	})
	b.Run("SortFunc", func(b *testing.B) {
		for b.Loop() {
			copy(seg, hits)
			slices.SortFunc(seg, byL2)
		}
	})
}
