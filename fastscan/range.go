package fastscan

import (
	"context"
	"fmt"
	"math"
	"math/bits"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/batch"
	"github.com/kume-ann/kume/internal/rangeres"
	"github.com/kume-ann/kume/metric"
)

// radiusThreshold is the kernel threshold (sum < threshold) that lets through
// every code whose estimate can be within radius, for a list with quantized
// bias biasq and the query's scale a, offset b and (inner product) top. It
// is loose by a unit or two; the estimates themselves decide (estimate).
func radiusThreshold(radius, a, b float32, ip bool, top uint32, biasq uint16) uint16 {
	if a == 0 {
		// Every estimate is b: all or nothing, decided per vector.
		return math.MaxUint16
	}
	// L2: b + key/a < radius, key < (radius-b)*a. Inner product:
	// b + (top-key)/a > radius, key < top - (radius-b)*a.
	lim := (float64(radius) - float64(b)) * float64(a)
	if ip {
		lim = float64(top) - lim
	}
	t := math.Floor(lim) + 2 - float64(biasq)
	switch {
	case !(t > 0): // also NaN
		return 0
	case t >= math.MaxUint16:
		return math.MaxUint16
	}
	return uint16(t)
}

// cancelCodes is about how many codes a scan reads between checks of its
// context (a few milliseconds of work).
const cancelCodes = 1 << 18

// estimate is the distance a search returns for a key (sum + bias).
func estimate(key float32, a, b float32, ip bool, top uint32) float32 {
	if ip {
		return distance(float32(top)-key, a, b)
	}
	return distance(key, a, b)
}

// ScanRadius scans n packed codes (ids, or base plus positions when nil) with one
// query's table and appends to dist and out every code whose estimate, as
// Search returns it, is within radius and whose id the filter allows.
func (st *Scanner) ScanRadius(packed []byte, n, m2 int, lut []byte, biasq uint16, ids []int64, base int64, a, b float32, ip bool, top uint32, radius float32, dist []float32, out []int64) ([]float32, []int64) {
	thr := radiusThreshold(radius, a, b, ip, top, biasq)
	if thr == 0 {
		return dist, out
	}
	bb := BlockSize / 2 * m2
	nb := Blocks(n)
	st.base = base
	defer func() { st.base = 0 }()
	for b0 := 0; b0 < nb; b0 += batchBlocks {
		b1 := min(b0+batchBlocks, nb)
		for _, r := range st.runs(b0, b1, n, ids) {
			masks := st.masks[:r.b1-r.b0]
			sums := st.sums[:(r.b1-r.b0)*BlockSize]
			asm.LUT4Scan(sums, masks, packed[r.b0*bb:r.b1*bb], m2, lut, thr)
			st.restrict(masks, r, b0)
			if last := n - (r.b1-1)*BlockSize; last < BlockSize {
				masks[len(masks)-1] &= 1<<last - 1
			}
			for bi, mask := range masks {
				for ; mask != 0; mask &= mask - 1 {
					v := bits.TrailingZeros32(mask)
					i := (r.b0+bi)*BlockSize + v
					key := float32(uint32(sums[bi*BlockSize+v]) + uint32(biasq))
					e := estimate(key, a, b, ip, top)
					if !(ip && e > radius || !ip && e < radius) {
						continue
					}
					id := base + int64(i)
					if ids != nil {
						id = ids[i]
					}
					if st.lane != nil && !st.lane.Contains(id) {
						continue
					}
					dist, out = append(dist, e), append(out, id)
				}
			}
		}
	}
	return dist, out
}

// RangeSearch returns, for each query, every stored vector whose estimated
// distance (the value Search returns for it) is within radius: below it
// under L2, above it under inner product, as FAISS's range_search on fast
// scan applies the radius to its estimate. Results are best first, ties by
// smaller id; p.Filter restricts them to the ids it contains.
func (x *Index) RangeSearch(ctx context.Context, queries []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	if _, err := batch.CheckRange(queries, x.d, radius); err != nil {
		return nil, fmt.Errorf("fastscan: %w", err)
	}
	return x.RangeSearchChecked(ctx, queries, radius, p)
}

// RangeSearchChecked is RangeSearch for arguments already checked
// (batch.Ranger).
func (x *Index) RangeSearchChecked(ctx context.Context, queries []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	nq := len(queries) / x.d
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.pq.IsTrained() {
		return nil, fmt.Errorf("fastscan: %w: train before searching", kume.ErrNotTrained)
	}
	var f kume.IDFilter
	if p != nil {
		f = p.Filter
	}
	ip := x.mt == metric.InnerProduct
	return rangeres.Run(ctx, nq, 4, x.mt, func(lo, hi int, out *rangeres.Out) error {
		st := x.getState()
		defer x.putState(st)
		st.SetFilter(f)
		var dist []float32
		var ids []int64
		for i := lo; i < hi; i++ {
			a, b, top := x.tables(st, queries[i*x.d:(i+1)*x.d], st.luts[:BlockBytes(x.m)])
			// The context is checked between pieces of a few milliseconds.
			for c0 := 0; c0 < x.ntotal; c0 += cancelCodes {
				if err := ctx.Err(); err != nil {
					return err
				}
				c1 := min(c0+cancelCodes, x.ntotal)
				var sub []int64
				if x.ids != nil {
					sub = x.ids[c0:c1]
				}
				dist, ids = st.ScanRadius(x.packed[c0/BlockSize*BlockBytes(x.m):], c1-c0, M2(x.m), st.luts[:BlockBytes(x.m)], 0, sub, int64(c0), a, b, ip, top, radius, dist[:0], ids[:0])
				for j, v := range dist {
					out.Append(v, ids[j])
				}
			}
			if err := out.Done(); err != nil {
				return err
			}
		}
		return nil
	})
}
