package asm

import (
	"os"
	"testing"
)

// startup records the selection as package initialisation left it, before
// any test changes it.
var startup struct{ level, float, table, lut4 string }

func TestMain(m *testing.M) {
	startup.level, startup.float, startup.table, startup.lut4 = Selected(), FloatImplementation(), TableImplementation(), LUT4Implementation()
	os.Exit(m.Run())
}

// forEachImpl runs f as a subtest (or sub-benchmark) once per distinct
// implementation of a kernel family this CPU can run, as impl names the one
// in use, and restores the selection afterwards.
func forEachImpl[T interface {
	testing.TB
	Run(string, func(T)) bool
}](t T, impl func() string, f func(T)) {
	t.Helper()
	orig := Selected()
	defer func() {
		if err := Use(orig); err != nil {
			t.Fatal(err)
		}
	}()
	seen := map[string]bool{}
	for _, name := range Implementations() {
		if err := Use(name); err != nil {
			t.Fatal(err)
		}
		if n := impl(); !seen[n] {
			seen[n] = true
			t.Run(n, f)
		}
	}
}

// forEachFloatImpl runs f under every float kernel implementation.
func forEachFloatImpl(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	forEachImpl(t, FloatImplementation, f)
}

// forEachTableImpl runs f under every table kernel implementation.
func forEachTableImpl(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	forEachImpl(t, TableImplementation, f)
}

// forEachLUT4Impl runs f under every LUT scan implementation.
func forEachLUT4Impl(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	forEachImpl(t, LUT4Implementation, f)
}

// forEachLUT4MultiImpl runs f under every multi-query LUT scan
// implementation: a level whose single-query kernel has no multi-query twin
// runs a lower level's multi-query kernel.
func forEachLUT4MultiImpl(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	forEachImpl(t, LUT4MultiImplementation, f)
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
	var fn, tn, ln []string
	var fa, ta, la []bool
	for _, f := range floatImpls {
		fn, fa = append(fn, f.name), append(fa, f.available)
	}
	for _, f := range tableImpls {
		tn, ta = append(tn, f.name), append(ta, f.available)
	}
	for _, l := range lut4Impls {
		ln, la = append(ln, l.name), append(la, l.available)
	}
	if w := bestAt(startup.level, fn, fa); startup.float != w {
		t.Errorf("start-up float kernels %q, want %q", startup.float, w)
	}
	if w := bestAt(startup.level, tn, ta); startup.table != w {
		t.Errorf("start-up table kernels %q, want %q", startup.table, w)
	}
	if w := bestAt(startup.level, ln, la); startup.lut4 != w {
		t.Errorf("start-up LUT scan %q, want %q", startup.lut4, w)
	}
}
