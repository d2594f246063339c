//go:build purego || !(amd64 || arm64)

package asm

// prefetch does nothing without assembly.
func prefetch(p []float32) {}
