package metric

import "math"

// NormalizeL2 scales each d-dimensional row of x, in place, to unit L2 norm.
// Rows whose norm is zero are left as they are (all zeros), so no NaN is
// produced. The norm is accumulated in float64 so that very large and very
// small components do not overflow or underflow.
func NormalizeL2(x []float32, d int) {
	if d <= 0 {
		return
	}
	for i := 0; i+d <= len(x); i += d {
		row := x[i : i+d]
		var s float64
		for _, v := range row {
			s += float64(v) * float64(v)
		}
		if s == 0 || math.IsInf(s, 0) || math.IsNaN(s) {
			continue
		}
		inv := 1 / math.Sqrt(s)
		for j, v := range row {
			row[j] = float32(float64(v) * inv)
		}
	}
}
