package contract

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/metric"
)

const (
	// cancelAfter is when the context of a long call is cancelled.
	cancelAfter = 20 * time.Millisecond
	// cancelBound is how soon after the start a cancelled call must have
	// returned. It is generous, for a loaded machine: prompt cancellation
	// takes a few milliseconds, while the calls are sized to take more
	// than 10 s uncancelled.
	cancelBound = 2 * time.Second
	// longWork is how long the calls are sized to take uncancelled.
	longWork = 10 * time.Second
)

// uniform returns n values uniform in [-1, 1), cheaply: the cancellation
// tests need a lot of data and do not care about its distribution.
func uniform(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 2*rng.Float32() - 1
	}
	return x
}

// cancelled runs f with a context cancelled cancelAfter after the start and
// checks that it fails with context.Canceled within cancelBound.
func cancelled(t *testing.T, label string, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	timer := time.AfterFunc(cancelAfter, cancel)
	defer timer.Stop()
	err := call(func() error { return f(ctx) })
	took := time.Since(start)
	switch {
	case took > cancelBound:
		t.Errorf("%s: cancelled after %v, returned after %v (err = %v), want within %v", label, cancelAfter, took, err, cancelBound)
	case !errors.Is(err, context.Canceled):
		t.Errorf("%s: cancelled after %v, returned after %v with err = %v, want context.Canceled", label, cancelAfter, took, err)
	}
}

