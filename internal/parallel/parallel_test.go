package parallel

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestForCoversEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 7, 100, 1001} {
		for _, grain := range []int{0, 1, 3, 64, 5000} {
			seen := make([]atomic.Int32, n)
			err := For(context.Background(), n, grain, func(lo, hi int) error {
				for i := lo; i < hi; i++ {
					seen[i].Add(1)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for i := range seen {
				if seen[i].Load() != 1 {
					t.Fatalf("n=%d grain=%d: index %d ran %d times", n, grain, i, seen[i].Load())
				}
			}
		}
	}
}

func TestForStopsOnErrorAndCancel(t *testing.T) {
	boom := errors.New("boom")
	err := For(context.Background(), 1000, 1, func(lo, hi int) error {
		if lo == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran atomic.Int32
	err = For(ctx, 1000, 1, func(lo, hi int) error { ran.Add(1); return nil })
	if !errors.Is(err, context.Canceled) || ran.Load() != 0 {
		t.Errorf("cancelled: err = %v, ran %d chunks", err, ran.Load())
	}
}

// TestForShrinkingChunks: every index runs once, chunks are at most
// maxGrain long and at least minGrain (but the last), and with several
// goroutines the chunks shrink towards the end. With minGrain = maxGrain
// the chunks are For's.
func TestForShrinkingChunks(t *testing.T) {
	for _, procs := range []int{1, 2, 3} {
		old := runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 15, 16, 17, 100, 2000} {
			for _, g := range [][2]int{{16, 250}, {1, 7}, {4, 4}, {0, 0}, {300, 100}, {50, 5000}} {
				minG, maxG := g[0], g[1]
				seen := make([]atomic.Int32, n)
				var mu sync.Mutex
				var chunks [][2]int
				err := ForShrinking(context.Background(), n, minG, maxG, func(lo, hi int) error {
					for i := lo; i < hi; i++ {
						seen[i].Add(1)
					}
					mu.Lock()
					chunks = append(chunks, [2]int{lo, hi})
					mu.Unlock()
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				for i := range seen {
					if seen[i].Load() != 1 {
						t.Fatalf("procs %d n=%d grains %v: index %d ran %d times", procs, n, g, i, seen[i].Load())
					}
				}
				slices.SortFunc(chunks, func(a, b [2]int) int { return a[0] - b[0] })
				hiG := max(maxG, 1)
				loG := min(max(minG, 1), hiG)
				for i, c := range chunks {
					size := c[1] - c[0]
					if size > hiG || (size < loG && c[1] != n) {
						t.Fatalf("procs %d n=%d grains %v: chunk %v of %d, want %d..%d", procs, n, g, c, size, loG, hiG)
					}
					if loG == hiG && c[0] != i*hiG {
						t.Fatalf("procs %d n=%d grains %v: chunk %d starts at %d, For's at %d", procs, n, g, i, c[0], i*hiG)
					}
				}
				if procs > 1 && n == 2000 && minG == 16 && maxG == 250 {
					first, last := chunks[0], chunks[len(chunks)-1]
					if first[1]-first[0] != 250 || last[1]-last[0] > 16 {
						t.Fatalf("procs %d: chunks %v do not shrink from 250 to 16", procs, chunks)
					}
				}
			}
		}
		runtime.GOMAXPROCS(old)
	}
}
