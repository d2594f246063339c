package asm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// quantInput makes rows of 16 values: random, wide, constant, with ties and
// signed zeros; and the scale a = 255 / (largest span), as callers choose it.
func quantInput(r *rand.Rand, rows int) (t, lo []float32, a float32) {
	t = make([]float32, 16*rows)
	for i := range t {
		switch row := i / 16; row % 5 {
		case 0:
			t[i] = r.Float32() * 10
		case 1:
			t[i] = (2*r.Float32() - 1) * 1e6
		case 2:
			t[i] = 3.25 // constant row: span 0
		case 3:
			t[i] = float32(r.IntN(3)) - 1 // ties, and -1, 0, 1
		case 4:
			t[i] = float32(math.Copysign(0, float64(r.IntN(2))-0.5)) + float32(r.IntN(2))*1e-30
		}
	}
	lo = make([]float32, rows)
	hi := make([]float32, rows)
	rowRangesGeneric(lo, hi, t)
	var span float32
	for i := range lo {
		span = max(span, hi[i]-lo[i])
	}
	a = 0
	if span > 0 {
		a = 255 / span
	}
	return t, lo, a
}

func TestRowRangesQuantizeRowsMatchTwin(t *testing.T) {
	forEachTableImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, rows := range []int{0, 1, 2, 3, 5, 7, 16, 100, 393} {
			for trial := 0; trial < 5; trial++ {
				tab, _, a := quantInput(r, rows)
				lo, hi := make([]float32, rows), make([]float32, rows)
				wlo, whi := make([]float32, rows), make([]float32, rows)
				RowRanges(lo, hi, tab)
				rowRangesGeneric(wlo, whi, tab)
				for i := range lo {
					// -0 and +0 are the same minimum.
					if lo[i] != wlo[i] || hi[i] != whi[i] {
						t.Fatalf("rows=%d row %d: range [%v, %v], twin [%v, %v]", rows, i, lo[i], hi[i], wlo[i], whi[i])
					}
				}
				got, want := make([]byte, 16*rows), make([]byte, 16*rows)
				for _, scale := range []float32{a, a * 0.999, a / 3, 0} {
					QuantizeRows(got, tab, wlo, scale)
					quantizeRowsGeneric(want, tab, wlo, scale)
					if !slices.Equal(got, want) {
						t.Fatalf("rows=%d a=%v: bytes %v, twin %v", rows, scale, got, want)
					}
				}
			}
		}
	})
}

// TestQuantizeRowsRounding pins the rounding on hand-picked values: the
// product is rounded to float32 before 0.5 is added, then truncated.
func TestQuantizeRowsRounding(t *testing.T) {
	forEachTableImpl(t, func(t *testing.T) {
		tab := make([]float32, 16)
		want := make([]byte, 16)
		for i := range tab {
			tab[i] = float32(i) * 0.5 // (v - 0) * 2 = i, exactly
			want[i] = byte(i)
		}
		tab[15] = 7.25 // 14.5 + 0.5 = 15
		want[15] = 15
		tab[14] = 7.2499995 // just below 7.25: 14.499999 + 0.5 truncates to 14
		want[14] = 14
		got := make([]byte, 16)
		QuantizeRows(got, tab, []float32{0}, 2)
		if !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

func TestQuantPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"ranges":   func() { RowRanges(make([]float32, 2), make([]float32, 2), make([]float32, 31)) },
		"ranges2":  func() { RowRanges(make([]float32, 2), make([]float32, 1), make([]float32, 32)) },
		"quantize": func() { QuantizeRows(make([]byte, 16), make([]float32, 32), make([]float32, 2), 1) },
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

// FuzzQuantizeRows checks RowRanges and QuantizeRows against the twins on
// fuzzed tables, with the scale a caller would choose and a smaller one.
func FuzzQuantizeRows(f *testing.F) {
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"), uint8(200))
	f.Fuzz(func(t *testing.T, data []byte, shrink uint8) {
		rows := len(data) / 16
		tab := fuzzFloats(data[:16*rows])
		wlo, whi := make([]float32, rows), make([]float32, rows)
		rowRangesGeneric(wlo, whi, tab)
		var span float32
		for i := range wlo {
			span = max(span, whi[i]-wlo[i])
		}
		a := float32(0)
		if span > 0 {
			a = 255 / span * (float32(shrink) + 1) / 256
		}
		forEachTableImpl(t, func(t *testing.T) {
			lo, hi := make([]float32, rows), make([]float32, rows)
			RowRanges(lo, hi, tab)
			if !slices.Equal(lo, wlo) || !slices.Equal(hi, whi) {
				t.Fatalf("ranges %v %v, twin %v %v", lo, hi, wlo, whi)
			}
			got, want := make([]byte, 16*rows), make([]byte, 16*rows)
			QuantizeRows(got, tab, wlo, a)
			quantizeRowsGeneric(want, tab, wlo, a)
			if !slices.Equal(got, want) {
				t.Fatalf("a=%v: %v, twin %v", a, got, want)
			}
		})
	})
}
