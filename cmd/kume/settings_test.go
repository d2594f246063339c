package main

import (
	"strconv"
	"strings"
	"testing"
)

// TestDefaultNListMatchesBuild checks that bench's default strings on files
// use the list count build would (RVC's rule, not rounded), and that only
// the built-in data sets are capped.
func TestDefaultNListMatchesBuild(t *testing.T) {
	for _, n := range []int{100, 3000, 19300, 60000, 200000} {
		s := defaultSettings(n, 256, false)
		want := rvcNList(n)
		if got := s[0].factory; got != "IVF"+strconv.Itoa(want)+",Flat" {
			t.Errorf("N=%d files: %s, want build's IVF%d,Flat", n, got, want)
		}
		if !strings.HasPrefix(s[1].factory, "IVF"+strconv.Itoa(want)+",PQ128x4fs,RFlat") {
			t.Errorf("N=%d files: %s", n, s[1].factory)
		}
		capped := defaultSettings(n, 256, true)[0].factory
		if wantC := "IVF" + strconv.Itoa(min(want, builtinMaxNList)) + ",Flat"; capped != wantC {
			t.Errorf("N=%d built-in: %s, want %s", n, capped, wantC)
		}
	}
	if rvcNList(19300) != 494 {
		t.Errorf("rvcNList(19300) = %d, want 494", rvcNList(19300))
	}
	for spec, want := range map[string]bool{"synth256": true, "synth:d=8,n=10": true, "fashion-mnist:nq=5": true, "sift1m": true, "a.npy,b.npy": false, "feat/": false} {
		if isBuiltin(spec) != want {
			t.Errorf("isBuiltin(%q) = %v", spec, !want)
		}
	}
}

func TestProbeDim(t *testing.T) {
	for s, want := range map[string]int{"Flat": 1, "IVF16,PQ8x4fs": 8, "PQ6x4fs,Refine(PQ4x4fs)": 12, "PQ196x4fs": 196, "PQ1048576x4fs,PQ3x4fs": 0} {
		if got := probeDim(s); got != want {
			t.Errorf("probeDim(%q) = %d, want %d", s, got, want)
		}
	}
}
