package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The float kernels are tested differentially: every implementation the CPU
// can run is compared with the pure-Go twins. Float sums may differ in their
// rounding (FMA, order of the partial sums), so a result r passes when
//
//	|r - twin| <= floatTol * Σ|terms| + n * 2^-147
//
// where the terms are the products x_k·y_k (or the squares (x_k-y_k)²) whose
// sum is the result and n is their number. The second term only matters for
// subnormal sums.
const floatTol = 1e-5

func tolerance(sumAbs float64, n int) float64 {
	return floatTol*sumAbs + float64(n)*0x1p-147
}

// refDot returns the exact-ish inner product and the sum of absolute products.
func refDot(x, y []float32) (sumAbs float64) {
	for i := range x {
		sumAbs += math.Abs(float64(x[i]) * float64(y[i]))
	}
	return sumAbs
}

func refL2(x, y []float32) (sumAbs float64) {
	for i := range x {
		d := float64(x[i]) - float64(y[i])
		sumAbs += d * d
	}
	return sumAbs
}

func checkClose(t *testing.T, what string, got, want float32, sumAbs float64, n int) {
	t.Helper()
	if diff := math.Abs(float64(got) - float64(want)); !(diff <= tolerance(sumAbs, n)) {
		t.Fatalf("%s = %g, twin %g (diff %g, Σ|terms| %g)", what, got, want, diff, sumAbs)
	}
}

// Value generators: plain values in [-1, 1), and values whose magnitudes
// range from 1e-18 to 1e17 within one vector.
type valueGen func(r *rand.Rand) float32

func plainValue(r *rand.Rand) float32 { return 2*r.Float32() - 1 }

func wideValue(r *rand.Rand) float32 {
	scales := [...]float32{1e-18, 1e-9, 1, 1e9, 1e17}
	return (2*r.Float32() - 1) * scales[r.IntN(len(scales))]
}

func tinyValue(r *rand.Rand) float32 { return (2*r.Float32() - 1) * 1e-18 }

// hugeValue has magnitudes up to 1e18; sums of more than about 300 squares
// of them overflow float32, so it is used for short vectors only.
func hugeValue(r *rand.Rand) float32 { return (2*r.Float32() - 1) * 1e18 }

var valueGens = []struct {
	name string
	gen  valueGen
	maxN int
}{{"plain", plainValue, 1 << 30}, {"wide", wideValue, 1 << 30}, {"tiny", tinyValue, 1 << 30}, {"huge", hugeValue, 300}}

func randVec(r *rand.Rand, n int, gen valueGen) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = gen(r)
	}
	return v
}

// vectorLengths is every length up to twice the widest vector (16 floats)
// plus one, and some long ones.
func vectorLengths(t *testing.T) []int {
	var ns []int
	for n := 0; n <= 33; n++ {
		ns = append(ns, n)
	}
	ns = append(ns, 47, 64, 100, 255, 256, 257, 768, 1000, 4099)
	if !testing.Short() {
		ns = append(ns, 1<<16+5, 3<<16)
	}
	return ns
}

// TestDotL2Sqr also covers Dot32.
func TestDotL2Sqr(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, g := range valueGens {
			for _, n := range vectorLengths(t) {
				if n > g.maxN {
					continue
				}
				x, y := randVec(r, n, g.gen), randVec(r, n, g.gen)
				checkClose(t, fmt.Sprintf("%s Dot n=%d", g.name, n), Dot(x, y), dotGeneric(x, y), refDot(x, y), n)
				checkClose(t, fmt.Sprintf("%s L2Sqr n=%d", g.name, n), L2Sqr(x, y), l2SqrGeneric(x, y), refL2(x, y), n)
			}
		}
		// Dot32 against the twin of Dot, on every kind of value, NaN and
		// infinities included.
		for _, g := range valueGens {
			for range 50 {
				x, y := randVec(r, 32, g.gen), randVec(r, 32, g.gen)
				checkClose(t, g.name+" Dot32", Dot32((*[32]float32)(x), (*[32]float32)(y)), dotGeneric(x, y), refDot(x, y), 32)
			}
		}
		for _, special := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			for pos := range 32 {
				var x, y [32]float32
				for i := range x {
					x[i], y[i] = float32(i+1), 1
				}
				x[pos] = special
				got, want := Dot32(&x, &y), dotGeneric(x[:], y[:])
				if !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) && got != want {
					t.Fatalf("Dot32 with %v at %d = %v, twin %v", special, pos, got, want)
				}
			}
		}
		// Exact cases: small integers have exact sums in any order.
		x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}
		if got := Dot(x, x); got != 1785 {
			t.Errorf("Dot(1..17, 1..17) = %g, want 1785", got)
		}
		var w [32]float32
		for i := range w {
			w[i] = float32(i - 15)
		}
		if got := Dot32(&w, &w); got != 2736 {
			t.Errorf("Dot32(-15..16, -15..16) = %g, want 2736", got)
		}
		if got := L2Sqr(x, make([]float32, len(x))); got != 1785 {
			t.Errorf("L2Sqr(1..17, 0) = %g, want 1785", got)
		}
	})
}

