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
	return ForShrinking(ctx, n, grain, grain, fn)
}

// ForShrinking is For with chunks that shrink as the work runs out, so that
// no goroutine is left with a long last chunk while the others have
// finished: each chunk a goroutine takes is what is left divided among
// twice the goroutines, at most maxGrain and at least minGrain long (the
// last one may be shorter). With minGrain = maxGrain it is For.
func ForShrinking(ctx context.Context, n, minGrain, maxGrain int, fn func(lo, hi int) error) error {
	if n <= 0 {
		return ctx.Err()
	}
	maxGrain = max(maxGrain, 1)
	minGrain = min(max(minGrain, 1), maxGrain)
	workers := min(runtime.GOMAXPROCS(0), (n+minGrain-1)/minGrain)
	if workers <= 1 {
		for lo := 0; lo < n; lo += maxGrain {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(lo, min(lo+maxGrain, n)); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next     atomic.Int64 // where the next chunk starts
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		failed   atomic.Bool
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		failed.Store(true)
	}
	// take claims the next chunk; lo >= n when none is left.
	take := func() (lo, hi int) {
		for {
			start := next.Load()
			lo = int(start)
			if lo >= n {
				return n, n
			}
			size := min(max((n-lo)/(2*workers), minGrain), maxGrain)
			hi = min(lo+size, n)
			if next.CompareAndSwap(start, int64(hi)) {
				return lo, hi
			}
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				lo, hi := take()
				if lo >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				if err := fn(lo, hi); err != nil {
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
