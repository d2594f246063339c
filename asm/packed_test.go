package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// packedCase packs ys once and checks that DotTilePacked gives DotTile's
// values bit for bit for several left-hand sides, and values close to the
// pure-Go twin's.
func packedCase(t *testing.T, r *rand.Rand, p *PackedTile, nxs []int, ny, d int, gen valueGen) {
	t.Helper()
	ys := randVec(r, ny*d, gen)
	p.Pack(ys, d)
	if p.Rows() != ny {
		t.Fatalf("Rows() = %d, want %d", p.Rows(), ny)
	}
	for _, nx := range nxs {
		xs := randVec(r, nx*d, gen)
		want := make([]float32, nx*ny)
		DotTile(want, xs, ys, d)
		got := make([]float32, nx*ny)
		for i := range got {
			got[i] = float32(math.NaN()) // every entry must be written
		}
		DotTilePacked(got, xs, p)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%dx%dx%d [%d,%d]: DotTilePacked %g, DotTile %g", nx, ny, d, i/ny, i%ny, got[i], want[i])
			}
		}
		for i := 0; i < nx; i++ {
			x := xs[i*d : (i+1)*d]
			for j := 0; j < ny; j++ {
				y := ys[j*d : (j+1)*d]
				checkClose(t, fmt.Sprintf("DotTilePacked %dx%dx%d [%d,%d]", nx, ny, d, i, j), got[i*ny+j], dotGeneric(x, y), refDot(x, y), d)
			}
		}
	}
}

func TestDotTilePacked(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		var p PackedTile // reused across shapes: its buffer grows and shrinks
		nxs := []int{1, 2, 3, 5, 6, 7, 12, 13, 64, 70}
		for _, ny := range []int{1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 48} {
			for _, d := range []int{1, 3, 8, 16, 17, 31} {
				packedCase(t, r, &p, nxs, ny, d, plainValue)
			}
		}
		for _, d := range []int{100, 256, 257, 600, 784} {
			packedCase(t, r, &p, []int{4, 13}, 35, d, plainValue)
			packedCase(t, r, &p, []int{5}, 16, d, wideValue)
		}
		// Several column groups and reduction chunks.
		packedCase(t, r, &p, []int{3, 67, 131}, 530, 300, plainValue)
		packedCase(t, r, &p, []int{9}, 1030, 513, tinyValue)
		packedCase(t, r, &p, []int{17}, 33, 200, hugeValue)
	})
}

func TestDotTilePackedEmpty(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		var p PackedTile
		p.Pack(nil, 4)
		if p.Rows() != 0 {
			t.Fatal("rows in an empty pack")
		}
		DotTilePacked(nil, make([]float32, 8), &p)
		p.Pack(make([]float32, 8), 4)
		DotTilePacked(nil, nil, &p)
	})
	for _, f := range []func(){
		func() { DotTilePacked(nil, nil, new(PackedTile)) },
		func() { new(PackedTile).Pack(make([]float32, 5), 4) },
		func() {
			var p PackedTile
			p.Pack(make([]float32, 8), 4)
			DotTilePacked(make([]float32, 3), make([]float32, 8), &p)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}

func BenchmarkDotTilePacked(b *testing.B) {
	const nx, ny, d = 256, 512, 256
	r := rand.New(rand.NewPCG(1, 2))
	xs, ys := randVec(r, nx*d, plainValue), randVec(r, ny*d, plainValue)
	dst := make([]float32, nx*ny)
	b.Run("DotTile", func(b *testing.B) {
		for b.Loop() {
			DotTile(dst, xs, ys, d)
		}
	})
	b.Run("packed", func(b *testing.B) {
		var p PackedTile
		p.Pack(ys, d)
		for b.Loop() {
			DotTilePacked(dst, xs, &p)
		}
	})
}
