//go:build !purego && (amd64 || arm64)

package asm

// manyRows is how many rows of d floats one call of a one-to-many kernel
// handles.
func manyRows(d int) int {
	return max(chunkFloats/max(d, 1), 4)
}

// oneCall reports whether n rows of d floats fit one call of a one-to-many
// kernel: the wrappers then call the kernel directly, and only longer inputs
// go through manyChunked.
func oneCall(d, n int) bool { return d <= chunkFloats && n <= manyRows(d) }

// manyChunked runs the one-to-many assembly kernel over the rows of ys in
// calls of manyRows(len(q)) rows; rows longer than chunkFloats go one by one
// through one (the one-to-one wrapper, which splits them). Every
// architecture's DotMany and L2SqrMany wrappers share it.
func manyChunked(dst, q, ys []float32, kernel func(dst, q, ys []float32), one func(x, y []float32) float32) {
	d := len(q)
	if d > chunkFloats {
		for i := range dst {
			dst[i] = one(q, ys[i*d:(i+1)*d])
		}
		return
	}
	step := manyRows(d)
	for i := 0; i < len(dst); i += step {
		e := min(i+step, len(dst))
		kernel(dst[i:e], q, ys[i*d:e*d])
	}
}
