package asm

import "fmt"

// PackedTile is the right-hand side of DotTile, ys, packed once for the
// tiled kernels so that several DotTilePacked calls, with different
// left-hand sides, share the packing. The zero value is empty; Pack fills
// it, reusing its buffer.
type PackedTile struct {
	ys     []float32
	d      int
	t      tilePacker // the packing implementation; nil: none
	dot    func(dst, xs, ys []float32, d int)
	panels []float32
}

// tilePacker is a tiled kernel that packs a right-hand side once (the SIMD
// implementations' tiler).
type tilePacker interface {
	packAll(p *PackedTile)
	dotPacked(dst, xs []float32, p *PackedTile)
}

// Pack packs the rows ys (len(ys)/d rows of d floats) for DotTilePacked,
// with the implementation selected at the time of the call. p keeps ys,
// which must not change while p is used.
func (p *PackedTile) Pack(ys []float32, d int) {
	if d <= 0 || len(ys)%d != 0 {
		panic(fmt.Sprintf("asm.PackedTile.Pack: %d floats in rows of %d", len(ys), d))
	}
	p.ys, p.d, p.dot = ys, d, fk.dotTile
	p.t = nil
	if fk.packer != nil && len(ys) > 0 {
		p.t = fk.packer(len(ys) / d)
	}
	if p.t != nil {
		p.t.packAll(p)
	}
}

// Rows returns the number of rows packed.
func (p *PackedTile) Rows() int {
	if p.d == 0 {
		return 0
	}
	return len(p.ys) / p.d
}

// DotTilePacked is DotTile(dst, xs, ys, d) for the rows ys packed into p:
// the same values, bit for bit (by the implementation selected when p was
// packed), without packing ys again.
func DotTilePacked(dst, xs []float32, p *PackedTile) {
	if p.d == 0 {
		panic("asm.DotTilePacked: nothing packed")
	}
	nx, ny := checkTile("asm.DotTilePacked", dst, xs, p.ys, p.d)
	if nx == 0 || ny == 0 {
		return
	}
	if p.t == nil {
		p.dot(dst, xs, p.ys, p.d)
		return
	}
	p.t.dotPacked(dst, xs, p)
}
