// Package asm holds kume's hot kernels: float32 distances (one-to-one,
// one-to-many, and a tiled many-to-many kernel) and the 4-bit look-up-table
// scan at the heart of PQ fast scan.
//
// Every kernel has a pure-Go twin (the "generic" implementation) that gives
// the same answer: bit for bit for the integer kernels, within float rounding
// for the float kernels. The fastest implementation the CPU supports is chosen
// once, at start-up. The purego build tag compiles the twins only.
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
