package kume

import (
	"math"
	"math/rand/v2"
	"testing"
)

// funcFilter is a filter without IDMasker, as a caller's own would be.
type funcFilter func(int64) bool

func (f funcFilter) Contains(id int64) bool { return f(id) }

func TestFilters(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 3000
	var random []int64 // a random tenth of 0..n-1: dense, kept as a bitmap
	for i := int64(0); i < n; i++ {
		if rng.IntN(10) == 0 {
			random = append(random, i)
		}
	}
	sparse := []int64{5, 1 << 40, 77, 1 << 50, 3}
	for i := 0; i < 100; i++ {
		sparse = append(sparse, rng.Int64N(1<<60))
	}
	in := func(s []int64) func(int64) bool {
		m := map[int64]bool{}
		for _, v := range s {
			m[v] = true
		}
		return func(id int64) bool { return m[id] }
	}
	bits := []byte{0b10100101, 0, 0xff, 0x01, 0x80}
	bitRef := func(id int64) bool {
		return id >= 0 && id < 8*int64(len(bits)) && bits[id/8]&(1<<(id%8)) != 0
	}
	rangeRef := func(id int64) bool { return id >= 100 && id < 1234 }
	cases := []struct {
		name string
		f    IDFilter
		want func(int64) bool
	}{
		{"range", IDRange(100, 1234), rangeRef},
		{"empty range", IDRange(7, 7), func(int64) bool { return false }},
		{"reversed range", IDRange(9, 3), func(int64) bool { return false }},
		{"widest range", IDRange(math.MinInt64, math.MaxInt64), func(id int64) bool { return id != math.MaxInt64 }},
		{"negative range", IDRange(-1<<62, 77), func(id int64) bool { return id >= -1<<62 && id < 77 }},
		{"bitmap", IDBitmap(bits), bitRef},
		{"small set", IDSet([]int64{9, 3, 3, -2, 40}), in([]int64{9, 3, -2, 40})},
		{"empty set", IDSet(nil), func(int64) bool { return false }},
		{"dense set", IDSet(random), in(random)},
		{"hashed set", IDSet(sparse), in(sparse)},
		{"not range", NotFilter(IDRange(100, 1234)), func(id int64) bool { return !rangeRef(id) }},
		{"not func", NotFilter(funcFilter(rangeRef)), func(id int64) bool { return !rangeRef(id) }},
		{"and", AndFilter(IDRange(100, 1234), IDSet(random)), func(id int64) bool { return rangeRef(id) && in(random)(id) }},
		{"and hashed", AndFilter(IDRange(0, 1<<45), IDSet(sparse)), func(id int64) bool { return id < 1<<45 && in(sparse)(id) }},
		{"or", OrFilter(IDBitmap(bits), IDRange(100, 1234)), func(id int64) bool { return bitRef(id) || rangeRef(id) }},
		{"or none", OrFilter(), func(int64) bool { return false }},
		{"and none", AndFilter(), func(int64) bool { return true }},
		{"func", funcFilter(rangeRef), rangeRef},
	}
	probe := []int64{-1, 0, 3, 5, 77, 99, 100, 1233, 1234, 2999, 1 << 40, 1 << 50, math.MaxInt64, math.MinInt64}
	probe = append(probe, sparse...)
	for i := 0; i < 2000; i++ {
		probe = append(probe, rng.Int64N(n+100)-50)
	}
	for _, c := range cases {
		for _, id := range probe {
			if got := c.f.Contains(id); got != c.want(id) {
				t.Fatalf("%s: Contains(%d) = %v, want %v", c.name, id, got, !got)
			}
		}
		// Masks agree with Contains, over runs and over scattered ids.
		for first := int64(-40); first < n+40; first += 1 + int64(rng.IntN(40)) {
			cnt := 1 + rng.IntN(32)
			var want uint32
			ids := make([]int64, cnt)
			for j := 0; j < cnt; j++ {
				ids[j] = first + int64(j)
				if rng.IntN(3) == 0 {
					ids[j] = probe[rng.IntN(len(probe))]
				}
				if c.want(first + int64(j)) {
					want |= 1 << j
				}
			}
			if got := FilterMask(c.f, nil, first, cnt); got != want {
				t.Fatalf("%s: FilterMask(seq %d, %d) = %032b, want %032b", c.name, first, cnt, got, want)
			}
			var wantIDs uint32
			for j, id := range ids {
				if c.want(id) {
					wantIDs |= 1 << j
				}
			}
			if got := FilterMask(c.f, ids, 0, cnt); got != wantIDs {
				t.Fatalf("%s: FilterMask(%v) = %032b, want %032b", c.name, ids, got, wantIDs)
			}
		}
	}
	if _, ok := IDSet(sparse).(IDMasker); ok {
		t.Errorf("a sparse IDSet should be hashed, not a masker")
	}
	if _, ok := IDSet(random).(IDMasker); !ok {
		t.Errorf("a dense IDSet should be a masker")
	}
}

func TestRangeResultsRow(t *testing.T) {
	r := &RangeResults{NQ: 3, Lims: []int{0, 2, 2, 3}, IDs: []int64{4, 1, 7}, Distances: []float32{0.5, 1, 2}}
	if d, ids := r.Row(0); len(d) != 2 || ids[1] != 1 {
		t.Errorf("Row(0) = %v %v", d, ids)
	}
	if d, ids := r.Row(1); len(d) != 0 || len(ids) != 0 {
		t.Errorf("Row(1) = %v %v, want empty", d, ids)
	}
	if _, ids := r.Row(2); ids[0] != 7 {
		t.Errorf("Row(2) ids = %v", ids)
	}
}
