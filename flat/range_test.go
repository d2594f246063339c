package flat

import (
	"context"
	"slices"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/testvec"
	"github.com/kume-ann/kume/metric"
)

// A batch of range searches, long enough for several groups of tileQueries
// queries against several tiles of rows (each packed once for all of them),
// answers as each query alone does (the one-query kernel), ids and
// distances, under both metrics, filtered or not, with ids or positions.
func TestRangeBatchMatchesOne(t *testing.T) {
	const d, n, nq = 24, 2*tileRows + 300, 2*tileQueries + 90
	ctx := context.Background()
	base, queries := testvec.Normal(31, n, d), testvec.Normal(32, nq, d)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(3*i + 7)
	}
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		for _, withIDs := range []bool{false, true} {
			x, err := New(d, m)
			if err != nil {
				t.Fatal(err)
			}
			if withIDs {
				err = x.AddWithIDs(ctx, base, ids)
			} else {
				err = x.Add(ctx, base)
			}
			if err != nil {
				t.Fatal(err)
			}
			radius := float32(30)
			if m == metric.InnerProduct {
				radius = 6
			}
			for _, f := range []kume.IDFilter{nil, kume.IDRange(500, 2500)} {
				p := &kume.SearchParams{Filter: f}
				batch, err := x.RangeSearch(ctx, queries, radius, p)
				if err != nil {
					t.Fatal(err)
				}
				if len(batch.IDs) < nq {
					t.Fatalf("%v: %d results for %d queries: the radius is too small for the test", m, len(batch.IDs), nq)
				}
				for i := 0; i < nq; i++ {
					one, err := x.RangeSearch(ctx, queries[i*d:(i+1)*d], radius, p)
					if err != nil {
						t.Fatal(err)
					}
					bd, bi := batch.Row(i)
					od, oi := one.Row(0)
					if !slices.Equal(bi, oi) || !slices.Equal(bd, od) {
						t.Fatalf("%v ids %v filter %v query %d: batch %v %v, alone %v %v", m, withIDs, f, i, bi, bd, oi, od)
					}
				}
			}
		}
	}
}
