package flat

import (
	"context"
	"fmt"
	"runtime"
	"slices"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/batch"
	"github.com/kume-ann/kume/internal/exact"
	"github.com/kume-ann/kume/internal/pruned"
	"github.com/kume-ann/kume/internal/rangeres"
	"github.com/kume-ann/kume/metric"
)

// RangeSearch returns, for each query, every stored vector within radius:
// squared L2 distance below radius, or inner product above it (FAISS's
// range_search), best first, equal distances by smaller id. Distances are
// those Search returns, bit for bit: batches choose candidates with the
// many-to-many kernel, keeping every row whose score's lower bound is within
// the radius, and measure them with the one-query kernel. p.Filter, when
// set, restricts the results to the ids it contains.
func (x *Index) RangeSearch(ctx context.Context, queries []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	if _, err := batch.CheckRange(queries, x.d, radius); err != nil {
		return nil, fmt.Errorf("flat: %w", err)
	}
	return x.RangeSearchChecked(ctx, queries, radius, p)
}

// RangeSearchChecked is RangeSearch for arguments already checked
// (batch.Ranger).
func (x *Index) RangeSearchChecked(ctx context.Context, queries []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	nq := len(queries) / x.d
	var f kume.IDFilter
	if p != nil {
		f = p.Filter
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	x.searched.Add(int64(nq))
	if s := x.prunedSet(); s != nil && x.m == metric.L2 && s.Pays() {
		return x.rangePruned(ctx, s, queries, radius, f)
	}
	grain := 1
	if nq >= minTileQueries {
		// One chunk per goroutine: each packs every tile of rows once,
		// for all its queries.
		procs := runtime.GOMAXPROCS(0)
		grain = max((nq+procs-1)/procs, tileQueries)
	}
	return rangeres.Run(ctx, nq, grain, x.m, func(lo, hi int, out *rangeres.Out) error {
		s := x.getScratch()
		defer x.scratch.Put(s)
		if hi-lo >= minTileQueries {
			return x.rangeTile(ctx, queries[lo*x.d:hi*x.d], radius, f, out, s)
		}
		for i := lo; i < hi; i++ {
			if err := x.rangeOne(ctx, queries[i*x.d:(i+1)*x.d], radius, f, out, s); err != nil {
				return err
			}
		}
		return nil
	})
}

// prefetchAhead is how many candidates ahead rangePruned asks for a row.
const prefetchAhead = 4

// rangePruned answers through the pruned set of the rows (L2): each query
// measures, with the one-query kernel, only the rows its lower bound keeps
// within radius (pruned.Set.Within), or every row when the bound keeps too
// many; the distances are rangeOne's, bit for bit.
func (x *Index) rangePruned(ctx context.Context, s *pruned.Set, queries []float32, radius float32, f kume.IDFilter) (*kume.RangeResults, error) {
	d := x.d
	nq := len(queries) / d
	// One chunk per goroutine, so that Within takes its queries in whole
	// groups.
	procs := runtime.GOMAXPROCS(0)
	grain := max((nq+procs-1)/procs, prunedGrain)
	return rangeres.Run(ctx, nq, grain, x.m, func(lo, hi int, out *rangeres.Out) error {
		sc := x.getScratch()
		defer x.scratch.Put(sc)
		qs := queries[lo*d : hi*d]
		return s.Within(ctx, qs, radius, func(i int, cand []int32) error {
			q := qs[i*d : (i+1)*d]
			if cand == nil {
				return x.rangeOne(ctx, q, radius, f, out, sc)
			}
			for c, j := range cand {
				// The candidates are scattered rows: ask for one a few
				// ahead while this one is measured.
				if c+prefetchAhead < len(cand) {
					r := int(cand[c+prefetchAhead])
					asm.Prefetch(x.data[r*d : (r+1)*d])
				}
				id := x.id(int(j))
				if f != nil && !f.Contains(id) {
					continue
				}
				if v := asm.L2Sqr(q, x.data[int(j)*d:(int(j)+1)*d]); v < radius {
					out.Append(v, id)
				}
			}
			return out.Done()
		})
	})
}

// rangeOne answers one query with the one-query kernel.
func (x *Index) rangeOne(ctx context.Context, q []float32, radius float32, f kume.IDFilter, out *rangeres.Out, s *scratch) error {
	n := len(x.data) / x.d
	ip := x.m == metric.InnerProduct
	for r0 := 0; r0 < n; r0 += cancelRows {
		if r0 > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r1 := min(r0+cancelRows, n)
		var rowIDs []int64
		if x.ids != nil {
			rowIDs = x.ids[r0:r1]
		}
		exact.ScanRadius(out, q, x.data[r0*x.d:r1*x.d], rowIDs, int64(r0), ip, radius, f, s.dist[:rowBlock])
	}
	return out.Done()
}

// rangeTile answers a group of queries with the many-to-many kernel: a row
// whose score is within the score's error bound of the radius is measured
// again with the one-query kernel, which decides (exact.Radius). Each tile
// of rows is packed once (asm.PackedTile) for all the queries, which go
// through the kernel tileQueries at a time.
func (x *Index) rangeTile(ctx context.Context, qs []float32, radius float32, f kume.IDFilter, out *rangeres.Out, s *scratch) error {
	nq := len(qs) / x.d
	n := len(x.data) / x.d
	defer s.packed.Pack(nil, x.d) // the pooled scratch does not keep the rows
	if cap(s.qnorm) < nq {
		s.qnorm = make([]float32, nq)
	}
	qn := s.qnorm[:nq]
	asm.SqNorms(qn, qs, x.d)
	scale := exact.ErrorScale(x.d, x.m)
	if cap(s.hits) < nq {
		s.hits = make([][]rangeres.Hit, nq)
		s.radius = make([]exact.Radius, nq)
	}
	hits, rs := s.hits[:nq], s.radius[:nq]
	for i := range hits {
		hits[i] = hits[i][:0]
		rs[i].Reset(qs[i*x.d:(i+1)*x.d], qn[i], x.m, scale, radius, f)
	}
	pending := 0
	for r0 := 0; r0 < n; r0 += tileRows {
		if err := ctx.Err(); err != nil {
			return err
		}
		if pending > out.Cap() {
			return rangeres.TooMany()
		}
		r1 := min(r0+tileRows, n)
		nr := r1 - r0
		rows := x.data[r0*x.d : r1*x.d]
		s.packed.Pack(rows, x.d)
		var rowIDs []int64
		if x.ids != nil {
			rowIDs = x.ids[r0:r1]
		}
		norms := x.norms[r0:r1]
		normMax := maxOf(norms)
		for g0 := 0; g0 < nq; g0 += tileQueries {
			g1 := min(g0+tileQueries, nq)
			buf := s.dist[:(g1-g0)*nr]
			asm.DotTilePacked(buf, qs[g0*x.d:g1*x.d], &s.packed) // Radius expands it for L2
			for i := g0; i < g1; i++ {
				h0 := len(hits[i])
				hits[i] = rs[i].Offer(hits[i], buf[(i-g0)*nr:(i-g0+1)*nr], rows, norms, normMax, rowIDs, int64(r0))
				pending += len(hits[i]) - h0
			}
		}
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
