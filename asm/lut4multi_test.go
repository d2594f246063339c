package asm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomLUT4MultiInput returns nb blocks of random codes and nq random tables
// (near 255 when extreme, so that sums wrap mod 2^16).
func randomLUT4MultiInput(r *rand.Rand, nq, nb, m2 int, extreme bool) (codes, luts []byte) {
	codes, _ = randomLUT4Input(r, nb, m2, extreme)
	for q := 0; q < nq; q++ {
		_, lut := randomLUT4Input(r, 0, m2, extreme)
		luts = append(luts, lut...)
	}
	return codes, luts
}

// lut4MultiThresholds returns sets of nq thresholds: the special values 0, 1
// and 65535 and a random one in every position of a group of up to 4
// queries, uniform random ones, and ones near the typical sum of m2
// random table bytes (so that masks are mixed).
func lut4MultiThresholds(r *rand.Rand, nq, m2 int) [][]uint16 {
	special := func(shift int) []uint16 {
		thr := make([]uint16, nq)
		for q := range thr {
			thr[q] = []uint16{0, 1, 65535, uint16(r.IntN(65536))}[(q+shift)%4]
		}
		return thr
	}
	uniform, typical := make([]uint16, nq), make([]uint16, nq)
	for q := range uniform {
		uniform[q] = uint16(r.IntN(65536))
		typical[q] = uint16(m2*128 - 8*m2 + r.IntN(16*m2+1))
	}
	return [][]uint16{special(0), special(1), special(2), special(3), uniform, typical}
}

// guardedRun fills the entries of s outside [lo, hi) with a sentinel, runs f on
// s[lo:hi], and reports whether f wrote outside.
func guardedRun[T uint16 | uint32](s []T, lo, hi int, sentinel T, f func(inner []T)) bool {
	for i := range s {
		s[i] = sentinel
	}
	f(s[lo:hi:hi])
	for i := range s {
		if (i < lo || i >= hi) && s[i] != sentinel {
			return false
		}
	}
	return true
}

// scanMultiBoth checks LUT4ScanMulti against the twin, and the twin against
// LUT4Scan's twin query by query. It also checks that nothing is written
// around sums and masks and that every entry inside is written.
func scanMultiBoth(t *testing.T, codes, luts []byte, nq, nb, m2 int, thr []uint16) {
	t.Helper()
	wantS, wantM := make([]uint16, nq*nb*BlockSize), make([]uint32, nq*nb)
	lut4ScanMultiGeneric(wantS, wantM, codes, m2, luts, thr)
	for q := 0; q < nq; q++ {
		s, m := make([]uint16, nb*BlockSize), make([]uint32, nb)
		lut4ScanGeneric(s, m, codes, m2, luts[q*16*m2:(q+1)*16*m2], thr[q])
		if !slices.Equal(s, wantS[q*nb*BlockSize:(q+1)*nb*BlockSize]) || !slices.Equal(m, wantM[q*nb:(q+1)*nb]) {
			t.Fatalf("nq=%d m2=%d nb=%d: twin differs from LUT4Scan's twin for query %d", nq, m2, nb, q)
		}
	}

	const pad = 40
	gotS := make([]uint16, pad+nq*nb*BlockSize+pad)
	gotM := make([]uint32, pad+nq*nb+pad)
	var innerS []uint16
	var innerM []uint32
	okM := true
	okS := guardedRun(gotS, pad, pad+len(wantS), 0xdead, func(s []uint16) {
		innerS = s
		okM = guardedRun(gotM, pad, pad+len(wantM), 0xa5a5a5a5, func(m []uint32) {
			innerM = m
			LUT4ScanMulti(s, m, codes, m2, luts, thr)
		})
	})
	if !okS || !okM {
		t.Fatalf("nq=%d m2=%d nb=%d: wrote outside sums (%v) or masks (%v)", nq, m2, nb, !okS, !okM)
	}
	if !slices.Equal(innerS, wantS) || !slices.Equal(innerM, wantM) {
		for i := range innerS {
			if innerS[i] != wantS[i] {
				q, b, v := i/(nb*BlockSize), i/BlockSize%nb, i%BlockSize
				t.Fatalf("nq=%d m2=%d nb=%d thr=%v: query %d block %d vector %d: sum %d, twin %d",
					nq, m2, nb, thr, q, b, v, innerS[i], wantS[i])
			}
		}
		for i := range innerM {
			if innerM[i] != wantM[i] {
				t.Fatalf("nq=%d m2=%d nb=%d thr=%v: query %d block %d: mask %#x, twin %#x",
					nq, m2, nb, thr, i/nb, i%nb, innerM[i], wantM[i])
			}
		}
	}
}

