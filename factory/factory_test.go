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

func TestSetParams(t *testing.T) {
	idx, err := New(4, "L2norm,Flat,RFlat", metric.L2)
	if err != nil {
		t.Fatal(err)
	}
	if err := SetParams(idx, "k_factor_rf=8"); err != nil {
		t.Errorf("k_factor_rf: %v", err)
	}
	for _, bad := range []string{"nprobe=4", "k_factor_rf=0", "efSearch=3", "k_factor_rf"} {
		if err := SetParams(idx, bad); !errors.Is(err, kume.ErrInvalidArgument) {
			t.Errorf("SetParams(%q) = %v, want ErrInvalidArgument", bad, err)
		}
	}
	plain, _ := New(4, "Flat", metric.L2)
	if err := SetParams(plain, "nprobe=2"); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("Flat has no parameters: %v", err)
	}
	if err := SetParams(plain, ""); err != nil {
		t.Errorf("empty string: %v", err)
	}
}

func TestNewIVFFlat(t *testing.T) {
	for _, s := range []string{"IVF4,Flat", "IVF4,Flat,RFlat", "L2norm,IVF4,Flat"} {
		idx, err := New(2, s, metric.L2)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if idx.IsTrained() {
			t.Errorf("%s: an IVF index starts untrained", s)
		}
		if err := idx.Add(context.Background(), []float32{1, 2}); !errors.Is(err, kume.ErrNotTrained) {
			t.Errorf("%s: add before train: %v", s, err)
		}
		if err := SetParams(idx, "nprobe=2"); err != nil {
			t.Errorf("%s: nprobe must reach the IVF part: %v", s, err)
		}
	}
}
