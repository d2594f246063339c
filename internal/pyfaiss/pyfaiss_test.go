package pyfaiss

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakePython writes an executable "python3" into dir that exits with the
// given status, printing msg to stderr.
func fakePython(t *testing.T, dir string, status int, msg string) string {
	t.Helper()
	p := filepath.Join(dir, "python3")
	script := "#!/bin/sh\necho '" + msg + "' >&2\nexit " + string(rune('0'+status)) + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func reset() {
	findOnce = sync.Once{}
	found, notFound = "", ""
	modulesMu.Lock()
	clear(modulesFound)
	modulesMu.Unlock()
}

func TestFindPrefersPathThenSystem(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("needs /bin/sh")
	}
	defer reset()

	// A python3 on $PATH that has faiss is chosen before Debian's.
	good := fakePython(t, t.TempDir(), 0, "")
	t.Setenv("KUME_PYTHON", "")
	t.Setenv("PATH", filepath.Dir(good))
	reset()
	if got := Interpreter(); got != good {
		t.Errorf("Interpreter() = %q, want the python3 on PATH %q", got, good)
	}
	if c := candidates(); len(c) != 2 || c[0] != good || c[1] != Python {
		t.Errorf("candidates = %v, want [%s %s]", c, good, Python)
	}

	// One without faiss is passed over, and the reason names each
	// interpreter tried once.
	bad := fakePython(t, t.TempDir(), 1, "ModuleNotFoundError: No module named 'faiss'")
	t.Setenv("PATH", filepath.Dir(bad))
	reset()
	got, why := find()
	if _, err := os.Stat(Python); err != nil && got != "" {
		t.Errorf("found %q with no usable interpreter", got)
	}
	if got == "" {
		if strings.Count(why, bad) != 1 || !strings.Contains(why, "No module named 'faiss'") {
			t.Errorf("reason %q does not name %s and its error once", why, bad)
		}
	} else if got != Python {
		t.Errorf("found %q, want the system interpreter after %s failed", got, bad)
	}

	// $KUME_PYTHON is the only one tried when set.
	t.Setenv("KUME_PYTHON", good)
	t.Setenv("PATH", filepath.Dir(bad))
	reset()
	if c := candidates(); len(c) != 1 || c[0] != good {
		t.Errorf("candidates with KUME_PYTHON = %v", c)
	}
	if got := Interpreter(); got != good {
		t.Errorf("Interpreter() with KUME_PYTHON = %q, want %q", got, good)
	}
}

func TestOutputWithoutPython(t *testing.T) {
	defer reset()
	t.Setenv("KUME_PYTHON", filepath.Join(t.TempDir(), "missing"))
	reset()
	if _, err := Output("print(1)"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Output with no interpreter: %v", err)
	}
}

// recorder is a testing.TB that records a skip or a failure instead of
// ending the test (so code after the call still runs).
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, a ...any) {
	r.skipped = fmt.Sprintf(format, a...)
}
func (r *recorder) Fatalf(format string, a ...any) {
	r.failed = fmt.Sprintf(format, a...)
}

func TestRequireModules(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("needs /bin/sh")
	}
	defer reset()
	// An interpreter that lacks a module: skipped, saying which and why.
	bad := fakePython(t, t.TempDir(), 1, "ModuleNotFoundError: No module named sklearn")
	t.Setenv("KUME_PYTHON", bad)
	t.Setenv("KUME_REQUIRE_FAISS", "")
	reset()
	r := &recorder{TB: t}
	if got := RequireModules(r, "sklearn.cluster", "numpy"); got != "" {
		t.Errorf("RequireModules found %q", got)
	}
	if !strings.Contains(r.skipped, "sklearn.cluster,numpy") || !strings.Contains(r.skipped, bad) || !strings.Contains(r.skipped, "No module named sklearn") || r.failed != "" {
		t.Errorf("skip message %q (failure %q) does not name the modules, the interpreter and its error", r.skipped, r.failed)
	}
	// The same under KUME_REQUIRE_FAISS is a failure.
	t.Setenv("KUME_REQUIRE_FAISS", "1")
	r = &recorder{TB: t}
	RequireModules(r, "sklearn.cluster", "numpy")
	if r.failed == "" {
		t.Errorf("with KUME_REQUIRE_FAISS: not failed (skipped %q); want a failure", r.skipped)
	}
	// One that imports them is returned, and runs scripts.
	good := fakePython(t, t.TempDir(), 0, "")
	t.Setenv("KUME_PYTHON", good)
	reset()
	r = &recorder{TB: t}
	if got := RequireModules(r, "sklearn.cluster", "numpy"); got != good || r.skipped != "" || r.failed != "" {
		t.Errorf("RequireModules = %q (skipped %q, failed %q), want %s", got, r.skipped, r.failed, good)
	}
	if out := RunWith(t, good, "print(1)"); len(out) != 0 {
		t.Errorf("the fake interpreter printed %q to stdout", out)
	}
}
