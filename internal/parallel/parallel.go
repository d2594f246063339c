// Package parallel spreads independent pieces of work, such as the queries of
// a batch, over GOMAXPROCS goroutines.
package parallel

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls fn on consecutive chunks [lo, hi) of [0, n), each at most grain
// long, from up to GOMAXPROCS goroutines. It returns the first error fn
// returns, or ctx's error if ctx is done before all chunks ran; chunks not yet
// started are then skipped. With one chunk, or GOMAXPROCS = 1, everything runs
// on the calling goroutine.
func For(ctx context.Context, n, grain int, fn func(lo, hi int) error) error {
	if n <= 0 {
		return ctx.Err()
	}
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers <= 1 {
		for lo := 0; lo < n; lo += grain {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(lo, min(lo+grain, n)); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		failed   atomic.Bool
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		failed.Store(true)
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				lo := c * grain
				if err := fn(lo, min(lo+grain, n)); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// Grain picks a chunk size for n items so that each of the GOMAXPROCS
// workers gets several chunks (for balance) and no chunk is smaller than
// minGrain (to keep the per-chunk overhead small).
func Grain(n, minGrain int) int {
	g := n / (4 * runtime.GOMAXPROCS(0))
	return max(g, minGrain, 1)
}
