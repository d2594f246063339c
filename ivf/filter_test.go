package ivf

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/metric"
)

// plainCodec is a FlatCodec whose scanner can neither filter nor range
// search, as a codec written elsewhere might be.
type plainCodec struct{ *FlatCodec }

func (c plainCodec) NewScanner() Scanner { return plainScanner{c.FlatCodec.NewScanner()} }

type plainScanner struct{ s Scanner }

func (p plainScanner) Search(ctx context.Context, q []float32, lists []int64, coarse []float32, dist []float32, ids []int64) error {
	return p.s.Search(ctx, q, lists, coarse, dist, ids)
}

// A codec that cannot honour a filter makes a filtered search fail with
// ErrUnsupported instead of ignoring the filter.
func TestFilterUnsupportedCodec(t *testing.T) {
	ctx := context.Background()
	x, err := New(2, 2, metric.L2, plainCodec{NewFlatCodec(metric.L2)})
	x.KMeans.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err != nil {
		t.Fatal(err)
	}
	data := []float32{0, 0, 1, 1, 10, 10, 11, 11}
	if err := x.Train(ctx, data); err != nil {
		t.Fatal(err)
	}
	if err := x.Add(ctx, data); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Search(ctx, data[:2], 2, nil); err != nil {
		t.Fatalf("unfiltered search: %v", err)
	}
	for _, q := range [][]float32{data[:2], data} {
		_, err := x.Search(ctx, q, 2, &kume.SearchParams{Filter: kume.IDRange(0, 1)})
		if !errors.Is(err, kume.ErrUnsupported) {
			t.Errorf("filtered search of %d queries: err = %v, want ErrUnsupported", len(q)/2, err)
		}
	}
	if _, err := x.RangeSearch(ctx, data[:2], 5, nil); !errors.Is(err, kume.ErrUnsupported) {
		t.Errorf("range search: err = %v, want ErrUnsupported", err)
	}
	// The pooled scanner of a failed search does not keep the filter.
	if res, err := x.Search(ctx, data[:2], 4, &kume.SearchParams{NProbe: 2}); err != nil || res.IDs[3] < 0 {
		t.Errorf("unfiltered search after a filtered one: %v %v", res, err)
	}
}
