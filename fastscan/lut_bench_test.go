package fastscan

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkQuantize measures the per-query table quantization of the IVF
// (shared table, one bias per probe) and flat rules.
func BenchmarkQuantize(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, m := range []int{32, 128} {
		table := make([]float32, m*16)
		for i := range table {
			table[i] = rng.Float32() * 10
		}
		bias := make([]float32, 16)
		lut := make([]byte, M2(m)*16)
		biasq := make([]uint16, 16)
		st := NewScanner()
		b.Run(fmt.Sprintf("shared/M=%d", m), func(b *testing.B) {
			for b.Loop() {
				st.QuantizeShared(lut, biasq, table, bias, m)
			}
		})
		b.Run(fmt.Sprintf("flat/M=%d", m), func(b *testing.B) {
			for b.Loop() {
				st.QuantizeTables(lut, nil, table, nil, 1, m, true)
			}
		})
	}
}
