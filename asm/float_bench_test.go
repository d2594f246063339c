package asm

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// Benchmarks of the float kernels under every available implementation.
// One-to-one and one-to-many kernels report MB/s of vector data read;
// DotTile reports GFLOP/s, counting 2·nx·ny·d flops per call.

var logCPU sync.Once

func forEachFloatImplBench(b *testing.B, f func(b *testing.B)) {
	forEachImpl(b, FloatImplementation, func(b *testing.B) {
		logCPU.Do(func() {
			b.Logf("CPU: %s, %d logical cores, features: AVX2=%v FMA3=%v AVX512F=%v AVX512VL=%v ASIMD=%v",
				cpuid.CPU.BrandName, cpuid.CPU.LogicalCores, cpuid.CPU.Has(cpuid.AVX2), cpuid.CPU.Has(cpuid.FMA3),
				cpuid.CPU.Has(cpuid.AVX512F), cpuid.CPU.Has(cpuid.AVX512VL), cpuid.CPU.Has(cpuid.ASIMD))
		})
		f(b)
	})
}

func benchVec(n int) []float32 {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	return randVec(r, n, plainValue)
}

func BenchmarkDot(b *testing.B) {
	for _, n := range []int{16, 128, 256, 768, 4096} {
		x, y := benchVec(n), benchVec(n + 1)[:n]
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			forEachFloatImplBench(b, func(b *testing.B) {
				b.SetBytes(int64(8 * n))
				var s float32
				for b.Loop() {
					s += Dot(x, y)
				}
				sink32 = s
			})
		})
	}
}

func BenchmarkL2Sqr(b *testing.B) {
	for _, n := range []int{16, 256, 768} {
		x, y := benchVec(n), benchVec(n + 1)[:n]
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			forEachFloatImplBench(b, func(b *testing.B) {
				b.SetBytes(int64(8 * n))
				var s float32
				for b.Loop() {
					s += L2Sqr(x, y)
				}
				sink32 = s
			})
		})
	}
}

var sink32 float32

// manyDims are the query dimensions of the one-to-many benchmarks: PQ
// sub-spaces (8..32) and whole embeddings (128..768). The rows total 1 MiB,
// which stays in L2.
var manyDims = []int{8, 16, 32, 128, 256, 768}

func benchMany(b *testing.B, f func(dst, q, ys []float32)) {
	for _, d := range manyDims {
		n := (256 << 10) / d
		q, ys, dst := benchVec(d), benchVec(n*d), make([]float32, n)
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			forEachFloatImplBench(b, func(b *testing.B) {
				b.SetBytes(int64(4 * n * d))
				for b.Loop() {
					f(dst, q, ys)
				}
				b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds()/1e6, "Mrows/s")
			})
		})
	}
}

func BenchmarkDotMany(b *testing.B)   { benchMany(b, DotMany) }
func BenchmarkL2SqrMany(b *testing.B) { benchMany(b, L2SqrMany) }

// tileShapes are nx × ny × d: k-means assignment and batched exact search
// shapes, a small ny, and reduction lengths that are not multiples of 16.
var tileShapes = [][3]int{
	{256, 1024, 256},
	{1000, 1024, 768},
	{1024, 16, 256},
	{1000, 1024, 100},
	{1000, 256, 784},
	{64, 64, 64},
}

func BenchmarkDotTile(b *testing.B) {
	for _, s := range tileShapes {
		nx, ny, d := s[0], s[1], s[2]
		xs, ys, dst := benchVec(nx*d), benchVec(ny*d), make([]float32, nx*ny)
		b.Run(fmt.Sprintf("%dx%dx%d", nx, ny, d), func(b *testing.B) {
			forEachFloatImplBench(b, func(b *testing.B) {
				for b.Loop() {
					DotTile(dst, xs, ys, d)
				}
				b.ReportMetric(2*float64(nx*ny*d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
	}
}
