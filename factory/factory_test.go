package factory

import (
	"context"
	"errors"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/metric"
)

func TestNewFlat(t *testing.T) {
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		for _, s := range []string{"Flat", "Flat,RFlat", "L2norm,Flat", "L2norm,Flat,Refine(Flat)"} {
			testFlatLike(t, s, m)
		}
	}
}

func testFlatLike(t *testing.T, s string, m metric.Metric) {
	t.Helper()
	{
		idx, err := New(4, s, m)
		if err != nil {
			t.Fatal(err)
		}
		if idx.Dim() != 4 || idx.Metric() != m || !idx.IsTrained() || idx.Len() != 0 {
			t.Errorf("%s %v: Dim %d Metric %v trained %v Len %d", s, m, idx.Dim(), idx.Metric(), idx.IsTrained(), idx.Len())
		}
		if err := idx.Add(context.Background(), []float32{1, 0, 0, 0, 0, 1, 0, 0}); err != nil {
			t.Fatal(err)
		}
		res, err := idx.Search(context.Background(), []float32{0, 2, 0, 0}, 1, nil)
		if err != nil || res.IDs[0] != 1 {
			t.Errorf("%s %v search: %v, %v", s, m, res, err)
		}
	}
}

func TestNewBadMetric(t *testing.T) {
	if _, err := New(4, "Flat", metric.Metric(3)); !errors.Is(err, kume.ErrUnsupported) {
		t.Errorf("metric 3: %v", err)
	}
	if _, err := New(4, "Flta", metric.L2); !errors.Is(err, kume.ErrFactory) {
		t.Errorf("bad string: %v", err)
	}
}
