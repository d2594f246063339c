// Package simdtest runs a test under every kernel implementation the CPU
// has, so that the index packages test their assembly paths and their pure-Go
// twins alike (as Go's crypto packages test every implementation).
package simdtest

import (
	"testing"

	"github.com/kume-ann/kume/asm"
)

// ForEach runs f as a subtest once per implementation level present
// (asm.Implementations: "generic" first) and restores the level that was
// selected before. The subtests must not run in parallel with other tests
// that call kernels: the selection is global.
func ForEach(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	orig := asm.Selected()
	defer func() {
		if err := asm.Use(orig); err != nil {
			t.Fatal(err)
		}
	}()
	for _, name := range asm.Implementations() {
		if err := asm.Use(name); err != nil {
			t.Fatal(err)
		}
		t.Run(name, f)
	}
}
