package asm

import "testing"

// TestPrefetch runs Prefetch and PrefetchL2 on slices of every length and
// alignment up to a few cache lines, and on one ending at an unmapped page
// (see the page-edge tests): they must neither fault nor change the data.
func TestPrefetch(t *testing.T) {
	buf := make([]float32, 200)
	for i := range buf {
		buf[i] = float32(i)
	}
	for lo := 0; lo < 20; lo++ {
		for hi := lo; hi <= len(buf); hi += 7 {
			Prefetch(buf[lo:hi])
			PrefetchL2(buf[lo:hi])
		}
	}
	Prefetch(nil)
	PrefetchL2(nil)
	nb := make([]int32, 100)
	for i := range nb {
		nb[i] = int32(i)
	}
	for lo := 0; lo < 20; lo++ {
		PrefetchInt32(nb[lo:])
	}
	PrefetchInt32(nil)
	for i, v := range nb {
		if v != int32(i) {
			t.Fatalf("neighbour %d changed to %d", i, v)
		}
	}
	for i, v := range buf {
		if v != float32(i) {
			t.Fatalf("value %d changed to %v", i, v)
		}
	}
}

func TestPrefetchL2Rows(t *testing.T) {
	for _, c := range []struct{ d, want int }{{0, 16384}, {1, 16384}, {256, 64}, {768, 21}, {1 << 14, 1}, {1 << 20, 1}} {
		if got := PrefetchL2Rows(c.d); got != c.want {
			t.Errorf("PrefetchL2Rows(%d) = %d, want %d", c.d, got, c.want)
		}
	}
}
