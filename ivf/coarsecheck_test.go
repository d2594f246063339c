package ivf

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/batch"
	"github.com/kume-ann/kume/metric"
)

// countingQuantizer is a flat quantizer that counts how it is searched.
type countingQuantizer struct {
	*flat.Index
	checked, public atomic.Int64
}

func (c *countingQuantizer) SearchChecked(ctx context.Context, b batch.Batch) error {
	c.checked.Add(1)
	return c.Index.SearchChecked(ctx, b)
}

func (c *countingQuantizer) SearchInto(ctx context.Context, dst *kume.Results, q []float32, k int, p *kume.SearchParams) error {
	c.public.Add(1)
	return c.Index.SearchInto(ctx, dst, q, k, p)
}

func (c *countingQuantizer) Search(ctx context.Context, q []float32, k int, p *kume.SearchParams) (*kume.Results, error) {
	c.public.Add(1)
	return c.Index.Search(ctx, q, k, p)
}

// TestQuantizerIsNotCheckedAgain: an IVF index hands its checked queries to
// its quantizer's checked entry point, for searches, range searches and
// Add, never to the public one that would check them again.
func TestQuantizerIsNotCheckedAgain(t *testing.T) {
	const d, nlist = 16, 8
	base := clustered(51, 2000, d, 8)
	trained := build(t, metric.L2, base, d, nlist)
	cent, _ := trained.Quantizer().Vectors()
	fq, _ := flat.New(d, metric.L2)
	if err := fq.Add(ctx, cent); err != nil {
		t.Fatal(err)
	}
	q := &countingQuantizer{Index: fq}
	x, err := NewWithQuantizer(d, nlist, metric.L2, NewFlatCodec(metric.L2), q)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Add(ctx, base); err != nil {
		t.Fatal(err)
	}
	want, err := trained.Search(ctx, base[:300*d], 5, &kume.SearchParams{NProbe: 3})
	if err != nil {
		t.Fatal(err)
	}
	got, err := x.Search(ctx, base[:300*d], 5, &kume.SearchParams{NProbe: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.IDs {
		if got.IDs[i] != want.IDs[i] || got.Distances[i] != want.Distances[i] {
			t.Fatalf("result %d: (%d, %v), want (%d, %v)", i, got.IDs[i], got.Distances[i], want.IDs[i], want.Distances[i])
		}
	}
	if _, err := x.RangeSearch(ctx, base[:10*d], 1, nil); err != nil {
		t.Fatal(err)
	}
	if q.checked.Load() == 0 || q.public.Load() != 0 {
		t.Fatalf("quantizer entered %d times checked, %d times through its public search", q.checked.Load(), q.public.Load())
	}
}
