package asm

import "fmt"

// SubTables computes product-quantization distance tables from a query x and
// centroids laid out by sub-space and coordinate: ct[(s*dsub+k)*16+c] is
// coordinate k of centroid c of sub-space s, for len(x)/dsub sub-spaces of
// 16 centroids. With l2 set it writes squared distances,
//
//	dst[s*16+c] = Σ_k (x[s*dsub+k] - ct[(s*dsub+k)*16+c])²,
//
// otherwise inner products Σ_k x[s*dsub+k]·ct[(s*dsub+k)*16+c]. The sum runs
// over k in order, each product and sum rounded to float32 (no fused
// multiply-add), so every implementation gives the same bits.
func SubTables(dst, x, ct []float32, dsub int, l2 bool) {
	if dsub <= 0 || len(x)%dsub != 0 || len(ct) != 16*len(x) || len(dst) != 16*len(x)/dsub {
		panic(fmt.Sprintf("asm.SubTables: %d outputs, %d query floats, %d centroid floats, dsub = %d", len(dst), len(x), len(ct), dsub))
	}
	if len(x) == 0 {
		return
	}
	if l2 {
		tk.l2SubTables(dst, x, ct, dsub)
	} else {
		tk.dotSubTables(dst, x, ct, dsub)
	}
}

func l2SubTablesGeneric(dst, x, ct []float32, dsub int) {
	for s := 0; s < len(dst)/16; s++ {
		out := (*[16]float32)(dst[16*s : 16*s+16])
		*out = [16]float32{}
		for k := s * dsub; k < (s+1)*dsub; k++ {
			col := (*[16]float32)(ct[16*k : 16*k+16])
			for c, v := range col {
				d := x[k] - v
				out[c] += float32(d * d)
			}
		}
	}
}

func dotSubTablesGeneric(dst, x, ct []float32, dsub int) {
	for s := 0; s < len(dst)/16; s++ {
		out := (*[16]float32)(dst[16*s : 16*s+16])
		*out = [16]float32{}
		for k := s * dsub; k < (s+1)*dsub; k++ {
			col := (*[16]float32)(ct[16*k : 16*k+16])
			for c, v := range col {
				out[c] += float32(x[k] * v)
			}
		}
	}
}
