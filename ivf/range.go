package ivf

import (
	"context"
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/check"
	"github.com/kume-ann/kume/internal/parallel"
	"github.com/kume-ann/kume/internal/rangeres"
)

// RangeSearch returns, for each query, every vector of the nprobe lists
// nearest to it that lies within radius: squared L2 distance below radius,
// or inner product above it, by the codec's distance (exact for FlatCodec,
// the quantized estimate for fast-scan codes, as FAISS's range_search).
// Results are best first, equal distances by smaller id; p.Filter restricts
// them to the ids it contains. A codec whose scanner cannot answer range
// searches fails with kume.ErrUnsupported.
func (x *Index) RangeSearch(ctx context.Context, queries []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	nq, err := check.Vectors("queries", queries, x.d)
	if err != nil {
		return nil, fmt.Errorf("ivf: %w", err)
	}
	if err := rangeres.CheckRadius(radius); err != nil {
		return nil, fmt.Errorf("ivf: %w", err)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.trained || !x.codec.IsTrained() {
		return nil, fmt.Errorf("ivf: %w: train before searching", kume.ErrNotTrained)
	}
	nprobe := x.nprobe
	var f kume.IDFilter
	if p != nil {
		if p.NProbe < 0 {
			return nil, fmt.Errorf("ivf: %w: nprobe = %d", kume.ErrInvalidArgument, p.NProbe)
		}
		if p.NProbe != 0 {
			nprobe = p.NProbe
		}
		f = p.Filter
	}
	nprobe = min(nprobe, x.nlist)
	if _, ok := x.codec.NewScanner().(RangeScanner); !ok {
		return nil, fmt.Errorf("ivf: %w: range search over %T lists", kume.ErrUnsupported, x.codec)
	}
	return rangeres.Run(ctx, nq, parallel.Grain(nq, 16), x.m, func(lo, hi int, out *rangeres.Out) error {
		s, _ := x.searchers.Get().(*searcher)
		if s == nil || s.scanner == nil {
			s = &searcher{scanner: x.codec.NewScanner()}
		}
		defer x.searchers.Put(s)
		if err := setFilter(s.scanner, f); err != nil {
			return err
		}
		defer setFilter(s.scanner, nil)
		rs := s.scanner.(RangeScanner)
		if err := x.quantizer.SearchInto(ctx, &s.coarse, queries[lo*x.d:hi*x.d], nprobe, nil); err != nil {
			return err
		}
		var dist []float32
		var ids []int64
		for i := lo; i < hi; i++ {
			cd, cl := s.coarse.Row(i - lo)
			var err error
			dist, ids, err = rs.RangeSearch(ctx, queries[i*x.d:(i+1)*x.d], cl, cd, radius, dist[:0], ids[:0])
			if err != nil {
				return err
			}
			for j, v := range dist {
				out.Append(v, ids[j])
			}
			if err := out.Done(); err != nil {
				return err
			}
		}
		return nil
	})
}
