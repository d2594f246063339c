package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/kume-ann/kume/asm"
)

// machineName describes the CPU: its model name where the system says it
// (Linux's /proc/cpuinfo), else the architecture, with the number of
// logical CPUs.
func machineName() string {
	model := ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			k = strings.TrimSpace(k)
			if ok && (k == "model name" || k == "Model" || k == "Hardware") {
				model = strings.Join(strings.Fields(v), " ")
				break
			}
		}
		f.Close()
	}
	if model == "" {
		model = runtime.GOOS + "/" + runtime.GOARCH
	}
	return fmt.Sprintf("%s, %d CPUs", model, runtime.NumCPU())
}

// simdLevel names the kernel implementation level in use (asm.Selected),
// and the levels of kernel families that lack it and run a lower one.
func simdLevel() string {
	sel := asm.Selected()
	var lower []string
	if f := asm.FloatImplementation(); f != sel {
		lower = append(lower, "float kernels "+f)
	}
	if l := asm.LUT4Implementation(); l != sel {
		lower = append(lower, "LUT scan "+l)
	}
	if len(lower) == 0 {
		return sel
	}
	return sel + " (" + strings.Join(lower, ", ") + ")"
}

// plural is n with the word, made plural unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
