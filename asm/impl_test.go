package asm

import (
	"os"
	"testing"
)

// startup records the selection as package initialisation left it, before
// any test changes it.
var startup struct{ level, float, lut4 string }

func TestMain(m *testing.M) {
	startup.level, startup.float, startup.lut4 = Selected(), FloatImplementation(), LUT4Implementation()
	os.Exit(m.Run())
}

// bestAt returns the highest-ranked name in impls at or below level.
func bestAt(level string, names []string, available []bool) string {
	best := "generic"
	for i, n := range names {
		if available[i] && levelRank[n] <= levelRank[level] && levelRank[n] > levelRank[best] {
			best = n
		}
	}
	return best
}

// TestStartupSelection checks that, whatever order the registering files'
// init functions ran in, start-up selected the fastest level and, within it,
// the fastest kernel of each family.
func TestStartupSelection(t *testing.T) {
	impls := Implementations()
	want := impls[len(impls)-1]
	if env := os.Getenv("KUME_SIMD"); env != "" && levelRank[env] < levelRank[want] {
		want = env
	}
	if startup.level != want {
		t.Errorf("start-up level %q, want %q (available %v)", startup.level, want, impls)
	}
	var fn, ln []string
	var fa, la []bool
	for _, f := range floatImpls {
		fn, fa = append(fn, f.name), append(fa, f.available)
	}
	for _, l := range lut4Impls {
		ln, la = append(ln, l.name), append(la, l.available)
	}
	if w := bestAt(startup.level, fn, fa); startup.float != w {
		t.Errorf("start-up float kernels %q, want %q", startup.float, w)
	}
	if w := bestAt(startup.level, ln, la); startup.lut4 != w {
		t.Errorf("start-up LUT scan %q, want %q", startup.lut4, w)
	}
}
