package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkLUT4Scan reports nanoseconds per code scanned for one query, for
// M = 32, 64 and 128 sub-quantizers, over 64-block batches (the size the
// fast-scan search calls it with) of a 1M-code buffer, and ("cached") of one
// 64-block batch scanned again and again, which stays in the L1/L2 caches.
func BenchmarkLUT4Scan(b *testing.B) {
	for _, c := range []struct {
		prefix string
		codes  int
	}{{"", 1 << 20}, {"cached/", 64 * BlockSize}} {
		benchLUT4Scan(b, c.prefix, c.codes)
	}
}

func benchLUT4Scan(b *testing.B, prefix string, codes int) {
	for _, m2 := range []int{32, 64, 128} {
		r := rand.New(rand.NewPCG(1, 1))
		nb := codes / BlockSize
		packed, lut := randomLUT4Input(r, nb, m2, false)
		for _, name := range Implementations() {
			b.Run(fmt.Sprintf("%sM=%d/%s", prefix, m2, name), func(b *testing.B) {
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
				b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/float64(codes), "ns/code")
			})
		}
	}
}

// BenchmarkLUT4ScanMulti reports nanoseconds per code and per query for
// LUT4ScanMulti ("multi") and for the same work done by nq LUT4Scan calls
// ("single"), for M = 32, 64 and 128 sub-quantizers and nq = 1, 4 and 16
// queries. Both walk their buffer in 64-block batches as the fast-scan search
// does, scanning each batch for all queries before the next: buf=64blocks is
// one cache-resident batch, buf=1M a 1M-code buffer read from memory.
func BenchmarkLUT4ScanMulti(b *testing.B) {
	const batch = 64
	for _, buf := range []struct {
		name   string
		blocks int
	}{{"64blocks", batch}, {"1M", 1 << 20 / BlockSize}} {
		for _, m2 := range []int{32, 64, 128} {
			r := rand.New(rand.NewPCG(1, 1))
			nb := buf.blocks
			packed, _ := randomLUT4Input(r, nb, m2, false)
			bb := 16 * m2
			for _, nq := range []int{1, 4, 16} {
				_, luts := randomLUT4MultiInput(r, nq, 0, m2, false)
				thr := lut4MultiThresholds(r, nq, m2)[5]
				sums, masks := make([]uint16, nq*batch*BlockSize), make([]uint32, nq*batch)
				for _, name := range Implementations() {
					for _, mode := range []string{"multi", "single"} {
						b.Run(fmt.Sprintf("buf=%s/M=%d/nq=%d/%s/%s", buf.name, m2, nq, name, mode), func(b *testing.B) {
							orig := Selected()
							defer Use(orig)
							if err := Use(name); err != nil {
								b.Fatal(err)
							}
							b.SetBytes(int64(len(packed)))
							for b.Loop() {
								for b0 := 0; b0 < nb; b0 += batch {
									codes := packed[b0*bb : (b0+batch)*bb]
									if mode == "multi" {
										LUT4ScanMulti(sums, masks, codes, m2, luts, thr)
										continue
									}
									for q := 0; q < nq; q++ {
										LUT4Scan(sums[q*batch*BlockSize:(q+1)*batch*BlockSize], masks[q*batch:(q+1)*batch],
											codes, m2, luts[q*bb:(q+1)*bb], thr[q])
									}
								}
							}
							b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/float64(nb*BlockSize*nq), "ns/code/query")
						})
					}
				}
			}
		}
	}
}
