package asm

import "fmt"

// Dot returns the inner product of x and y, which must have the same length.
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("asm.Dot: lengths %d and %d differ", len(x), len(y)))
	}
	return fk.dot(x, y)
}

// Dot32 returns the inner product of two rows of 32 floats, what Dot
// returns up to the order of its sum, without Dot's length checks and
// splitting: for callers that score many short rows one at a time, as a
// walk does the 32-float bound rows of the neighbours it meets (an AMD
// EPYC: the IVF16384_HNSW32 walk 7 % faster than with Dot).
func Dot32(x, y *[32]float32) float32 { return fk.dot32(x, y) }

// L2Sqr returns the squared Euclidean distance between x and y, which must
// have the same length.
func L2Sqr(x, y []float32) float32 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("asm.L2Sqr: lengths %d and %d differ", len(x), len(y)))
	}
	return fk.l2Sqr(x, y)
}

// DotMany writes dst[i] = <q, ys[i*d:(i+1)*d]> with d = len(q). ys must hold
// exactly len(dst) rows.
func DotMany(dst, q, ys []float32) {
	checkMany("asm.DotMany", dst, q, ys)
	fk.dotMany(dst, q, ys)
}

// L2SqrMany writes dst[i] = ||q - ys[i*d:(i+1)*d]||² with d = len(q). ys must
// hold exactly len(dst) rows.
func L2SqrMany(dst, q, ys []float32) {
	checkMany("asm.L2SqrMany", dst, q, ys)
	fk.l2Many(dst, q, ys)
}

// L2SqrMany4 writes dst[j*n+i] = ||q_j - ys[i*d:(i+1)*d]||² for the four
// queries q0..q3 of d = len(q0) floats each and the n = len(dst)/4 rows of
// ys: what L2SqrMany writes for each query, bit for bit. Where the
// machine's kernels have it (AVX2 and AVX-512), each row is read once for the four
// queries, which saves a load per multiply-add when the rows come from
// cache: a short list several queries probe.
func L2SqrMany4(dst, q0, q1, q2, q3, ys []float32) {
	many4("asm.L2SqrMany4", fk.l2Many4, fk.l2Many, dst, q0, q1, q2, q3, ys)
}

// DotMany4 is L2SqrMany4 for inner products: dst[j*n+i] = <q_j,
// ys[i*d:(i+1)*d]>, what DotMany writes for each query, bit for bit.
func DotMany4(dst, q0, q1, q2, q3, ys []float32) {
	many4("asm.DotMany4", fk.dotMany4, fk.dotMany, dst, q0, q1, q2, q3, ys)
}

// many4 checks the lengths of a four-query call and runs kernel, or one of
// the one-query kernel per query when there is none.
func many4(name string, kernel func(dst, q0, q1, q2, q3, ys []float32), one func(dst, q, ys []float32), dst, q0, q1, q2, q3, ys []float32) {
	d := len(q0)
	if len(q1) != d || len(q2) != d || len(q3) != d || len(dst)%4 != 0 {
		panic(fmt.Sprintf("%s: queries of %d, %d, %d, %d floats, %d outputs", name, d, len(q1), len(q2), len(q3), len(dst)))
	}
	n := len(dst) / 4
	checkMany(name, dst[:n], q0, ys)
	if kernel == nil {
		for j, q := range [4][]float32{q0, q1, q2, q3} {
			one(dst[j*n:(j+1)*n], q, ys)
		}
		return
	}
	kernel(dst, q0, q1, q2, q3, ys)
}

// DotTile writes the inner products of every row of xs with every row of ys:
// dst[i*ny+j] = <xs_i, ys_j>, where rows are d floats, nx = len(xs)/d and
// ny = len(ys)/d. This is the matrix product xs·ysᵀ, the loop that k-means
// assignment and batched exact search spend their time in.
func DotTile(dst, xs, ys []float32, d int) {
	nx, ny := checkTile("asm.DotTile", dst, xs, ys, d)
	if nx == 0 || ny == 0 {
		return
	}
	fk.dotTile(dst, xs, ys, d)
}

// L2SqrTile writes squared distances between every row of xs and every row of
// ys: dst[i*ny+j] = ||xs_i - ys_j||², computed as xn[i] + yn[j] - 2<xs_i, ys_j>
// from the rows' squared norms xn and yn (see SqNorms) and clamped at zero.
// The expansion loses precision when two rows are nearly equal relative to
// their norms; callers that need exact small distances use L2SqrMany.
func L2SqrTile(dst, xs, xn, ys, yn []float32, d int) {
	nx, ny := checkTile("asm.L2SqrTile", dst, xs, ys, d)
	if len(xn) != nx || len(yn) != ny {
		panic(fmt.Sprintf("asm.L2SqrTile: %d and %d norms for %d and %d rows", len(xn), len(yn), nx, ny))
	}
	if nx == 0 || ny == 0 {
		return
	}
	fk.dotTile(dst, xs, ys, d)
	for i := 0; i < nx; i++ {
		row := dst[i*ny : (i+1)*ny]
		xi := xn[i]
		for j, ip := range row {
			v := xi + yn[j] - 2*ip
			if v < 0 {
				v = 0
			}
			row[j] = v
		}
	}
}

// SqNorms writes dst[i] = ||xs_i||² for the d-dimensional rows of xs.
func SqNorms(dst, xs []float32, d int) {
	if d <= 0 || len(xs) != len(dst)*d {
		panic(fmt.Sprintf("asm.SqNorms: %d floats for %d rows of %d", len(xs), len(dst), d))
	}
	for i := range dst {
		row := xs[i*d : (i+1)*d]
		dst[i] = fk.dot(row, row)
	}
}

func checkMany(name string, dst, q, ys []float32) {
	if len(ys) != len(dst)*len(q) {
		panic(fmt.Sprintf("%s: %d floats for %d rows of %d", name, len(ys), len(dst), len(q)))
	}
}

func checkTile(name string, dst, xs, ys []float32, d int) (nx, ny int) {
	if d <= 0 || len(xs)%d != 0 || len(ys)%d != 0 {
		panic(fmt.Sprintf("%s: %d and %d floats are not rows of %d", name, len(xs), len(ys), d))
	}
	nx, ny = len(xs)/d, len(ys)/d
	if len(dst) != nx*ny {
		panic(fmt.Sprintf("%s: dst has %d floats, want %d x %d", name, len(dst), nx, ny))
	}
	return nx, ny
}
