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
// them to the ids it contains.
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
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("ivf: %w", err)
	}
	nprobe := x.nprobe
	var f kume.IDFilter
	if p != nil {
		if p.NProbe != 0 {
			nprobe = p.NProbe
		}
		f = p.Filter
	}
	nprobe = min(nprobe, x.nlist)
	return rangeres.Run(ctx, nq, parallel.Grain(nq, 16), x.m, func(lo, hi int, out *rangeres.Out) error {
		s := x.getSearcher(f)
		defer x.putSearcher(s)
		if err := x.quantizer.SearchInto(ctx, &s.coarse, queries[lo*x.d:hi*x.d], nprobe, nil); err != nil {
			return err
		}
		every := s.scanner.WorkPerCheck()
		var dist []float32
		var ids []int64
		for i := lo; i < hi; i++ {
			cd, cl := s.coarse.Row(i - lo)
			s.scanner.Begin(queries[i*x.d:(i+1)*x.d], nprobe, cl, cd, nil)
			dist, ids = dist[:0], ids[:0]
			work := 0
			for j, l := range cl {
				if l < 0 {
					continue
				}
				if work += x.lists.Len(int(l)); work >= every {
					work = 0
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				dist, ids = s.scanner.Range(j, x.lists.ids[l], x.lists.codes[l], radius, dist, ids)
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