func TestLUT4ScanMultiMatchesTwin(t *testing.T) {
	m2s := []int{}
	for m2 := 2; m2 <= 130; m2 += 2 {
		if !testing.Short() || m2 <= 12 || m2%16 == 0 || m2 == 130 {
			m2s = append(m2s, m2)
		}
	}
	forEachLUT4MultiImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for nq := 1; nq <= 9; nq++ {
			for _, m2 := range m2s {
				for _, nb := range []int{0, 1, 2, 3, 7, 10} {
					for _, extreme := range []bool{false, true} {
						codes, luts := randomLUT4MultiInput(r, nq, nb, m2, extreme)
						for _, thr := range lut4MultiThresholds(r, nq, m2) {
							scanMultiBoth(t, codes, luts, nq, nb, m2, thr)
						}
					}
				}
			}
		}
		if !testing.Short() {
			// More queries and blocks than any kernel's group or run of
			// blocks.
			for _, c := range []struct{ nq, nb, m2 int }{{16, 300, 64}, {21, 300, 64}, {5, 100, 130}, {7, 2100, 2}} {
				codes, luts := randomLUT4MultiInput(r, c.nq, c.nb, c.m2, false)
				scanMultiBoth(t, codes, luts, c.nq, c.nb, c.m2, lut4MultiThresholds(r, c.nq, c.m2)[5])
			}
		}
	})
}

// TestLUT4ScanMultiMatchesLUT4Scan checks the promise of the documentation:
// each query's results are LUT4Scan's, with whatever kernels are selected.
func TestLUT4ScanMultiMatchesLUT4Scan(t *testing.T) {
	forEachLUT4MultiImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, nq := range []int{1, 2, 3, 4, 5, 8} {
			for _, m2 := range []int{2, 16, 32, 64} {
				const nb = 9
				codes, luts := randomLUT4MultiInput(r, nq, nb, m2, nq%2 == 0)
				thr := lut4MultiThresholds(r, nq, m2)[5]
				sums, masks := make([]uint16, nq*nb*BlockSize), make([]uint32, nq*nb)
				LUT4ScanMulti(sums, masks, codes, m2, luts, thr)
				for q := 0; q < nq; q++ {
					s, m := make([]uint16, nb*BlockSize), make([]uint32, nb)
					LUT4Scan(s, m, codes, m2, luts[q*16*m2:(q+1)*16*m2], thr[q])
					if !slices.Equal(s, sums[q*nb*BlockSize:(q+1)*nb*BlockSize]) || !slices.Equal(m, masks[q*nb:(q+1)*nb]) {
						t.Fatalf("nq=%d m2=%d: query %d differs from LUT4Scan", nq, m2, q)
					}
				}
			}
		}
	})
}

