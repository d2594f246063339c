package ivf

import (
	"errors"
	"slices"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/hnsw"
	"github.com/kume-ann/kume/internal/race"
	"github.com/kume-ann/kume/metric"
)

func TestHNSWQuantizer(t *testing.T) {
	const d, nlist = 16, 200
	base := clustered(9, 8000, d, 40)
	q, err := hnsw.New(d, 8, metric.L2)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := NewWithQuantizer(d, nlist, metric.L2, NewFlatCodec(metric.L2), q)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Train(ctx, base); err != nil {
		t.Fatal(err)
	}
	if err := idx.Add(ctx, base); err != nil {
		t.Fatal(err)
	}
	if q.Len() != nlist || idx.Len() != len(base)/d {
		t.Fatalf("quantizer holds %d, index %d", q.Len(), idx.Len())
	}
	// Lists are chosen by the graph: with a wide beam, as the exact
	// centroid search chooses them.
	qs := base[:300*d]
	exact, err := New(d, nlist, metric.L2, NewFlatCodec(metric.L2))
	if err != nil {
		t.Fatal(err)
	}
	cent, _ := q.Vectors()
	if err := exact.SetCentroids(cent); err != nil {
		t.Fatal(err)
	}
	wide, err := q.Search(ctx, qs, 4, &kume.SearchParams{EfSearch: 400})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := exact.Quantizer().Search(ctx, qs, 4, nil)
	if !slices.Equal(wide.IDs, want.IDs) {
		t.Error("with efSearch 400 over 200 centroids the graph misses nearest centroids")
	}
	// A batch equals its queries alone, at every quantizer_efSearch.
	for _, ef := range []int{0, 1, 16, 64} {
		p := &kume.SearchParams{NProbe: 3, QuantizerEfSearch: ef}
		all, err := idx.Search(ctx, qs, 5, p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 300; i += 37 {
			one, err := idx.Search(ctx, qs[i*d:(i+1)*d], 5, p)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(one.IDs, all.IDs[i*5:(i+1)*5]) || !slices.Equal(one.Distances, all.Distances[i*5:(i+1)*5]) {
				t.Fatalf("quantizer_efSearch %d, query %d: alone %v, in the batch %v", ef, i, one.IDs, all.IDs[i*5:(i+1)*5])
			}
		}
	}
	if err := idx.SetParam("quantizer_efSearch", 48); err != nil || q.EfSearch() != 48 {
		t.Fatalf("SetParam(quantizer_efSearch): %v, efSearch %d", err, q.EfSearch())
	}
	if err := idx.SetParam("quantizer_efSearch", 0); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Fatalf("quantizer_efSearch 0: %v", err)
	}
	if _, err := idx.Search(ctx, qs[:d], 1, &kume.SearchParams{QuantizerEfSearch: -1}); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Fatalf("quantizer_efSearch -1: %v", err)
	}
	if !race.Enabled {
		var res kume.Results
		p := &kume.SearchParams{NProbe: 2, QuantizerEfSearch: 32}
		_ = idx.SearchInto(ctx, &res, qs[:d], 8, p)
		if a := testing.AllocsPerRun(100, func() { _ = idx.SearchInto(ctx, &res, qs[:d], 8, p) }); a > 0 {
			t.Errorf("SearchInto allocates %v times per query", a)
		}
	}
	// A quantizer that holds other than nlist centroids is refused.
	if _, err := NewWithQuantizer(d, nlist+1, metric.L2, NewFlatCodec(metric.L2), q); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Fatalf("a quantizer of %d centroids for %d lists: %v", nlist, nlist+1, err)
	}
}