func TestDotManyL2SqrMany(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, g := range valueGens {
			for _, d := range vectorLengths(t) {
				if d > 5000 || d > g.maxN {
					continue
				}
				for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 13} {
					q, ys := randVec(r, d, g.gen), randVec(r, n*d, g.gen)
					dots, l2s := make([]float32, n), make([]float32, n)
					DotMany(dots, q, ys)
					L2SqrMany(l2s, q, ys)
					for i := 0; i < n; i++ {
						y := ys[i*d : (i+1)*d]
						checkClose(t, fmt.Sprintf("%s DotMany d=%d n=%d [%d]", g.name, d, n, i), dots[i], dotGeneric(q, y), refDot(q, y), d)
						checkClose(t, fmt.Sprintf("%s L2SqrMany d=%d n=%d [%d]", g.name, d, n, i), l2s[i], l2SqrGeneric(q, y), refL2(q, y), d)
					}
				}
			}
		}
		// Many rows: more than one call of the kernel.
		for _, d := range []int{8, 256} {
			n := 3*manyRowsTest(d) + 3
			q, ys := randVec(r, d, plainValue), randVec(r, n*d, plainValue)
			dots, l2s := make([]float32, n), make([]float32, n)
			DotMany(dots, q, ys)
			L2SqrMany(l2s, q, ys)
			for i := 0; i < n; i++ {
				y := ys[i*d : (i+1)*d]
				checkClose(t, fmt.Sprintf("DotMany d=%d n=%d [%d]", d, n, i), dots[i], dotGeneric(q, y), refDot(q, y), d)
				checkClose(t, fmt.Sprintf("L2SqrMany d=%d n=%d [%d]", d, n, i), l2s[i], l2SqrGeneric(q, y), refL2(q, y), d)
			}
		}
	})
}

// manyRowsTest is a row count that spans several kernel calls.
func manyRowsTest(d int) int { return (1 << 16) / d }

// floatTileCase runs DotTile and L2SqrTile on random data and checks every entry.
func floatTileCase(t *testing.T, r *rand.Rand, nx, ny, d int, gen valueGen) {
	t.Helper()
	xs, ys := randVec(r, nx*d, gen), randVec(r, ny*d, gen)
	dst := make([]float32, nx*ny)
	for i := range dst {
		dst[i] = float32(math.NaN()) // every entry must be written
	}
	DotTile(dst, xs, ys, d)
	xn, yn := make([]float32, nx), make([]float32, ny)
	SqNorms(xn, xs, d)
	SqNorms(yn, ys, d)
	l2 := make([]float32, nx*ny)
	L2SqrTile(l2, xs, xn, ys, yn, d)
	for i := 0; i < nx; i++ {
		x := xs[i*d : (i+1)*d]
		for j := 0; j < ny; j++ {
			y := ys[j*d : (j+1)*d]
			sa := refDot(x, y)
			checkClose(t, fmt.Sprintf("DotTile %dx%dx%d [%d,%d]", nx, ny, d, i, j), dst[i*ny+j], dotGeneric(x, y), sa, d)
			// L2 from norms: the error scales with the norms.
			want := l2SqrGeneric(x, y)
			scale := float64(xn[i]) + float64(yn[j]) + 2*sa
			if diff := math.Abs(float64(l2[i*ny+j]) - float64(want)); !(diff <= 4*tolerance(scale, d)) || l2[i*ny+j] < 0 {
				t.Fatalf("L2SqrTile %dx%dx%d [%d,%d] = %g, want %g", nx, ny, d, i, j, l2[i*ny+j], want)
			}
		}
	}
}

