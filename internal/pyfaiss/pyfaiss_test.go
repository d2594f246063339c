package pyfaiss

import (
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