// TestCancelSearch cancels long batch searches on Flat, IVF,Flat, PQ fast
// scan and IVF,PQ fast scan (every list), and a refining index over it.
// The batches are sized, from the time of a small batch, to take more than
// 10 s uncancelled.
func TestCancelSearch(t *testing.T) {
	const (
		d    = 32
		seed = 81
		k    = 1
	)
	n, maxQ := 50000, 400000
	if testing.Short() {
		n, maxQ = 10000, 20000
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	base := uniform(rng, n*d)
	pool := uniform(rng, 256*d)
	for _, desc := range []string{"Flat", "IVF16,Flat", "PQ16x4fs", "IVF16,PQ16x4fs", "IVF16,PQ16x4fs,RFlat"} {
		idx := build(t, d, desc, metric.L2, base, base)
		p := &kume.SearchParams{NProbe: 16, KFactor: 4}
		start := time.Now()
		mustSearch(t, desc, idx, pool, k, p)
		per := time.Since(start) / 256
		nq := min(maxQ, int(longWork/max(per, time.Nanosecond))+1)
		if est := per * time.Duration(nq); est < longWork && !testing.Short() {
			t.Logf("%s: %d queries are estimated to take %v uncancelled", desc, nq, est)
		}
		q := make([]float32, 0, nq*d)
		for len(q) < nq*d {
			q = append(q, pool[:min(len(pool), nq*d-len(q))]...)
		}
		label := fmt.Sprintf("seed %d, %s over %d vectors, %d queries (about %v uncancelled)", seed, desc, n, nq, per*time.Duration(nq))
		cancelled(t, label, func(ctx context.Context) error {
			_, err := idx.Search(ctx, q, k, p)
			return err
		})
	}
}

// countingCtx is a context that is never done and counts how often it is
// inspected.
type countingCtx struct {
	context.Context
	n atomic.Int64
}

func (c *countingCtx) Done() <-chan struct{} { c.n.Add(1); return c.Context.Done() }
func (c *countingCtx) Err() error            { c.n.Add(1); return c.Context.Err() }

// TestCancelSingleQuery checks that one query over a large flat index looks
// at its context while it scans, not only before, and that a cancellation it
// sees there makes it fail with context.Canceled instead of returning
// results. A single query cannot be made to take seconds, so the context is
// cancelled at a chosen inspection rather than at a chosen time.
func TestCancelSingleQuery(t *testing.T) {
	const (
		d    = 16
		seed = 83
		k    = 4
	)
	n := 1 << 19
	if testing.Short() {
		n = 1 << 17
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	base := uniform(rng, n*d)
	q := uniform(rng, d)
	for _, desc := range []string{"Flat", "IVF1,Flat"} {
		for _, m := range metrics {
			label := fmt.Sprintf("seed %d, %s %v over %d vectors, one query", seed, desc, m, n)
			idx, err := factory.New(d, desc, m)
			if err != nil {
				t.Fatal(err)
			}
			quiet(idx)
			if err := idx.Train(context.Background(), base[:1000*d]); err != nil {
				t.Fatalf("%s: Train: %v", label, err)
			}
			if err := idx.Add(context.Background(), base); err != nil {
				t.Fatalf("%s: Add: %v", label, err)
			}
			cc := &countingCtx{Context: context.Background()}
			if _, err := idx.Search(cc, q, k, nil); err != nil {
				t.Fatalf("%s: Search: %v", label, err)
			}
			looks := cc.n.Load()
			if looks < 3 {
				t.Errorf("%s: the search looked at its context %d times, want it to look while it scans", label, looks)
				continue
			}
			for _, after := range []int64{1, looks / 2, looks - 1} {
				err := call(func() error { _, err := idx.Search(countdown(after), q, k, nil); return err })
				if !errors.Is(err, context.Canceled) {
					t.Errorf("%s: a context done after %d of the search's %d looks: err = %v, want context.Canceled", label, after, looks, err)
				}
			}
		}
	}
}

// TestCancelTrain cancels the coarse training of an IVF index with many
// lists on a large training set, which takes well over 10 s uncancelled.
func TestCancelTrain(t *testing.T) {
	const (
		d    = 32
		seed = 85
	)
	nlist := 4096
	if testing.Short() {
		nlist = 512
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	train := uniform(rng, nlist*40*d)
	desc := fmt.Sprintf("IVF%d,Flat", nlist)
	idx, err := factory.New(d, desc, metric.L2)
	if err != nil {
		t.Fatal(err)
	}
	quiet(idx)
	label := fmt.Sprintf("seed %d, %s, Train on %d vectors", seed, desc, nlist*40)
	cancelled(t, label, func(ctx context.Context) error { return idx.Train(ctx, train) })
	if idx.IsTrained() {
		t.Errorf("%s: a cancelled Train left the index trained", label)
	}
}

// TestCancelAdd cancels an Add to an IVF index with many lists, whose
// assignment of the vectors to lists takes well over 10 s uncancelled, and
// checks that the failed Add stored nothing.
func TestCancelAdd(t *testing.T) {
	const (
		d    = 64
		seed = 87
	)
	nlist, n := 8192, 250000
	if testing.Short() {
		nlist, n = 1024, 20000
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	for _, desc := range []string{fmt.Sprintf("IVF%d,Flat", nlist), fmt.Sprintf("IVF%d,Flat,RFlat", nlist)} {
		idx, err := factory.New(d, desc, metric.L2)
		if err != nil {
			t.Fatal(err)
		}
		var iv *ivf.Index
		switch x := idx.(type) {
		case *ivf.Index:
			iv = x
		case interface{ Base() kume.Index }:
			iv, _ = x.Base().(*ivf.Index)
		}
		if iv == nil {
			t.Fatalf("%s: %T is not an IVF index", desc, idx)
		}
		// Random centroids: training that many lists would take longer
		// than the test.
		if err := iv.SetCentroids(uniform(rng, nlist*d)); err != nil {
			t.Fatalf("%s: SetCentroids: %v", desc, err)
		}
		v := uniform(rng, n*d)
		label := fmt.Sprintf("seed %d, %s, Add of %d vectors", seed, desc, n)
		cancelled(t, label, func(ctx context.Context) error { return idx.Add(ctx, v) })
		if got := idx.Len(); got != 0 {
			t.Errorf("%s: a cancelled Add left Len() = %d, want 0", label, got)
		}
	}
}
