package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkLUT4Scan reports nanoseconds per code scanned for one query, for
// M = 32, 64 and 128 sub-quantizers, over 64-block batches (the size the
// fast-scan search calls it with) of a 1M-code buffer.
func BenchmarkLUT4Scan(b *testing.B) {
	const codes = 1 << 20
	for _, m2 := range []int{32, 64, 128} {
		r := rand.New(rand.NewPCG(1, 1))
		nb := codes / BlockSize
		packed, lut := randomLUT4Input(r, nb, m2, false)
		for _, name := range Implementations() {
			b.Run(fmt.Sprintf("M=%d/%s", m2, name), func(b *testing.B) {
				orig := Selected()
				defer Use(orig)
				if err := Use(name); err != nil {
					b.Fatal(err)
				}
				const batch = 64
				sums, masks := make([]uint16, batch*BlockSize), make([]uint32, batch)
				bb := 16 * m2
				b.SetBytes(int64(len(packed)))
				for b.Loop() {
					for b0 := 0; b0 < nb; b0 += batch {
						LUT4Scan(sums, masks, packed[b0*bb:(b0+batch)*bb], m2, lut, 1000)
					}
				}
				b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/codes, "ns/code")
			})
		}
	}
}
