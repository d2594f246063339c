package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSubTablesMatchTwin(t *testing.T) {
	forEachTableImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, dsub := range []int{1, 2, 3, 4, 7, 8, 16} {
			for _, nsub := range []int{0, 1, 2, 5, 64, 196} {
				for _, gen := range []valueGen{plainValue, wideValue, hugeValue, tinyValue} {
					x := randVec(r, nsub*dsub, gen)
					ct := randVec(r, 16*nsub*dsub, gen)
					for _, l2 := range []bool{true, false} {
						got, want := make([]float32, 16*nsub), make([]float32, 16*nsub)
						for i := range got {
							got[i] = float32(math.NaN()) // every entry must be written
						}
						SubTables(got, x, ct, dsub, l2)
						if l2 {
							l2SubTablesGeneric(want, x, ct, dsub)
						} else {
							dotSubTablesGeneric(want, x, ct, dsub)
						}
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("dsub=%d nsub=%d l2=%v: entry %d = %v, twin %v", dsub, nsub, l2, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	})
}

// TestSubTablesValues checks the tables against a direct float64 computation.
func TestSubTablesValues(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const dsub, nsub = 3, 4
	x := randVec(r, nsub*dsub, plainValue)
	ct := randVec(r, 16*nsub*dsub, plainValue)
	for _, l2 := range []bool{true, false} {
		got := make([]float32, 16*nsub)
		SubTables(got, x, ct, dsub, l2)
		for s := 0; s < nsub; s++ {
			for c := 0; c < 16; c++ {
				var want float64
				for k := s * dsub; k < (s+1)*dsub; k++ {
					if l2 {
						d := float64(x[k]) - float64(ct[16*k+c])
						want += d * d
					} else {
						want += float64(x[k]) * float64(ct[16*k+c])
					}
				}
				if math.Abs(float64(got[16*s+c])-want) > 1e-5 {
					t.Fatalf("l2=%v sub %d centroid %d: %v, want %v", l2, s, c, got[16*s+c], want)
				}
			}
		}
	}
}

func TestSubTablesPanics(t *testing.T) {
	for _, f := range []func(){
		func() { SubTables(make([]float32, 16), make([]float32, 3), make([]float32, 48), 2, true) },
		func() { SubTables(make([]float32, 16), make([]float32, 2), make([]float32, 31), 2, true) },
		func() { SubTables(make([]float32, 32), make([]float32, 2), make([]float32, 32), 2, false) },
		func() { SubTables(nil, nil, nil, 0, true) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}

// FuzzSubTables checks every implementation against the twin, bit for bit,
// on fuzzed queries and centroids.
func FuzzSubTables(f *testing.F) {
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, ds uint8) {
		dsub := int(ds)%9 + 1
		nsub := len(data) / (17 * dsub)
		x := fuzzFloats(data[:nsub*dsub])
		ct := fuzzFloats(data[nsub*dsub : 17*nsub*dsub])
		forEachTableImpl(t, func(t *testing.T) {
			for _, l2 := range []bool{true, false} {
				got, want := make([]float32, 16*nsub), make([]float32, 16*nsub)
				SubTables(got, x, ct, dsub, l2)
				if l2 {
					l2SubTablesGeneric(want, x, ct, dsub)
				} else {
					dotSubTablesGeneric(want, x, ct, dsub)
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("dsub=%d l2=%v: entry %d = %v, twin %v", dsub, l2, i, got[i], want[i])
					}
				}
			}
		})
	})
}
