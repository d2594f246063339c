package exact

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/rangeres"
	"github.com/kume-ann/kume/internal/simdtest"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/metric"
)

// TestErrorScaleBounds: the tiled kernels' scores stay within the bound of
// the one-query kernels' values, on data chosen to make rounding large.
func TestErrorScaleBounds(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, d := range []int{1, 7, 16, 100, 256, 768, 1500} {
			for _, off := range []float64{0, 1000, 1e4, -3e5} {
				const nx, ny = 9, 37
				xs, ys := make([]float32, nx*d), make([]float32, ny*d)
				for i := range xs {
					xs[i] = float32(off + rng.NormFloat64())
				}
				for i := range ys {
					ys[i] = float32(off + rng.NormFloat64())
				}
				xn, yn := make([]float32, nx), make([]float32, ny)
				asm.SqNorms(xn, xs, d)
				asm.SqNorms(yn, ys, d)
				l2, ip := make([]float32, nx*ny), make([]float32, nx*ny)
				asm.L2SqrTile(l2, xs, xn, ys, yn, d)
				asm.DotTile(ip, xs, ys, d)
				for i := 0; i < nx; i++ {
					for j := 0; j < ny; j++ {
						x, y := xs[i*d:(i+1)*d], ys[j*d:(j+1)*d]
						s := float64(xn[i] + yn[j])
						if e := math.Abs(float64(l2[i*ny+j] - asm.L2Sqr(x, y))); e > float64(ErrorScale(d, metric.L2))*s {
							t.Fatalf("d=%d off=%v: L2 error %v beyond bound %v", d, off, e, float64(ErrorScale(d, metric.L2))*s)
						}
						if e := math.Abs(float64(ip[i*ny+j] - asm.Dot(x, y))); e > float64(ErrorScale(d, metric.InnerProduct))*s {
							t.Fatalf("d=%d off=%v: IP error %v beyond bound %v", d, off, e, float64(ErrorScale(d, metric.InnerProduct))*s)
						}
					}
				}
			}
		}
	})
}

// TestCollectorMatchesDirect: candidates chosen from tiled scores, offered in
// pieces, give exactly the heap of direct distances, for every k, with
// duplicates (ties) and un-centred data.
func TestCollectorMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const d, n = 64, 300
	for trial := 0; trial < 40; trial++ {
		off := []float64{0, 100, 1e4}[trial%3]
		m := []metric.Metric{metric.L2, metric.InnerProduct}[trial%2]
		ys := make([]float32, n*d)
		for i := range ys {
			ys[i] = float32(off + rng.NormFloat64())
		}
		for r := 1; r < n; r += 7 { // duplicates
			copy(ys[r*d:(r+1)*d], ys[(r-1)*d:r*d])
		}
		q := make([]float32, d)
		copy(q, ys[rng.IntN(n)*d:])
		q[0] += 1e-3
		yn := make([]float32, n)
		asm.SqNorms(yn, ys, d)
		qn := []float32{0}
		asm.SqNorms(qn, q, d)
		scores := make([]float32, n)
		asm.DotTile(scores, q, ys, d)
		for _, k := range []int{1, 2, 7, 8, 30, 299, 300, 301} {
			want := topK(k, n, func(j int) float32 {
				if m == metric.L2 {
					return asm.L2Sqr(q, ys[j*d:(j+1)*d])
				}
				return -asm.Dot(q, ys[j*d:(j+1)*d])
			})
			var c Collector
			c.Reset(q, qn[0], k, m, ErrorScale(d, m))
			for r0 := 0; r0 < n; r0 += 50 {
				r1 := min(r0+50, n)
				var nm float32
				for _, v := range yn[r0:r1] {
					nm = max(nm, v)
				}
				c.Offer(scores[r0:r1], ys[r0*d:r1*d], yn[r0:r1], nm, nil, int64(r0))
			}
			keys, ids := make([]float32, k), make([]int64, k)
			var h topk.Heap
			h.Reset(keys, ids)
			c.Flush(&h)
			h.Finish(false)
			if fmt.Sprint(keys, ids) != want {
				t.Fatalf("trial %d k=%d %v: got %v, want %v", trial, k, m, fmt.Sprint(keys, ids), want)
			}
		}
	}
}

