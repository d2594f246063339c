package ivf

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/metric"
)

// cancelAfter is a context that reports itself cancelled once Err has been
// asked n times: a cancellation at a chosen point of a long call. It is
// asked from several goroutines at once.
type cancelAfter struct {
	context.Context
	n atomic.Int64
}

func newCancelAfter(ctx context.Context, n int) *cancelAfter {
	c := &cancelAfter{Context: ctx}
	c.n.Store(int64(n))
	return c
}

func (c *cancelAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func gaussian(rng *rand.Rand, n, d int) []float32 {
	v := make([]float32, n*d)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestAddAfterRemoveNeverReusesIDs: ids given by Add never repeat one that
// was stored, after removals and after AddWithIDs.
func TestAddAfterRemoveNeverReusesIDs(t *testing.T) {
	const d = 8
	rng := rand.New(rand.NewPCG(1, 1))
	ctx := context.Background()
	idx, _ := NewFlat(d, 4, metric.L2)
	_ = idx.Train(ctx, gaussian(rng, 200, d))
	_ = idx.Add(ctx, gaussian(rng, 10, d)) // ids 0..9
	if _, err := idx.RemoveIDs([]int64{2, 3}); err != nil {
		t.Fatal(err)
	}
	_ = idx.Add(ctx, gaussian(rng, 2, d)) // must be 10, 11 (not 8, 9)
	_ = idx.AddWithIDs(ctx, gaussian(rng, 1, d), []int64{40})
	_ = idx.Add(ctx, gaussian(rng, 1, d)) // 41
	seen := map[int64]int{}
	for _, l := range idx.ListSizes() {
		_ = l
	}
	for l := 0; l < idx.NList(); l++ {
		for _, id := range idx.Lists().IDs(l) {
			seen[id]++
		}
	}
	for id, c := range seen {
		if c > 1 {
			t.Errorf("id %d stored %d times", id, c)
		}
	}
	for _, id := range []int64{10, 11, 40, 41} {
		if seen[id] != 1 {
			t.Errorf("id %d missing; ids %v", id, seen)
		}
	}
	if idx.Len() != 12 || idx.NextID() != 42 {
		t.Errorf("Len %d NextID %d, want 12 and 42", idx.Len(), idx.NextID())
	}
	idx.Reset()
	if idx.NextID() != 0 {
		t.Errorf("NextID after Reset = %d", idx.NextID())
	}
}

// TestFailedAddChangesNothing: an Add cancelled between its chunks, or with
// ids exhausted, leaves the lists, the count and the next id as they were.
func TestFailedAddChangesNothing(t *testing.T) {
	const d = 4
	rng := rand.New(rand.NewPCG(2, 2))
	ctx := context.Background()
	idx, _ := NewFlat(d, 8, metric.L2)
	_ = idx.Train(ctx, gaussian(rng, 400, d))
	_ = idx.Add(ctx, gaussian(rng, 100, d))
	sizes := idx.ListSizes()
	for _, calls := range []int{0, 1, 2, 3, 5} {
		err := idx.Add(newCancelAfter(ctx, calls), gaussian(rng, 3*addChunk+5, d))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel after %d checks: err = %v", calls, err)
		}
		if idx.Len() != 100 || idx.NextID() != 100 {
			t.Fatalf("cancel after %d checks: Len %d NextID %d, want 100", calls, idx.Len(), idx.NextID())
		}
		for l, n := range idx.ListSizes() {
			if n != sizes[l] {
				t.Fatalf("cancel after %d checks: list %d holds %d, had %d", calls, l, n, sizes[l])
			}
		}
	}
	if err := idx.AddWithIDs(ctx, gaussian(rng, 1, d), []int64{1<<63 - 1}); err != nil {
		t.Fatal(err)
	}
	if err := idx.Add(ctx, gaussian(rng, 1, d)); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("Add with no ids left: err = %v", err)
	}
	if idx.Len() != 101 {
		t.Errorf("Len = %d after a refused Add", idx.Len())
	}
}

// TestTrainPopulatedRefused: training again with vectors stored would leave
// them in lists of centroids that no longer exist.
func TestTrainPopulatedRefused(t *testing.T) {
	const d = 4
	rng := rand.New(rand.NewPCG(3, 3))
	ctx := context.Background()
	idx, _ := NewFlat(d, 4, metric.L2)
	train := gaussian(rng, 100, d)
	_ = idx.Train(ctx, train)
	_ = idx.Add(ctx, train[:10*d])
	if err := idx.Train(ctx, train); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Fatalf("Train on a populated index: err = %v", err)
	}
	if idx.Len() != 10 {
		t.Fatalf("Len = %d after a refused Train", idx.Len())
	}
	idx.Reset()
	if err := idx.Train(ctx, train); err != nil {
		t.Fatalf("Train after Reset: %v", err)
	}
}
