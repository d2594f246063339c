package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// anyAbsAtLeastRef is AnyAbsAtLeast's definition, on float64 magnitudes.
func anyAbsAtLeastRef(x []float32, lim float32) bool {
	for _, v := range x {
		if math.IsNaN(float64(v)) || math.Abs(float64(v)) >= float64(lim) {
			return true
		}
	}
	return false
}

func TestSub(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, x := range selectionInputs(rng) {
			y := make([]float32, len(x))
			for i := range y {
				y[i] = float32(rng.NormFloat64() * 1e3)
			}
			y[rng.IntN(len(y))] = float32(math.Inf(1))
			dst := make([]float32, len(x))
			Sub(dst, x, y)
			for i := range x {
				if want := x[i] - y[i]; math.Float32bits(dst[i]) != math.Float32bits(want) {
					t.Fatalf("len %d, [%d]: %v - %v = %v, want %v", len(x), i, x[i], y[i], dst[i], want)
				}
			}
			// In place, over either operand.
			x2 := append([]float32(nil), x...)
			Sub(x2, x2, y)
			y2 := append([]float32(nil), y...)
			Sub(y2, x, y2)
			for i := range x {
				if math.Float32bits(x2[i]) != math.Float32bits(dst[i]) || math.Float32bits(y2[i]) != math.Float32bits(dst[i]) {
					t.Fatalf("len %d, [%d]: in place %v and %v, want %v", len(x), i, x2[i], y2[i], dst[i])
				}
			}
		}
		big := make([]float32, 3*chunkFloats+13) // several assembly calls
		for i := range big {
			big[i] = float32(i)
		}
		out := make([]float32, len(big))
		Sub(out, big, big[:len(big):len(big)])
		for i, v := range out {
			if v != 0 {
				t.Fatalf("long slice [%d] = %v", i, v)
			}
		}
	})
}

func TestAnyAbsAtLeast(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		lims := []float32{1e-30, 0.5, 1, 10, 39, 40, 1e30, math.MaxFloat32, float32(math.Inf(1)), math.SmallestNonzeroFloat32}
		for _, x := range selectionInputs(rng) {
			for _, lim := range lims {
				if got, want := AnyAbsAtLeast(x, lim), anyAbsAtLeastRef(x, lim); got != want {
					t.Fatalf("len %d lim %v: %v, want %v (%v)", len(x), lim, got, want, x)
				}
			}
		}
		// A single large value at every position of a long slice, either
		// sign, just below and at the limit.
		x := make([]float32, 2*chunkFloats+21)
		for _, i := range []int{0, 7, 8, 31, 32, chunkFloats - 1, chunkFloats, len(x) - 1} {
			for _, v := range []float32{2, -2, math.Nextafter32(2, 0), float32(math.NaN())} {
				x[i] = v
				if got, want := AnyAbsAtLeast(x, 2), anyAbsAtLeastRef(x, 2); got != want {
					t.Fatalf("value %v at %d of %d: %v, want %v", v, i, len(x), got, want)
				}
				x[i] = 0
			}
		}
	})
}

func TestElementwisePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"Sub lengths":  func() { Sub(make([]float32, 3), make([]float32, 3), make([]float32, 2)) },
		"Sub dst":      func() { Sub(make([]float32, 2), make([]float32, 3), make([]float32, 3)) },
		"limit 0":      func() { AnyAbsAtLeast(nil, 0) },
		"limit NaN":    func() { AnyAbsAtLeast(nil, float32(math.NaN())) },
		"limit below0": func() { AnyAbsAtLeast(nil, -1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
