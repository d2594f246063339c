package ivf

import (
	"context"
	"fmt"
	"runtime"
	"slices"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/batch"
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
	if _, err := batch.CheckRange(queries, x.d, radius); err != nil {
		return nil, fmt.Errorf("ivf: %w", err)
	}
	return x.RangeSearchChecked(ctx, queries, radius, p)
}

// RangeSearchChecked is RangeSearch for arguments already checked
// (batch.Ranger).
func (x *Index) RangeSearchChecked(ctx context.Context, queries []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	nq := len(queries) / x.d
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
	grain := parallel.Grain(nq, 16)
	if _, ok := x.codec.(*FlatCodec); ok {
		// Batches go list by list (rangeBatch): the fewer the chunks, the
		// fewer times each probed list is read. One per goroutine.
		procs := runtime.GOMAXPROCS(0)
		grain = max((nq+procs-1)/procs, 16)
	}
	return rangeres.Run(ctx, nq, grain, x.m, func(lo, hi int, out *rangeres.Out) error {
		s := x.getSearcher(f)
		defer x.putSearcher(s)
		if err := x.coarseSearch(ctx, &s.coarse, queries[lo*x.d:hi*x.d], nprobe, nil); err != nil {
			return err
		}
		if br, ok := s.scanner.(batchRanger); ok && hi-lo > 1 {
			return x.rangeBatch(ctx, s, br, queries[lo*x.d:hi*x.d], nprobe, radius, out)
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

// batchRanger is implemented by scanners that answer the range search of a
// batch list by list, each probed list read once for all the queries that
// probe it (the flat codec's).
type batchRanger interface {
	// beginRange prepares the batch's queries (nprobe probes each) and
	// returns one empty hit list per query.
	beginRange(queries []float32, nprobe int, radius float32) [][]rangeres.Hit
	// rangeList appends to the hit lists of the probes' queries the
	// vectors of one list (ids and codes) within the radius and returns
	// how many it appended.
	rangeList(ids []int64, codes Codes, probes []int32) int
}

// rangeBatch answers the range search of the queries whose probes are in
// s.coarse, list by list, and closes each query's results in out.
func (x *Index) rangeBatch(ctx context.Context, s *searcher, br batchRanger, queries []float32, nprobe int, radius float32, out *rangeres.Out) error {
	nq := len(queries) / x.d
	hits := br.beginRange(queries, nprobe, radius)
	s.groups.group(s.coarse.IDs[:nq*nprobe], x.nlist)
	every, work, pending := s.scanner.WorkPerCheck(), 0, 0
	for g := 0; g < s.groups.len(); g++ {
		l, probes := s.groups.at(g)
		n := x.lists.Len(l)
		if n == 0 {
			continue
		}
		if work += len(probes) * n; work >= every {
			work = 0
			if err := ctx.Err(); err != nil {
				return err
			}
			if pending > out.Cap() {
				return rangeres.TooMany()
			}
		}
		if pf, ok := br.(Prefetcher); ok && g+1 < s.groups.len() {
			// The next list's memory loads while this one is compared.
			next, nextProbes := s.groups.at(g + 1)
			pf.Prefetch(x.lists.codes[next], len(nextProbes))
		}
		pending += br.rangeList(x.lists.ids[l], x.lists.codes[l], probes)
	}
	out.Hits = slices.Grow(out.Hits, pending)
	for i := range hits {
		out.Hits = append(out.Hits, hits[i]...)
		if err := out.Done(); err != nil {
			return err
		}
	}
	return nil
}
