// Package pyfaiss runs small Python scripts against FAISS's Python module
// from tests, to compare kume's answers and files with real FAISS. Tests
// that use it skip, with a message, when no Python with faiss and numpy is
// found, unless $KUME_REQUIRE_FAISS is set (as CI sets it): then they fail.
//
// The interpreter is $KUME_PYTHON when set, else the first of "python3" on
// $PATH (a virtual environment or conda) and Debian's /usr/bin/python3 that
// imports faiss and numpy.
package pyfaiss

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Python is Debian's system interpreter, where python3-faiss installs. The
// scripts of this package run with Interpreter (or the interpreter
// RequireModules found), which may be another; tests should not run
// Python itself.
const Python = "/usr/bin/python3"

var (
	findOnce sync.Once
	found    string
	notFound string
)

// candidates lists the interpreters to try, in order, without repeats.
func candidates() []string {
	if p := strings.TrimSpace(os.Getenv("KUME_PYTHON")); p != "" {
		return []string{p}
	}
	var out []string
	if p, err := exec.LookPath("python3"); err == nil {
		out = append(out, p)
	}
	if len(out) == 0 || !sameFile(out[0], Python) {
		out = append(out, Python)
	}
	return out
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// find picks the interpreter for faiss and numpy once per test binary.
func find() (string, string) {
	findOnce.Do(func() { found, notFound = search([]string{"faiss", "numpy"}) })
	return found, notFound
}

// search returns the first candidate that imports every module, or "" and
// what each candidate said.
func search(modules []string) (string, string) {
	var tried []string
	for _, p := range candidates() {
		out, err := exec.Command(p, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
		if err == nil {
			return p, ""
		}
		msg := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:] // the exception line of a traceback
		}
		if msg == "" {
			msg = err.Error()
		}
		tried = append(tried, fmt.Sprintf("%s: %s", p, msg))
	}
	return "", strings.Join(tried, "; ")
}

var (
	modulesMu    sync.Mutex
	modulesFound = map[string][2]string{} // modules -> interpreter, reason
)

// RequireModules returns the first interpreter, in Interpreter's order
// ($KUME_PYTHON, python3 on $PATH, /usr/bin/python3), that imports every
// one of modules (such as "sklearn.cluster", "numpy"). Without one it skips
// t with a message saying what each interpreter lacked; with
// $KUME_REQUIRE_FAISS set it fails t instead.
func RequireModules(t testing.TB, modules ...string) string {
	t.Helper()
	key := strings.Join(modules, ",")
	modulesMu.Lock()
	r, ok := modulesFound[key]
	if !ok {
		p, why := search(modules)
		r = [2]string{p, why}
		modulesFound[key] = r
	}
	modulesMu.Unlock()
	if r[0] == "" {
		Unavailable(t, "no Python that imports %s (%s); install the Debian packages (python3-faiss, python3-numpy, python3-sklearn) or set KUME_PYTHON", key, r[1])
	}
	return r[0]
}

// Interpreter returns the interpreter the scripts run with, or "" when
// none imports faiss and numpy.
func Interpreter() string {
	p, _ := find()
	return p
}

// Require skips t unless a Python with faiss and numpy is found; with
// $KUME_REQUIRE_FAISS set it fails t instead.
func Require(t testing.TB) {
	t.Helper()
	if _, why := find(); why != "" {
		Unavailable(t, "no Python with faiss and numpy (%s); install python3-faiss and python3-numpy, or set KUME_PYTHON", why)
	}
}

// Unavailable skips t because something a comparison needs (such as a data
// set) is not installed, with the message given; with $KUME_REQUIRE_FAISS
// set it fails t instead, so that CI cannot pass without running it.
func Unavailable(t testing.TB, format string, a ...any) {
	t.Helper()
	if os.Getenv("KUME_REQUIRE_FAISS") != "" {
		t.Fatalf(format, a...)
	}
	t.Skipf(format, a...)
}

// WriteF32 writes x as raw little-endian float32 into dir/name and returns
// the path. Python reads it with numpy.fromfile(path, dtype="<f4").
func WriteF32(t testing.TB, dir, name string, x []float32) string {
	t.Helper()
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, x); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Run runs script with args and returns its standard output. The script
// runs with one thread so that it behaves the same on every machine. Call
// Require first.
func Run(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	out, err := Output(script, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RunWith runs script with args under the interpreter py (one that
// RequireModules returned), with one thread as Run does, and returns its
// standard output.
func RunWith(t testing.TB, py, script string, args ...string) []byte {
	t.Helper()
	out, err := output(py, script, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Output is Run for use outside the test's goroutine (a script started
// while the test builds kume's side): it returns the error instead of
// failing a test.
func Output(script string, args ...string) ([]byte, error) {
	py, why := find()
	if py == "" {
		return nil, fmt.Errorf("no Python with faiss and numpy (%s)", why)
	}
	return output(py, script, args...)
}

func output(py, script string, args ...string) ([]byte, error) {
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s failed: %v\n%s", py, err, stderr.String())
	}
	return out, nil
}
