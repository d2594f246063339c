package asm

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func randomLUT4Input(r *rand.Rand, nb, m2 int, extreme bool) (codes, lut []byte) {
	codes = make([]byte, nb*16*m2)
	lut = make([]byte, 16*m2)
	for i := range codes {
		codes[i] = byte(r.IntN(256))
	}
	for i := range lut {
		lut[i] = byte(r.IntN(256))
		if extreme {
			lut[i] = 255 - byte(r.IntN(3)) // large sums that wrap mod 2^16
		}
	}
	return codes, lut
}

func scanBoth(t *testing.T, codes, lut []byte, nb, m2 int, thr uint16) {
	t.Helper()
	wantS, wantM := make([]uint16, nb*BlockSize), make([]uint32, nb)
	lut4ScanGeneric(wantS, wantM, codes, m2, lut, thr)
	gotS, gotM := make([]uint16, nb*BlockSize), make([]uint32, nb)
	for i := range gotS {
		gotS[i] = 0xdead
	}
	LUT4Scan(gotS, gotM, codes, m2, lut, thr)
	if !slices.Equal(gotS, wantS) || !slices.Equal(gotM, wantM) {
		for i := range gotS {
			if gotS[i] != wantS[i] {
				t.Fatalf("m2=%d nb=%d thr=%d: sum %d = %d, twin %d", m2, nb, thr, i, gotS[i], wantS[i])
			}
		}
		t.Fatalf("m2=%d nb=%d thr=%d: masks %x, twin %x", m2, nb, thr, gotM, wantM)
	}
}

func TestLUT4ScanMatchesTwin(t *testing.T) {
	forEachLUT4Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for m2 := 2; m2 <= 130; m2 += 2 {
			for _, nb := range []int{0, 1, 2, 3, 7, 10} {
				for _, extreme := range []bool{false, true} {
					codes, lut := randomLUT4Input(r, nb, m2, extreme)
					for _, thr := range []uint16{0, 1, 65535, uint16(r.IntN(65536)), uint16(m2 * 120)} {
						scanBoth(t, codes, lut, nb, m2, thr)
					}
				}
			}
		}
		if !testing.Short() {
			codes, lut := randomLUT4Input(r, 1000, 64, false)
			scanBoth(t, codes, lut, 1000, 64, 4000)
		}
	})
}

// TestLUT4ScanHandExample checks one block against sums worked out from
// FAISS's layout by hand: m2 = 2, every code byte of sub-quantizer 0 is 0x21
// (low nibble 1, high nibble 2) and of sub-quantizer 1 is 0x43. So vectors
// 0..15 (low nibbles) have codes (1, 3) and vectors 16..31 (high nibbles)
// codes (2, 4). Table 0 maps c to 10c, table 1 maps c to 100+c.
func TestLUT4ScanHandExample(t *testing.T) {
	forEachLUT4Impl(t, func(t *testing.T) {
		codes := make([]byte, 32)
		for i := 0; i < 16; i++ {
			codes[i], codes[16+i] = 0x21, 0x43
		}
		lut := make([]byte, 32)
		for c := 0; c < 16; c++ {
			lut[c], lut[16+c] = byte(10*c), byte(100+c)
		}
		sums, masks := make([]uint16, 32), make([]uint32, 1)
		LUT4Scan(sums, masks, codes, 2, lut, 120)
		for v := 0; v < 32; v++ {
			want := uint16(10*1 + 103) // 113
			if v >= 16 {
				want = 10*2 + 104 // 124
			}
			if sums[v] != want {
				t.Fatalf("vector %d: sum %d, want %d", v, sums[v], want)
			}
		}
		if masks[0] != 0x0000ffff { // 113 < 120 <= 124
			t.Fatalf("mask %#x, want 0xffff", masks[0])
		}
	})
}

func TestLUT4ScanPanicsOnBadLengths(t *testing.T) {
	for name, f := range map[string]func(){
		"odd m2":      func() { LUT4Scan(make([]uint16, 32), make([]uint32, 1), make([]byte, 48), 3, make([]byte, 48), 1) },
		"short codes": func() { LUT4Scan(make([]uint16, 32), make([]uint32, 1), make([]byte, 31), 2, make([]byte, 32), 1) },
		"short table": func() { LUT4Scan(make([]uint16, 32), make([]uint32, 1), make([]byte, 32), 2, make([]byte, 31), 1) },
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

func FuzzLUT4Scan(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint16(100), uint64(1))
	f.Add(uint8(64), uint8(3), uint16(0), uint64(2))
	f.Fuzz(func(t *testing.T, pairs, nb uint8, thr uint16, seed uint64) {
		m2 := 2 * (1 + int(pairs)%80)
		n := int(nb) % 12
		r := rand.New(rand.NewPCG(seed, 3))
		codes, lut := randomLUT4Input(r, n, m2, seed%2 == 0)
		forEachLUT4Impl(t, func(t *testing.T) { scanBoth(t, codes, lut, n, m2, thr) })
	})
}
