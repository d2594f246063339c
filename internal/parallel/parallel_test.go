package parallel

import (
	"context"
	"errors"
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