func TestDotTileEdges(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		sizes := []int{1, 2, 3, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40}
		if testing.Short() {
			sizes = []int{1, 3, 7, 8, 9, 13, 16, 17, 33}
		}
		for _, nx := range sizes {
			for _, ny := range sizes {
				for _, d := range []int{1, 3, 16, 17, 31} {
					floatTileCase(t, r, nx, ny, d, plainValue)
				}
			}
		}
		for d := 1; d <= 40; d++ {
			floatTileCase(t, r, 9, 17, d, plainValue)
		}
		for _, d := range []int{100, 256, 257, 784} {
			floatTileCase(t, r, 13, 35, d, plainValue)
			floatTileCase(t, r, 5, 16, d, wideValue)
		}
		floatTileCase(t, r, 17, 33, 200, hugeValue)
	})
}

func TestDotTileLarge(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		// Several row groups, column groups and reduction chunks.
		floatTileCase(t, r, 70, 530, 600, plainValue)
		floatTileCase(t, r, 131, 45, 300, wideValue)
		floatTileCase(t, r, 67, 8, 513, tinyValue)
		if !testing.Short() {
			floatTileCase(t, r, 200, 1100, 100, plainValue)
			floatTileCase(t, r, 129, 1030, 784, wideValue)
		}
	})
}

func TestDotTileZeroRows(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		DotTile(nil, nil, make([]float32, 8), 4)
		DotTile(nil, make([]float32, 8), nil, 4)
		L2SqrTile(nil, nil, nil, make([]float32, 8), make([]float32, 2), 4)
	})
}

func TestLengthMismatchPanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"Dot", func() { Dot(make([]float32, 3), make([]float32, 4)) }},
		{"L2Sqr", func() { L2Sqr(make([]float32, 5), make([]float32, 4)) }},
		{"DotMany", func() { DotMany(make([]float32, 2), make([]float32, 4), make([]float32, 7)) }},
		{"L2SqrMany", func() { L2SqrMany(make([]float32, 2), make([]float32, 4), make([]float32, 9)) }},
		{"DotTile d", func() { DotTile(make([]float32, 4), make([]float32, 6), make([]float32, 6), 4) }},
		{"DotTile dst", func() { DotTile(make([]float32, 3), make([]float32, 8), make([]float32, 8), 4) }},
		{"DotTile d=0", func() { DotTile(nil, nil, nil, 0) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", c.name)
				}
			}()
			c.f()
		})
	}
}

// Fuzz targets: inputs are decoded as small fixed-point values, so sums stay
// finite; results must match the twin within the rounding bound of a
// recursive sum of n terms, 2·n·2^-24·Σ|terms| (each side's error is at most
// about n·2^-24·Σ|terms|).

func fuzzFloats(b []byte) []float32 {
	v := make([]float32, len(b))
	for i, c := range b {
		v[i] = float32(int8(c)) / 8
	}
	return v
}

func fuzzTol(sumAbs float64, n int) float64 {
	return 2*float64(n+2)*0x1p-24*sumAbs + 1e-30
}

func fuzzCheck(t *testing.T, what string, got, want float32, sumAbs float64, n int) {
	t.Helper()
	if diff := math.Abs(float64(got) - float64(want)); !(diff <= fuzzTol(sumAbs, n)) {
		t.Fatalf("%s: %s = %g, twin %g", FloatImplementation(), what, got, want)
	}
}

