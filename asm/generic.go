package asm

// The pure-Go twins. They are compiled on every architecture and build tag:
// they are the reference the assembly is tested against, and the kernels the
// purego build runs.

var genericFloat = floatKernels{
	dot:     dotGeneric,
	l2Sqr:   l2SqrGeneric,
	dotMany: dotManyGeneric,
	l2Many:  l2ManyGeneric,
	dotTile: dotTileGeneric,

	minValue:   minValueGeneric,
	firstEqual: firstEqualGeneric,
	atMost:     atMostGeneric,
	sub:        subGeneric,
	anyAtLeast: anyAtLeastGeneric,
	dot32:      dot32Generic,
}

var genericTables = tableKernels{
	rowRanges:    rowRangesGeneric,
	quantizeRows: quantizeRowsGeneric,
	l2SubTables:  l2SubTablesGeneric,
	dotSubTables: dotSubTablesGeneric,
	l2Candidates: l2CandidatesGeneric,
}

var genericLUT4 = lut4Kernels{scan: lut4ScanGeneric, scanMulti: lut4ScanMultiGeneric}

func dot32Generic(x, y *[32]float32) float32 { return dotGeneric(x[:], y[:]) }

func dotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func l2SqrGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d0 := x[i] - y[i]
		d1 := x[i+1] - y[i+1]
		d2 := x[i+2] - y[i+2]
		d3 := x[i+3] - y[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := x[i] - y[i]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

func dotManyGeneric(dst, q, ys []float32) {
	d := len(q)
	for i := range dst {
		dst[i] = dotGeneric(q, ys[i*d:(i+1)*d])
	}
}

func l2ManyGeneric(dst, q, ys []float32) {
	d := len(q)
	for i := range dst {
		dst[i] = l2SqrGeneric(q, ys[i*d:(i+1)*d])
	}
}

func dotTileGeneric(dst, xs, ys []float32, d int) {
	nx, ny := len(xs)/d, len(ys)/d
	for i := 0; i < nx; i++ {
		dotManyGeneric(dst[i*ny:(i+1)*ny], xs[i*d:(i+1)*d], ys)
	}
}

func lut4ScanGeneric(sums []uint16, masks []uint32, codes []byte, m2 int, lut []byte, threshold uint16) {
	blockBytes := 16 * m2
	for b := range masks {
		block := codes[b*blockBytes : (b+1)*blockBytes]
		out := sums[b*BlockSize : (b+1)*BlockSize]
		var acc [BlockSize]uint16
		for p := 0; p < m2/2; p++ {
			group := block[32*p : 32*p+32]
			for half := 0; half < 2; half++ {
				table := lut[(2*p+half)*16 : (2*p+half)*16+16]
				bytes := group[16*half : 16*half+16]
				// Byte 2i holds vectors i (low nibble) and i+16 (high);
				// byte 2i+1 holds vectors i+8 and i+24.
				for i := 0; i < 8; i++ {
					lo, hi := bytes[2*i], bytes[2*i+1]
					acc[i] += uint16(table[lo&15])
					acc[i+16] += uint16(table[lo>>4])
					acc[i+8] += uint16(table[hi&15])
					acc[i+24] += uint16(table[hi>>4])
				}
			}
		}
		var mask uint32
		for v, s := range acc {
			out[v] = s
			if s < threshold {
				mask |= 1 << v
			}
		}
		masks[b] = mask
	}
}

// lut4ScanMultiGeneric scans the blocks once per query: query q's results are
// those of lut4ScanGeneric with its table and threshold.
func lut4ScanMultiGeneric(sums []uint16, masks []uint32, codes []byte, m2 int, luts []byte, thresholds []uint16) {
	nq := len(thresholds)
	nb := len(masks) / nq
	tableBytes := 16 * m2
	for q, thr := range thresholds {
		lut4ScanGeneric(sums[q*nb*BlockSize:(q+1)*nb*BlockSize], masks[q*nb:(q+1)*nb],
			codes, m2, luts[q*tableBytes:(q+1)*tableBytes], thr)
	}
}
