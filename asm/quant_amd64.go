//go:build !purego

package asm

// rowRangesAVX2 is RowRanges for rows >= 1 (quant_avx2_amd64.s).
//
//go:noescape
func rowRangesAVX2(lo, hi, t *float32, rows int)

// quantizeRowsAVX2 is QuantizeRows for rows >= 1 (quant_avx2_amd64.s).
//
//go:noescape
func quantizeRowsAVX2(dst *byte, t, lo *float32, rows int, a float32)

func rowRangesAVX2Go(lo, hi, t []float32) { rowRangesAVX2(&lo[0], &hi[0], &t[0], len(lo)) }

func quantizeRowsAVX2Go(dst []byte, t, lo []float32, a float32) {
	quantizeRowsAVX2(&dst[0], &t[0], &lo[0], len(lo), a)
}

// l2SubTablesAVX2 and dotSubTablesAVX2 are SubTables for nsub >= 1 sub-spaces
// (subtables_avx2_amd64.s).
//
//go:noescape
func l2SubTablesAVX2(dst, x, ct *float32, nsub, dsub int)

//go:noescape
func dotSubTablesAVX2(dst, x, ct *float32, nsub, dsub int)

func l2SubTablesAVX2Go(dst, x, ct []float32, dsub int) {
	l2SubTablesAVX2(&dst[0], &x[0], &ct[0], len(dst)/16, dsub)
}

func dotSubTablesAVX2Go(dst, x, ct []float32, dsub int) {
	dotSubTablesAVX2(&dst[0], &x[0], &ct[0], len(dst)/16, dsub)
}