func topK(k, n int, key func(int) float32) string {
	keys, ids := make([]float32, k), make([]int64, k)
	var h topk.Heap
	h.Reset(keys, ids)
	for j := 0; j < n; j++ {
		h.Push(key(j), int64(j))
	}
	h.Finish(false)
	return fmt.Sprint(keys, ids)
}

// TestRadiusMatchesScan: rows picked from tiled scores by Radius, offered in
// pieces, are exactly ScanRadius's hits (same ids, same bits), with
// duplicates, un-centred data, radii at a stored distance and filters.
func TestRadiusMatchesScan(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		const d, n = 48, 257
		for trial := 0; trial < 24; trial++ {
			off := []float64{0, 100, 1e4}[trial%3]
			m := []metric.Metric{metric.L2, metric.InnerProduct}[trial%2]
			ys := make([]float32, n*d)
			for i := range ys {
				ys[i] = float32(off + rng.NormFloat64())
			}
			for r := 1; r < n; r += 5 {
				copy(ys[r*d:(r+1)*d], ys[(r-1)*d:r*d])
			}
			q := make([]float32, d)
			copy(q, ys[rng.IntN(n)*d:])
			q[1] += 1e-3
			yn := make([]float32, n)
			asm.SqNorms(yn, ys, d)
			qn := []float32{0}
			asm.SqNorms(qn, q, d)
			dots := make([]float32, n)
			asm.DotTile(dots, q, ys, d)
			direct := make([]float32, n)
			if m == metric.L2 {
				asm.L2SqrMany(direct, q, ys)
			} else {
				asm.DotMany(direct, q, ys)
			}
			var f kume.IDFilter
			if trial%4 >= 2 {
				f = kume.IDRange(int64(n/3), int64(n))
			}
			for _, rank := range []int{0, 1, 9, 100, n - 1} {
				sorted := slices.Clone(direct)
				slices.Sort(sorted)
				radius := sorted[rank] // a stored distance: the strict test matters
				if m == metric.InnerProduct {
					radius = sorted[n-1-rank]
				}
				var want rangeres.Out
				ScanRadius(&want, q, ys, nil, 0, m == metric.InnerProduct, radius, f, make([]float32, 64))
				var r Radius
				r.Reset(q, qn[0], m, ErrorScale(d, m), radius, f)
				var got []rangeres.Hit
				for r0 := 0; r0 < n; r0 += 50 {
					r1 := min(r0+50, n)
					got = r.Offer(got, dots[r0:r1], ys[r0*d:r1*d], yn[r0:r1], slices.Max(yn[r0:r1]), nil, int64(r0))
				}
				if fmt.Sprint(got) != fmt.Sprint(want.Hits) {
					t.Fatalf("trial %d %v rank %d: got %v, want %v", trial, m, rank, got, want.Hits)
				}
			}
		}
	})
}

// BenchmarkRadiusOffer offers one query's scores of 512 rows to Radius,
// none of them within the radius (the common case of a range search).
func BenchmarkRadiusOffer(b *testing.B) {
	const d, n = 64, 512
	rng := rand.New(rand.NewPCG(7, 8))
	ys, q := make([]float32, n*d), make([]float32, d)
	for i := range ys {
		ys[i] = float32(rng.NormFloat64())
	}
	for i := range q {
		q[i] = float32(rng.NormFloat64())
	}
	yn, qn, dots := make([]float32, n), []float32{0}, make([]float32, n)
	asm.SqNorms(yn, ys, d)
	asm.SqNorms(qn, q, d)
	asm.DotTile(dots, q, ys, d)
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		b.Run(m.String(), func(b *testing.B) {
			var r Radius
			radius := float32(1)
			if m == metric.InnerProduct {
				radius = 100
			}
			r.Reset(q, qn[0], m, ErrorScale(d, m), radius, nil)
			var hits []rangeres.Hit
			nm := slices.Max(yn)
			for b.Loop() {
				hits = r.Offer(hits[:0], dots, ys, yn, nm, nil, 0)
			}
		})
	}
}
