package batch_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/batch"
	"github.com/kume-ann/kume/internal/testvec"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

var ctx = context.Background()

// counting is a part that counts how it is entered: through its checked
// entry point or through its public SearchInto.
type counting struct {
	*flat.Index
	checked, public, rows int
}

func (c *counting) SearchChecked(ctx context.Context, b batch.Batch) error {
	c.checked++
	c.rows += b.Dst.NQ
	return c.Index.SearchChecked(ctx, b)
}

func (c *counting) SearchInto(ctx context.Context, dst *kume.Results, q []float32, k int, p *kume.SearchParams) error {
	c.public++
	return c.Index.SearchInto(ctx, dst, q, k, p)
}

// foreign is an index from outside kume: it has no checked entry point.
type foreign struct{ inner *flat.Index }

func (f foreign) Dim() int                                     { return f.inner.Dim() }
func (f foreign) Len() int                                     { return f.inner.Len() }
func (f foreign) Metric() metric.Metric                        { return f.inner.Metric() }
func (f foreign) IsTrained() bool                              { return true }
func (f foreign) Train(ctx context.Context, v []float32) error { return nil }
func (f foreign) Add(ctx context.Context, v []float32) error   { return f.inner.Add(ctx, v) }
func (f foreign) Reset()                                       { f.inner.Reset() }
func (f foreign) AddWithIDs(ctx context.Context, v []float32, ids []int64) error {
	return f.inner.AddWithIDs(ctx, v, ids)
}
func (f foreign) Search(ctx context.Context, q []float32, k int, p *kume.SearchParams) (*kume.Results, error) {
	return kume.SearchNew(ctx, f, q, k, p)
}
func (f foreign) SearchInto(ctx context.Context, dst *kume.Results, q []float32, k int, p *kume.SearchParams) error {
	return f.inner.SearchInto(ctx, dst, q, k, p)
}

func vecs(seed uint64, n, d int) []float32 { return testvec.Normal(seed, n, d) }

// A batch through L2norm over RFlat over a part enters the part once,
// through its checked entry point, and answers each query as it is
// answered alone.
func TestCompositeEntersItsPartOnce(t *testing.T) {
	const d, n, nq, k = 8, 500, 300, 5
	f, _ := flat.New(d, metric.L2)
	c := &counting{Index: f}
	r, err := refine.New(c)
	if err != nil {
		t.Fatal(err)
	}
	idx := l2norm.New(r)
	if err := idx.Add(ctx, vecs(1, n, d)); err != nil {
		t.Fatal(err)
	}
	q := vecs(2, nq, d)
	p := &kume.SearchParams{KFactor: 3}
	var res kume.Results
	c.checked, c.public, c.rows = 0, 0, 0
	if err := idx.SearchInto(ctx, &res, q, k, p); err != nil {
		t.Fatal(err)
	}
	if c.checked != 1 || c.public != 0 || c.rows != nq {
		t.Fatalf("the part was entered %d times checked (%d rows), %d times through SearchInto; want once, %d rows, never", c.checked, c.rows, c.public, nq)
	}
	for i := 0; i < nq; i += 37 {
		one, err := idx.Search(ctx, q[i*d:(i+1)*d], k, p)
		if err != nil {
			t.Fatal(err)
		}
		_, ids := res.Row(i)
		if !slices.Equal(one.IDs, ids) {
			t.Fatalf("query %d: batch %v, alone %v", i, ids, one.IDs)
		}
	}
}

// Over an index without a checked entry point, a wrapper searches it
// through its public SearchInto and does its own part after it.
func TestForeignPart(t *testing.T) {
	const d, n, nq, k = 6, 200, 40, 4
	f, _ := flat.New(d, metric.InnerProduct)
	r, err := refine.New(foreign{f})
	if err != nil {
		t.Fatal(err)
	}
	v := vecs(3, n, d)
	if err := r.Add(ctx, v); err != nil {
		t.Fatal(err)
	}
	q := vecs(4, nq, d)
	got, err := r.Search(ctx, q, k, &kume.SearchParams{KFactor: 2})
	if err != nil {
		t.Fatal(err)
	}
	want, err := r.Store().Search(ctx, q, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The foreign base is exact, so re-ranking its 2k candidates gives the
	// exact answer.
	if !slices.Equal(got.IDs, want.IDs) {
		t.Fatalf("refine over a foreign index: %v, want %v", got.IDs, want.IDs)
	}
}

// Bad arguments are refused at the outer call, before any part is entered.
func TestCheckedOnceAtTheTop(t *testing.T) {
	const d = 4
	f, _ := flat.New(d, metric.L2)
	c := &counting{Index: f}
	r, _ := refine.New(c)
	idx := l2norm.New(r)
	if err := idx.Add(ctx, vecs(5, 20, d)); err != nil {
		t.Fatal(err)
	}
	q := vecs(6, 3, d)
	for _, p := range []*kume.SearchParams{{KFactor: 0.5}, {KFactor: 2000}, {NProbe: -1}, {EfSearch: -2}, {QuantizerEfSearch: kume.MaxEf + 1}} {
		if _, err := idx.Search(ctx, q, 2, p); !errors.Is(err, kume.ErrInvalidArgument) {
			t.Errorf("params %+v: error %v, want ErrInvalidArgument", *p, err)
		}
	}
	bad := slices.Clone(q)
	bad[5] = float32(nanValue())
	if _, err := idx.Search(ctx, bad, 2, nil); !errors.Is(err, kume.ErrNonFinite) {
		t.Errorf("a NaN query: error %v, want ErrNonFinite", err)
	}
	if _, err := idx.Search(ctx, q[:d+1], 2, nil); !errors.Is(err, kume.ErrDimension) {
		t.Errorf("a ragged batch: error %v, want ErrDimension", err)
	}
	if c.checked != 0 || c.public != 0 {
		t.Fatalf("the part was entered (%d checked, %d public) for bad arguments", c.checked, c.public)
	}
}

func nanValue() float64 {
	var z float64
	return z / z
}