func FuzzDot(f *testing.F) {
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, skew uint8) {
		n := len(data) / 2
		x, y := fuzzFloats(data[:n]), fuzzFloats(data[n:2*n])
		// Shift y by skew to vary the relative alignment of x and y.
		if s := int(skew) % 8; s < n {
			x, y = x[s:], y[:n-s]
		}
		forEachFloatImpl(t, func(t *testing.T) {
			fuzzCheck(t, "Dot", Dot(x, y), dotGeneric(x, y), refDot(x, y), len(x))
			fuzzCheck(t, "L2Sqr", L2Sqr(x, y), l2SqrGeneric(x, y), refL2(x, y), len(x))
			if len(x) >= 32 {
				x32, y32 := x[:32], y[:32]
				fuzzCheck(t, "Dot32", Dot32((*[32]float32)(x32), (*[32]float32)(y32)), dotGeneric(x32, y32), refDot(x32, y32), 32)
			}
		})
	})
}

func FuzzDotMany(f *testing.F) {
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789"), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, dd uint8) {
		d := int(dd)%40 + 1
		if len(data) < d {
			return
		}
		q := fuzzFloats(data[:d])
		n := (len(data) - d) / d
		ys := fuzzFloats(data[d : d+n*d])
		forEachFloatImpl(t, func(t *testing.T) {
			dots, l2s := make([]float32, n), make([]float32, n)
			DotMany(dots, q, ys)
			L2SqrMany(l2s, q, ys)
			for i := 0; i < n; i++ {
				y := ys[i*d : (i+1)*d]
				fuzzCheck(t, "DotMany", dots[i], dotGeneric(q, y), refDot(q, y), d)
				fuzzCheck(t, "L2SqrMany", l2s[i], l2SqrGeneric(q, y), refL2(q, y), d)
			}
			// The four-query kernels give each query DotMany's and
			// L2SqrMany's bits.
			neg := make([]float32, d)
			for i, v := range q {
				neg[i] = -v
			}
			qs := [4][]float32{q, neg, q, q}
			if n > 0 {
				qs[2] = ys[:d]
			}
			dots4, l2s4 := make([]float32, 4*n), make([]float32, 4*n)
			DotMany4(dots4, qs[0], qs[1], qs[2], qs[3], ys)
			L2SqrMany4(l2s4, qs[0], qs[1], qs[2], qs[3], ys)
			for j, qj := range qs {
				DotMany(dots, qj, ys)
				L2SqrMany(l2s, qj, ys)
				for i := 0; i < n; i++ {
					if !sameBits(dots4[j*n+i], dots[i]) || !sameBits(l2s4[j*n+i], l2s[i]) {
						t.Fatalf("query %d row %d: DotMany4 %v L2SqrMany4 %v, one query %v %v", j, i, dots4[j*n+i], l2s4[j*n+i], dots[i], l2s[i])
					}
				}
			}
		})
	})
}

func FuzzDotTile(f *testing.F) {
	f.Add(uint8(9), uint8(17), uint8(5), uint64(1))
	f.Add(uint8(16), uint8(32), uint8(16), uint64(2))
	f.Fuzz(func(t *testing.T, nx8, ny8, d8 uint8, seed uint64) {
		nx, ny, d := int(nx8)%70, int(ny8)%70, int(d8)%300+1
		r := rand.New(rand.NewPCG(seed, 9))
		xs, ys := make([]float32, nx*d), make([]float32, ny*d)
		for i := range xs {
			xs[i] = float32(r.IntN(256)-128) / 8
		}
		for i := range ys {
			ys[i] = float32(r.IntN(256)-128) / 8
		}
		forEachFloatImpl(t, func(t *testing.T) {
			dst := make([]float32, nx*ny)
			DotTile(dst, xs, ys, d)
			for i := 0; i < nx; i++ {
				for j := 0; j < ny; j++ {
					x, y := xs[i*d:(i+1)*d], ys[j*d:(j+1)*d]
					fuzzCheck(t, fmt.Sprintf("DotTile %dx%dx%d [%d,%d]", nx, ny, d, i, j), dst[i*ny+j], dotGeneric(x, y), refDot(x, y), d)
				}
			}
		})
	})
}

