package ivfpqfs_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/internal/testvec"
	"github.com/kume-ann/kume/ivf/ivfpqfs"
	"github.com/kume-ann/kume/metric"
)

// batchCase is an IVF64,PQ16x4fs index of 20,000 low-rank vectors of 64
// floats and 1,000 queries, built once.
var batchCase struct {
	once    sync.Once
	idx     kume.Index
	queries []float32
	err     error
}

func getBatchCase(tb testing.TB) (kume.Index, []float32) {
	batchCase.once.Do(func() {
		const n, nq, d = 20_000, 1_000, 64
		g := testvec.LowRank{Latent: 16, Centers: 64, MapSeed: 7, ScaleMap: true, Noise: 0.1}
		base, q := g.Draw(1, n, d), g.Draw(2, nq, d)
		idx, err := factory.New(d, "IVF64,PQ16x4fs", metric.L2)
		if err == nil {
			err = idx.Train(context.Background(), base)
		}
		if err == nil {
			err = idx.Add(context.Background(), base)
		}
		batchCase.idx, batchCase.queries, batchCase.err = idx, q, err
	})
	if batchCase.err != nil {
		tb.Fatal(batchCase.err)
	}
	return batchCase.idx, batchCase.queries
}

// Batches that gather candidates in heaps and in reservoirs answer the
// same, ids and distances, unfiltered and filtered, and as single queries.
func TestHeapsAndReservoirsAgree(t *testing.T) {
	idx, q := getBatchCase(t)
	defer func(v int) { *ivfpqfs.ReservoirMinK = v }(*ivfpqfs.ReservoirMinK)
	filters := []kume.IDFilter{nil, kume.IDRange(5000, 7000), kume.IDSet([]int64{1, 5, 99, 4000, 12345, 19999})}
	for _, k := range []int{1, 10, 40} {
		for fi, f := range filters {
			p := &kume.SearchParams{NProbe: 8, Filter: f}
			var res [2]*kume.Results
			for i, minK := range []int{1 << 30, 1} {
				*ivfpqfs.ReservoirMinK = minK
				r, err := idx.Search(context.Background(), q, k, p)
				if err != nil {
					t.Fatal(err)
				}
				res[i] = r
			}
			if !slices.Equal(res[0].IDs, res[1].IDs) || !slices.Equal(res[0].Distances, res[1].Distances) {
				t.Fatalf("k %d, filter %d: heaps and reservoirs answer differently", k, fi)
			}
			// A batch of 1,000 (one share per goroutine, larger than
			// the scanner's old batches of 256) answers as each query
			// alone.
			const d = 64
			for i := 0; i < len(q)/d; i += 97 {
				one, err := idx.Search(context.Background(), q[i*d:(i+1)*d], k, p)
				if err != nil {
					t.Fatal(err)
				}
				bd, bi := res[1].Row(i)
				if !slices.Equal(one.IDs, bi) || !slices.Equal(one.Distances, bd) {
					t.Fatalf("k %d, filter %d, query %d: batch %v, alone %v", k, fi, i, bi, one.IDs)
				}
			}
		}
	}
}

// BenchmarkGather measures batches of 1,000 queries (nprobe 8) gathering
// candidates in heaps and in reservoirs, for several k: where the two cross
// sets reservoirMinK.
func BenchmarkGather(b *testing.B) {
	idx, q := getBatchCase(b)
	defer func(v int) { *ivfpqfs.ReservoirMinK = v }(*ivfpqfs.ReservoirMinK)
	for _, k := range []int{10, 16, 20, 28, 40} {
		for _, how := range []struct {
			name string
			minK int
		}{{"heap", 1 << 30}, {"reservoir", 1}} {
			b.Run(fmt.Sprintf("k=%d/%s", k, how.name), func(b *testing.B) {
				*ivfpqfs.ReservoirMinK = how.minK
				p := &kume.SearchParams{NProbe: 8}
				var res kume.Results
				for b.Loop() {
					if err := idx.SearchInto(context.Background(), &res, q, k, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
