//go:build !purego

package asm

import "testing"

// BenchmarkFMAPeak measures one core's peak FMA throughput: a loop of 12
// independent vector FMAs, 2 flops per lane. The DotTile benchmarks are
// judged against it.
func BenchmarkFMAPeak(b *testing.B) {
	const iters = 1 << 16
	if hasAVX2 {
		b.Run("avx2", func(b *testing.B) {
			for b.Loop() {
				fmaPeakAVX2(iters)
			}
			b.ReportMetric(float64(iters*12*8*2)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
	if hasAVX512 {
		b.Run("avx512", func(b *testing.B) {
			for b.Loop() {
				fmaPeakAVX512(iters)
			}
			b.ReportMetric(float64(iters*12*16*2)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
