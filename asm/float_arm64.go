//go:build !purego

package asm

import "unsafe"

// arm64 float kernels: hand-written NEON in float_neon_arm64.s. Advanced
// SIMD is part of every arm64 CPU Go supports, so the implementation is
// always available. The Go wrappers split long inputs so that one assembly
// call reads at most about chunkFloats floats.

func init() {
	registerFloat("neon", true, floatKernels{
		dot:     dotNEON,
		l2Sqr:   l2SqrNEON,
		dotMany: dotManyNEONGo,
		l2Many:  l2ManyNEONGo,
		dotTile: tileNEON.dotTile,
		packer:  func(int) tilePacker { return &tileNEON },
		// The selection kernels run the Go twins.
		minValue:   minValueGeneric,
		firstEqual: firstEqualGeneric,
		atMost:     atMostGeneric,
		sub:        subGeneric,
		anyAtLeast: anyAtLeastGeneric,
		// Dot32 runs the one-to-one NEON kernel.
		dot32: func(x, y *[32]float32) float32 { return dotNEON(x[:], y[:]) },
		// Table building and quantization run the Go twins on arm64: no
		// table kernels are registered.
	})
}

//go:noescape
func dotManyNEON(dst, q, ys []float32)

//go:noescape
func l2ManyNEON(dst, q, ys []float32)

//go:noescape
func tile4x16NEON(dst *float32, ldc int, a *float32, lda int, b *float32, kc int, accum int)

var tileNEON = tiler{mr: 4, nr: 16, kernel: tile4x16NEONEdges, pack: pack16Go, packStep: 1, many: dotManyNEONGo}

// tile4x16NEONEdges runs the 4 x 16 micro-kernel; a partial block (rows < 4
// or cols < 16) goes through a buffer and only its valid entries reach dst.
func tile4x16NEONEdges(dst *float32, ldc int, a *float32, lda int, b *float32, kc, rows, cols, accum int) {
	if rows == 4 && cols == 16 {
		tile4x16NEON(dst, ldc, a, lda, b, kc, accum)
		return
	}
	var tmp [4 * 16]float32
	tile4x16NEON(&tmp[0], 16, a, lda, b, kc, 0)
	for i := 0; i < rows; i++ {
		row := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(dst), 4*i*ldc)), cols)
		src := tmp[16*i : 16*i+cols]
		if accum != 0 {
			for j, v := range src {
				row[j] += v
			}
		} else {
			copy(row, src)
		}
	}
}

// pack16Go fills a 16-column panel from 16 full rows of y (row c at
// y[c*ldy:]), k < kc: p[k*16+c] = y[c*ldy+k].
func pack16Go(p, y *float32, ldy, kc int) {
	panel := unsafe.Slice(p, kc*16)
	for c := 0; c < 16; c++ {
		src := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(y), 4*c*ldy)), kc)
		for k, v := range src {
			panel[k*16+c] = v
		}
	}
}

func dotNEON(x, y []float32) float32 {
	y = y[:len(x)]
	var r [1]float32
	if len(x) <= chunkFloats {
		dotManyNEON(r[:], x, y)
		return r[0]
	}
	var s float32
	for len(x) > 0 {
		n := min(len(x), chunkFloats)
		dotManyNEON(r[:], x[:n], y[:n])
		s += r[0]
		x, y = x[n:], y[n:]
	}
	return s
}

func l2SqrNEON(x, y []float32) float32 {
	y = y[:len(x)]
	var r [1]float32
	if len(x) <= chunkFloats {
		l2ManyNEON(r[:], x, y)
		return r[0]
	}
	var s float32
	for len(x) > 0 {
		n := min(len(x), chunkFloats)
		l2ManyNEON(r[:], x[:n], y[:n])
		s += r[0]
		x, y = x[n:], y[n:]
	}
	return s
}

func dotManyNEONGo(dst, q, ys []float32) {
	if oneCall(len(q), len(dst)) {
		dotManyNEON(dst, q, ys)
		return
	}
	manyChunked(dst, q, ys, dotManyNEON, dotNEON)
}

func l2ManyNEONGo(dst, q, ys []float32) {
	if oneCall(len(q), len(dst)) {
		l2ManyNEON(dst, q, ys)
		return
	}
	manyChunked(dst, q, ys, l2ManyNEON, l2SqrNEON)
}