// TestManyRowsMatchSingle: a row's result from DotMany and L2SqrMany does
// not depend on its position among the rows (inside a 4-row block or in the
// tail) and equals Dot and L2Sqr of that row bit for bit, so identical
// stored vectors get identical distances and a batch can recompute a
// distance exactly as a single query computed it.
func TestManyRowsMatchSingle(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, d := range []int{1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 64, 100, 256, 768, 5000} {
			q := randVec(r, d, plainValue)
			row := randVec(r, d, plainValue)
			for i := range row {
				row[i] += 1000 // un-centred: rounding differences show
			}
			wantDot, wantL2 := Dot(q, row), L2Sqr(q, row)
			for n := 1; n <= 9; n++ {
				ys := make([]float32, 0, n*d)
				for i := 0; i < n; i++ {
					ys = append(ys, row...)
				}
				dots, l2s := make([]float32, n), make([]float32, n)
				DotMany(dots, q, ys)
				L2SqrMany(l2s, q, ys)
				for i := 0; i < n; i++ {
					if dots[i] != wantDot || l2s[i] != wantL2 {
						t.Fatalf("d=%d n=%d row %d: DotMany %v L2SqrMany %v, Dot %v L2Sqr %v", d, n, i, dots[i], l2s[i], wantDot, wantL2)
					}
				}
			}
		}
	})
}

// TestMany4: the four-query kernels write what DotMany and L2SqrMany write
// for each query, bit for bit, for every length (tails, several calls of
// the kernel, rows longer than one call), row count and kind of value,
// including NaN, ±Inf and signed zeros, and un-centred rows where the
// order of the sums shows.
func TestMany4(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		check := func(name string, qs [4][]float32, ys []float32) {
			t.Helper()
			d := len(qs[0])
			n := 0
			if d > 0 {
				n = len(ys) / d
			}
			for _, f := range []struct {
				name string
				four func(dst, q0, q1, q2, q3, ys []float32)
				one  func(dst, q, ys []float32)
			}{{"DotMany4", DotMany4, DotMany}, {"L2SqrMany4", L2SqrMany4, L2SqrMany}} {
				got := make([]float32, 4*n)
				f.four(got, qs[0], qs[1], qs[2], qs[3], ys)
				want := make([]float32, n)
				for j, q := range qs {
					f.one(want, q, ys)
					for i := range want {
						if !sameBits(got[j*n+i], want[i]) {
							t.Fatalf("%s %s d=%d n=%d query %d row %d: %v, one query %v", f.name, name, d, n, j, i, got[j*n+i], want[i])
						}
					}
				}
			}
		}
		for _, g := range valueGens {
			for _, d := range vectorLengths(t) {
				if d > g.maxN || d > 5000 {
					continue
				}
				for _, n := range []int{0, 1, 2, 3, 4, 5, 9} {
					var qs [4][]float32
					for j := range qs {
						qs[j] = randVec(r, d, g.gen)
					}
					check(g.name, qs, randVec(r, n*d, g.gen))
				}
			}
		}
		// Un-centred rows, enough of them for several kernel calls, and
		// long rows split by the one-to-one kernel.
		ds := []int{8, 37, 256, 768}
		if !testing.Short() {
			ds = append(ds, 1<<16+5)
		}
		for _, d := range ds {
			n := 3*max(chunkFloats/d, 4) + 5 // several calls of the one-to-many kernel
			if d > 1<<16 {
				n = 3
			}
			ys := randVec(r, n*d, plainValue)
			for i := range ys {
				ys[i] += 1000
			}
			var qs [4][]float32
			for j := range qs {
				qs[j] = randVec(r, d, plainValue)
			}
			qs[2] = ys[d : 2*d] // a query on a row: a distance of 0
			check("uncentred", qs, ys)
		}
		// Special values.
		special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-45, 3e38}
		for _, d := range []int{1, 7, 9, 17} {
			var qs [4][]float32
			for j := range qs {
				qs[j] = make([]float32, d)
				for i := range qs[j] {
					qs[j][i] = special[r.IntN(len(special))]
				}
			}
			ys := make([]float32, 6*d)
			for i := range ys {
				ys[i] = special[r.IntN(len(special))]
			}
			check("special", qs, ys)
		}
	})
}

// sameBits reports whether a and b are the same float32, or both NaN.
func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}
