//go:build purego || !(amd64 || arm64)

package asm

// prefetch does nothing without assembly.
func prefetch(p []float32) {}

// prefetchL2 does nothing without assembly.
func prefetchL2(p []float32) {}
