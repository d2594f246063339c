// Package asm holds kume's hot kernels: float32 distances (one-to-one,
// one-to-many, a tiled many-to-many kernel, and Dot32 for the 32-float rows
// of the bounds), the 4-bit look-up-table scan at the heart of PQ fast scan
// (one query, or several per block load), the building and quantization of
// its tables, the quick test of the exact collectors (L2Candidates), and
// prefetch hints (into every cache level, or from the second down).
//
// Implementations: AVX2 and AVX-512 on amd64, NEON on arm64. On arm64 the
// multi-query scan runs the NEON single-query kernel once per query over
// cache-sized runs of blocks, Dot32 the one-to-one NEON kernel, and the
// table kernels run their Go twins; on amd64 the AVX-512 level uses the
// AVX2 multi-query, table and Dot32 kernels.
//
// Every kernel has a pure-Go twin (the "generic" implementation) that gives
// the same answer: bit for bit for the integer kernels and the table
// kernels, within float rounding for the float distance kernels. The fastest
// implementation the CPU supports is chosen once, at start-up. The purego
// build tag compiles the twins only.
//
// The chosen implementation can be read with Selected and lowered with Use,
// for tests and for machines where wide vectors slow the clock down. The
// KUME_SIMD environment variable (generic, avx2, avx512, neon) sets the
// highest implementation allowed at start-up.
//
// The exported functions check their arguments' lengths and panic on a
// mismatch: they are building blocks for kume's own packages, which validate
// user input before calling them.
package asm
