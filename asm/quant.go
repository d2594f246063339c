package asm

import "fmt"

// RowRanges writes the smallest and largest of each row of 16 values of t:
// lo[r] = min(t[16r:16r+16]), hi[r] = max(t[16r:16r+16]), for len(lo) rows.
// The values must be finite (the look-up tables of product quantization).
// With lo and hi the caller picks the scale of QuantizeRows.
func RowRanges(lo, hi, t []float32) {
	if len(hi) != len(lo) || len(t) != 16*len(lo) {
		panic(fmt.Sprintf("asm.RowRanges: %d and %d outputs for %d values", len(lo), len(hi), len(t)))
	}
	if len(lo) == 0 {
		return
	}
	tk.rowRanges(lo, hi, t)
}

// QuantizeRows turns rows of 16 float values into bytes with one scale a and
// an offset per row: for row r and column c,
//
//	dst[16r+c] = trunc(float32((t[16r+c] - lo[r]) * a) + 0.5)
//
// computed in float32 with each operation rounded (no fused multiply-add),
// which is the nearest step of 1/a above the row's offset. The caller
// guarantees 0 <= (t - lo) * a <= 255 (lo[r] the row's minimum, a at most 255
// over the row's span), so the result fits a byte.
func QuantizeRows(dst []byte, t, lo []float32, a float32) {
	if len(t) != 16*len(lo) || len(dst) != len(t) {
		panic(fmt.Sprintf("asm.QuantizeRows: %d bytes, %d values, %d offsets", len(dst), len(t), len(lo)))
	}
	if len(lo) == 0 {
		return
	}
	tk.quantizeRows(dst, t, lo, a)
}

func rowRangesGeneric(lo, hi, t []float32) {
	for r := range lo {
		row := (*[16]float32)(t[16*r : 16*r+16])
		l, h := row[0], row[0]
		for _, v := range row[1:] {
			if v < l {
				l = v
			}
			if v > h {
				h = v
			}
		}
		lo[r], hi[r] = l, h
	}
}

func quantizeRowsGeneric(dst []byte, t, lo []float32, a float32) {
	for r, l := range lo {
		row := (*[16]float32)(t[16*r : 16*r+16])
		out := (*[16]byte)(dst[16*r : 16*r+16])
		for c, v := range row {
			out[c] = byte(int32(float32((v-l)*a) + 0.5))
		}
	}
}