// TestLUT4MultiSelection checks that every level runs the best multi-query
// kernel at or below it, also when the level's own LUT implementation has
// none.
func TestLUT4MultiSelection(t *testing.T) {
	orig := Selected()
	saved := lut4Impls
	defer func() {
		lut4Impls = saved
		if err := Use(orig); err != nil {
			t.Fatal(err)
		}
	}()
	check := func() {
		t.Helper()
		for _, level := range Implementations() {
			if err := Use(level); err != nil {
				t.Fatal(err)
			}
			want := "generic"
			for _, l := range lut4Impls {
				if l.available && l.k.scanMulti != nil && levelRank[l.name] <= levelRank[level] && levelRank[l.name] >= levelRank[want] {
					want = l.name
				}
			}
			if got := LUT4MultiImplementation(); got != want {
				t.Errorf("level %s: multi-query LUT scan %q, want %q", level, got, want)
			}
		}
	}
	check()
	// A top-level implementation with a single-query kernel only.
	top := "generic"
	for name := range levelRank {
		if levelRank[name] > levelRank[top] {
			top = name
		}
	}
	lut4Impls = append(slices.Clone(saved), impl[lut4Kernels]{name: top, available: true, k: lut4Kernels{scan: lut4ScanGeneric}})
	check()
	if err := Use(top); err != nil {
		t.Fatal(err)
	}
	if LUT4Implementation() != top || LUT4MultiImplementation() == top {
		t.Errorf("level %s: LUT scan %q, multi-query scan %q", top, LUT4Implementation(), LUT4MultiImplementation())
	}
	r := rand.New(rand.NewPCG(11, 12))
	codes, luts := randomLUT4MultiInput(r, 3, 2, 4, false)
	scanMultiBoth(t, codes, luts, 3, 2, 4, []uint16{100, 500, 1000})
}

func TestLUT4ScanMultiPanicsOnBadLengths(t *testing.T) {
	// Lengths of sums, masks, codes and luts, m2 and the number of queries.
	type lens struct{ sums, masks, codes, luts, m2, nq int }
	for name, c := range map[string]lens{
		"no queries":              {32, 1, 32, 32, 2, 0},
		"odd m2":                  {32, 1, 48, 48, 3, 1},
		"zero m2":                 {0, 0, 0, 0, 0, 1},
		"negative m2":             {0, 0, 0, 0, -2, 1},
		"ragged masks":            {96, 3, 32, 64, 2, 2},
		"short codes":             {64, 2, 31, 64, 2, 2},
		"long codes":              {64, 2, 64, 64, 2, 2},
		"short sums":              {63, 2, 32, 64, 2, 2},
		"long sums":               {96, 2, 32, 64, 2, 2},
		"short tables":            {64, 2, 32, 32, 2, 2},
		"no blocks, short tables": {0, 0, 0, 32, 2, 2},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			LUT4ScanMulti(make([]uint16, c.sums), make([]uint32, c.masks), make([]byte, c.codes), c.m2,
				make([]byte, c.luts), make([]uint16, c.nq))
		}()
	}
	// No blocks: nothing to do, no panic.
	LUT4ScanMulti(nil, nil, nil, 2, make([]byte, 64), []uint16{1, 2})
}

func FuzzLUT4ScanMulti(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint8(1), uint16(100), uint64(1))
	f.Add(uint8(4), uint8(64), uint8(3), uint16(0), uint64(2))
	f.Add(uint8(7), uint8(15), uint8(10), uint16(65535), uint64(3))
	f.Fuzz(func(t *testing.T, queries, pairs, nb uint8, thr uint16, seed uint64) {
		nq := 1 + int(queries)%17
		m2 := 2 * (1 + int(pairs)%80)
		n := int(nb) % 12
		r := rand.New(rand.NewPCG(seed, 4))
		codes, luts := randomLUT4MultiInput(r, nq, n, m2, seed%2 == 0)
		thrs := lut4MultiThresholds(r, nq, m2)[seed/2%6]
		thrs[int(seed>>8)%nq] = thr
		forEachLUT4MultiImpl(t, func(t *testing.T) { scanMultiBoth(t, codes, luts, nq, n, m2, thrs) })
	})
}

func ExampleLUT4ScanMulti() {
	// Two queries over one block of m2 = 2 sub-quantizers whose codes are
	// all 0: every vector's sum is table[0] + table[16].
	codes := make([]byte, 32)
	luts := make([]byte, 2*32)
	luts[0], luts[16] = 10, 20 // query 0: sums 30
	luts[32], luts[48] = 1, 2  // query 1: sums 3
	sums, masks := make([]uint16, 2*32), make([]uint32, 2)
	LUT4ScanMulti(sums, masks, codes, 2, luts, []uint16{31, 3})
	fmt.Println(sums[0], sums[31], sums[32], sums[63])
	fmt.Printf("%#x %#x\n", masks[0], masks[1])
	// Output:
	// 30 30 3 3
	// 0xffffffff 0x0
}
