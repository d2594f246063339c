//go:build ignore

// Levels prints the SIMD implementation levels of kume's kernels that this
// CPU runs, slowest first, one per line (for .ci/run).
package main

import (
	"fmt"

	"github.com/kume-ann/kume/asm"
)

func main() {
	for _, name := range asm.Implementations() {
		fmt.Println(name)
	}
}
