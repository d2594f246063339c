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

// Bad arguments are refused at the outer call, before any part is entered:
// the queries' values here by L2norm, which reads them first (a part
// entered with values unchecked checks each chunk's queries before
// answering them; contract.TestNonFiniteInput covers those batches).
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

func (c *counting) RangeSearchChecked(ctx context.Context, q []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	c.checked++
	c.rows += len(q) / c.Dim()
	return c.Index.RangeSearchChecked(ctx, q, radius, p)
}

func (c *counting) RangeSearch(ctx context.Context, q []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	c.public++
	return c.Index.RangeSearch(ctx, q, radius, p)
}

// A range search through L2norm over RFlat over a part enters the part
// once, through its checked entry point, with the answers of the wrappers
// entered through their public calls one level down; bad arguments are
// refused at the top, before the part is entered.
func TestRangeEntersItsPartOnce(t *testing.T) {
	const d, n, nq = 8, 500, 60
	f, _ := flat.New(d, metric.L2)
	c := &counting{Index: f}
	r, err := refine.New(c)
	if err != nil {
		t.Fatal(err)
	}
	idx := l2norm.New(r)
	if err := idx.Add(ctx, vecs(7, n, d)); err != nil {
		t.Fatal(err)
	}
	q := vecs(8, nq, d)
	const radius = 0.5
	c.checked, c.public, c.rows = 0, 0, 0
	got, err := idx.RangeSearch(ctx, q, radius, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.checked != 1 || c.public != 0 || c.rows != nq {
		t.Fatalf("the part was entered %d times checked (%d rows), %d times through RangeSearch; want once, %d rows, never", c.checked, c.rows, c.public, nq)
	}
	if len(got.IDs) == 0 {
		t.Fatal("no results: the radius is too small for the test")
	}
	// The same search with the layers entered by their public calls, each
	// of which checks: the answers are the same.
	norm := slices.Clone(q)
	metric.NormalizeL2(norm, d)
	want, err := r.RangeSearch(ctx, norm, radius, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Lims, want.Lims) || !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Distances, want.Distances) {
		t.Fatal("the range search through L2norm differs from RFlat's on normalised queries")
	}

	c.checked, c.public = 0, 0
	bad := slices.Clone(q)
	bad[5] = float32(nanValue())
	if _, err := idx.RangeSearch(ctx, bad, radius, nil); !errors.Is(err, kume.ErrNonFinite) {
		t.Errorf("a NaN query: error %v, want ErrNonFinite", err)
	}
	if _, err := idx.RangeSearch(ctx, q[:d+1], radius, nil); !errors.Is(err, kume.ErrDimension) {
		t.Errorf("a ragged batch: error %v, want ErrDimension", err)
	}
	if _, err := idx.RangeSearch(ctx, q, float32(nanValue()), nil); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("a NaN radius: error %v, want ErrInvalidArgument", err)
	}
	if _, err := r.RangeSearch(ctx, bad, radius, nil); !errors.Is(err, kume.ErrNonFinite) {
		t.Errorf("RFlat, a NaN query: error %v, want ErrNonFinite", err)
	}
	if c.checked != 0 || c.public != 0 {
		t.Fatalf("the part was entered (%d checked, %d public) for bad arguments", c.checked, c.public)
	}
}

// Over an index without a checked range entry point, RFlat enters it
// through its public RangeSearch.
func TestForeignRange(t *testing.T) {
	const d, n, nq = 6, 200, 30
	f, _ := flat.New(d, metric.L2)
	r, err := refine.New(foreignRange{foreign{f}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add(ctx, vecs(9, n, d)); err != nil {
		t.Fatal(err)
	}
	q := vecs(10, nq, d)
	got, err := r.RangeSearch(ctx, q, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := r.Store().RangeSearch(ctx, q, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Lims, want.Lims) {
		t.Fatal("refine over a foreign exact index: the range results differ from the exact ones")
	}
}

// foreignRange is a foreign index with a range search (and no checked
// entry point for it).
type foreignRange struct{ foreign }

func (f foreignRange) RangeSearch(ctx context.Context, q []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	return f.inner.RangeSearch(ctx, q, radius, p)
}
