// Package pyfaiss runs small Python scripts against Debian's python3-faiss
// from tests, to compare kume's answers and files with real FAISS. Tests
// that use it skip, with a message, when python3-faiss is not installed.
package pyfaiss

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Python is the interpreter with Debian's faiss and numpy.
const Python = "/usr/bin/python3"

// Require skips t unless python3 with faiss and numpy can be imported.
func Require(t testing.TB) {
	t.Helper()
	out, err := exec.Command(Python, "-c", "import faiss, numpy").CombinedOutput()
	if err != nil {
		t.Skipf("python3-faiss is not available (%v: %s); install python3-faiss and python3-numpy", err, bytes.TrimSpace(out))
	}
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
// runs with one thread so that it behaves the same on every machine.
func Run(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(Python, append([]string{"-c", script}, args...)...)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 failed: %v\n%s", err, stderr.String())
	}
	return out
}
