package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kume-ann/kume/bench"
	"github.com/kume-ann/kume/npy"
)

// TestOutputFiles checks how build and search write their output files:
// errors name the path the user gave (not a temporary file), an existing
// -ids or -dist file is replaced whole (a reader that had the old one open
// keeps reading all of the old bytes, never a truncated or half-written
// file), and the replacement keeps the old file's permissions.
func TestOutputFiles(t *testing.T) {
	dir := t.TempDir()
	const d = 8
	base, queries, err := bench.Synth{N: 300, NQ: 5, D: d, Seed: 9}.Generate(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bp := filepath.Join(dir, "base.npy")
	writeNPY(t, bp, base, d)
	qp := filepath.Join(dir, "queries.npy")
	writeNPY(t, qp, queries, d)

	missing := filepath.Join(dir, "no", "such", "x.index")
	code, _, errOut := runKume(t, "build", "-factory", "Flat", "-o", missing, bp)
	if code == 0 || !strings.Contains(errOut, missing) || strings.Contains(errOut, ".tmp") {
		t.Errorf("build -o into a missing directory: exit %d, stderr %q; want an error naming %s", code, errOut, missing)
	}

	index := filepath.Join(dir, "flat.index")
	mustKume(t, "build", "-factory", "Flat", "-o", index, bp)

	ids, dist := filepath.Join(dir, "ids.npy"), filepath.Join(dir, "dist.npy")
	const old = "the previous results, which a reader has open"
	var readers []*os.File
	for _, p := range []string{ids, dist} {
		if err := os.WriteFile(p, []byte(old), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		readers = append(readers, f)
	}
	mustKume(t, "search", "-index", index, "-k", "4", "-ids", ids, "-dist", dist, qp)
	for i, p := range []string{ids, dist} {
		b, err := io.ReadAll(readers[i])
		if err != nil || string(b) != old {
			t.Errorf("%s: a reader of the old file read %q (%v); the file was rewritten in place", p, b, err)
		}
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v after search, want the old file's 0600 (%v)", p, st.Mode().Perm(), err)
		}
	}
	got, nq, k, err := npy.ReadInt64(ids)
	if err != nil || nq != 5 || k != 4 {
		t.Fatalf("ids.npy: %d x %d, %v", nq, k, err)
	}
	if got[0] < 0 {
		t.Errorf("first result id %d", got[0])
	}
	if m, err := npy.ReadFile(dist, nil); err != nil || m.Rows != 5 || m.Cols != 4 {
		t.Fatalf("dist.npy: %v", err)
	}
}
