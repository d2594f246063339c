//go:build !purego && (amd64 || arm64)

package asm

import "sync"

// The tiled inner-product driver shared by the SIMD implementations.
//
// DotTile is a matrix product C = A·Bᵀ with A = xs (nx × d) and B = ys
// (ny × d). The driver follows the usual blocking for caches:
//
//	for each chunk of the reduction (at most tileKC values of k):
//	  for each group of at most tileNC columns (rows of ys):
//	    pack the group, in panels of nr columns: panel[k*nr+c] = ys[j0+c][k0+k]
//	    for each group of tileMC rows of xs:
//	      for each panel of the group:
//	        for each block of mr rows: micro-kernel (mr × nr, all of the chunk)
//
// A packed panel (tileKC × nr floats) stays in L1 while the micro-kernel runs
// over the rows of a row group, which stay in L2 across the panels. Each
// micro-kernel call does a bounded amount of work (mr·nr·tileKC FMAs), so the
// goroutine is preemptible between calls. The first chunk of the reduction
// stores into dst, later chunks add to it.
//
// Edges: the columns of a last, partial panel are packed by Go with zeros in
// the missing columns and the kernel stores only the valid ones; a last,
// partial block of rows is copied into a zero-padded buffer of mr rows.
const (
	tileKC = 256
	tileMC = 64
	tileNC = 512
)

// tiler is one micro-kernel with its panel packing routine.
type tiler struct {
	mr, nr int
	// kernel sets (accum == 0) or adds to dst[i*ldc+j], i < rows, j < cols,
	// the sum over k < kc of a[i*lda+k]·b[k*nr+j]. It reads mr rows of a.
	kernel func(dst *float32, ldc int, a *float32, lda int, b *float32, kc, rows, cols, accum int)
	// pack fills a panel from nr full rows of y (row c at y[c*ldy:]); it
	// writes kc rounded up to a multiple of packStep rows of the panel.
	pack     func(p, y *float32, ldy, kc int)
	packStep int
	// many is the one-to-many kernel, used instead of packing when xs has
	// fewer than tileFewRows rows.
	many func(dst, q, ys []float32)
}

// Below this many rows of xs, packing ys does not pay for itself.
const tileFewRows = 3

type tileScratch struct {
	panels []float32 // packed column group
	edge   []float32 // mr zero-padded rows of xs
}

var tileScratchPool sync.Pool

func getTileScratch(panels, edge int) *tileScratch {
	s, _ := tileScratchPool.Get().(*tileScratch)
	if s == nil {
		s = new(tileScratch)
	}
	if cap(s.panels) < panels {
		s.panels = make([]float32, panels)
	}
	if cap(s.edge) < edge {
		s.edge = make([]float32, edge)
	}
	s.panels, s.edge = s.panels[:panels], s.edge[:edge]
	return s
}

// dotTile computes dst = xs·ysᵀ; nx, ny, d >= 1.
func (t *tiler) dotTile(dst, xs, ys []float32, d int) {
	ny := len(ys) / d
	if t.fewRows(dst, xs, ys, d) {
		return
	}
	mr, nr := t.mr, t.nr
	// Split d into equal chunks of at most tileKC.
	kcMax, kcPad := t.chunking(d)
	nc := min(ny, tileNC)
	nc = (nc + nr - 1) / nr * nr
	s := getTileScratch(nc*kcPad, mr*kcMax)
	defer tileScratchPool.Put(s)

	for k0 := 0; k0 < d; k0 += kcMax {
		kc := min(kcMax, d-k0)
		accum := 0
		if k0 > 0 {
			accum = 1
		}
		edgeBlock(s.edge, xs, d, mr, k0, kc)
		for j0 := 0; j0 < ny; j0 += tileNC {
			jn := min(tileNC, ny-j0)
			npan := (jn + nr - 1) / nr
			for p := 0; p < npan; p++ {
				panel := s.panels[p*nr*kcPad : (p+1)*nr*kcPad]
				c0 := j0 + p*nr
				if cols := min(nr, ny-c0); cols == nr {
					t.pack(&panel[0], &ys[c0*d+k0], d, kc)
				} else {
					packPartial(panel, ys, d, c0, cols, k0, kc, nr)
				}
			}
			t.group(dst, xs, d, ny, k0, kc, accum, j0, npan, s.panels, kcPad, s.edge)
		}
	}
}

// group runs the micro-kernel over every row of xs against the npan packed
// panels of the column group that starts at column j0 (panel p at
// panels[p*nr*kcPad:]), for the chunk k0 .. k0+kc of the reduction; edge
// holds the chunk of the last, partial block of rows, if any.
func (t *tiler) group(dst, xs []float32, d, ny, k0, kc, accum, j0, npan int, panels []float32, kcPad int, edge []float32) {
	mr, nr := t.mr, t.nr
	nx := len(xs) / d
	mc := max(tileMC/mr, 1) * mr // a multiple of mr: only the last row group has a partial block
	for i0 := 0; i0 < nx; i0 += mc {
		iEnd := min(i0+mc, nx)
		for p := 0; p < npan; p++ {
			panel := &panels[p*nr*kcPad]
			c0 := j0 + p*nr
			cols := min(nr, ny-c0)
			i := i0
			for ; i+mr <= iEnd; i += mr {
				t.kernel(&dst[i*ny+c0], ny, &xs[i*d+k0], d, panel, kc, mr, cols, accum)
			}
			if i < iEnd {
				t.kernel(&dst[i*ny+c0], ny, &edge[0], kc, panel, kc, iEnd-i, cols, accum)
			}
		}
	}
}

// chunking returns how dotTile splits a reduction of d values: chunks of
// kcMax values, packed kcPad long.
func (t *tiler) chunking(d int) (kcMax, kcPad int) {
	chunks := (d + tileKC - 1) / tileKC
	kcMax = (d + chunks - 1) / chunks
	kcPad = (kcMax + t.packStep - 1) / t.packStep * t.packStep
	return kcMax, kcPad
}

// packAll packs every panel of ys, chunk by chunk of the reduction, as
// dotTile packs them one column group at a time: chunk k0/kcMax's panel p
// at p.panels[(chunk*npan+p)*nr*kcPad:], npan = ceil(ny/nr).
func (t *tiler) packAll(p *PackedTile) {
	ys, d, nr := p.ys, p.d, t.nr
	ny := len(ys) / d
	kcMax, kcPad := t.chunking(d)
	npan := (ny + nr - 1) / nr
	chunks := (d + kcMax - 1) / kcMax
	n := chunks * npan * nr * kcPad
	if cap(p.panels) < n {
		p.panels = make([]float32, n)
	}
	p.panels = p.panels[:n]
	for c, k0 := 0, 0; k0 < d; c, k0 = c+1, k0+kcMax {
		kc := min(kcMax, d-k0)
		for q := 0; q < npan; q++ {
			panel := p.panels[(c*npan+q)*nr*kcPad : (c*npan+q+1)*nr*kcPad]
			c0 := q * nr
			if cols := min(nr, ny-c0); cols == nr {
				t.pack(&panel[0], &ys[c0*d+k0], d, kc)
			} else {
				packPartial(panel, ys, d, c0, cols, k0, kc, nr)
			}
		}
	}
}

// dotPacked computes dst = xs·ysᵀ for the rows ys that packAll packed
// into p, with the very operations of dotTile(dst, xs, ys, d).
func (t *tiler) dotPacked(dst, xs []float32, p *PackedTile) {
	ys, d := p.ys, p.d
	ny := len(ys) / d
	if t.fewRows(dst, xs, ys, d) {
		return
	}
	mr, nr := t.mr, t.nr
	kcMax, kcPad := t.chunking(d)
	npan := (ny + nr - 1) / nr
	s := getTileScratch(0, mr*kcMax)
	defer tileScratchPool.Put(s)
	for c, k0 := 0, 0; k0 < d; c, k0 = c+1, k0+kcMax {
		kc := min(kcMax, d-k0)
		accum := 0
		if k0 > 0 {
			accum = 1
		}
		edgeBlock(s.edge, xs, d, mr, k0, kc)
		chunk := p.panels[c*npan*nr*kcPad : (c+1)*npan*nr*kcPad]
		for j0 := 0; j0 < ny; j0 += tileNC {
			jn := min(tileNC, ny-j0)
			gp := (jn + nr - 1) / nr
			t.group(dst, xs, d, ny, k0, kc, accum, j0, gp, chunk[j0/nr*nr*kcPad:], kcPad, s.edge)
		}
	}
}

// fewRows computes dst = xs·ysᵀ one row of xs at a time with the
// one-to-many kernel, and reports true, when xs has too few rows for packing
// ys to pay; otherwise it does nothing and reports false.
func (t *tiler) fewRows(dst, xs, ys []float32, d int) bool {
	nx, ny := len(xs)/d, len(ys)/d
	if nx >= tileFewRows {
		return false
	}
	for i := 0; i < nx; i++ {
		t.many(dst[i*ny:(i+1)*ny], xs[i*d:(i+1)*d], ys)
	}
	return true
}

// edgeBlock copies the chunk k0..k0+kc of the rows of xs (rows of d) past
// its last full block of mr rows into edge, zero-padded to mr rows; it does
// nothing when every block is full.
func edgeBlock(edge, xs []float32, d, mr, k0, kc int) {
	nx := len(xs) / d
	nfull := nx / mr * mr
	if nfull == nx {
		return
	}
	edge = edge[:mr*kc]
	for r := 0; r < mr; r++ {
		row := edge[r*kc : (r+1)*kc]
		if i := nfull + r; i < nx {
			copy(row, xs[i*d+k0:i*d+k0+kc])
		} else {
			clear(row)
		}
	}
}

// packPartial packs cols < nr columns starting at c0, zero-filling the rest
// of the panel's kc rows.
func packPartial(panel, ys []float32, d, c0, cols, k0, kc, nr int) {
	panel = panel[:kc*nr]
	clear(panel)
	for c := 0; c < cols; c++ {
		src := ys[(c0+c)*d+k0 : (c0+c)*d+k0+kc]
		for k, v := range src {
			panel[k*nr+c] = v
		}
	}
}
