package main

import (
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kume-ann/kume/npy"
)

// TestSearchFilterAndRadius searches a flat index with -filter-ids,
// -filter-range and -radius and checks the answers against the data.
func TestSearchFilterAndRadius(t *testing.T) {
	dir := t.TempDir()
	const n, d = 100, 4
	rng := rand.New(rand.NewPCG(3, 4))
	base := make([]float32, n*d)
	for i := range base {
		base[i] = float32(rng.NormFloat64())
	}
	bpath := filepath.Join(dir, "base.npy")
	writeNPY(t, bpath, base, d)
	qpath := filepath.Join(dir, "q.npy")
	writeNPY(t, qpath, base[:3*d], d) // queries: the first three stored vectors
	index := filepath.Join(dir, "flat.index")
	mustKume(t, "build", "-factory", "Flat", "-o", index, bpath)

	allowed := []int64{7, 42, 99}
	fpath := filepath.Join(dir, "allow.npy")
	if err := npy.WriteInt64File(fpath, allowed, 3, 1); err != nil {
		t.Fatal(err)
	}
	out := mustKume(t, "search", "-index", index, "-k", "5", "-filter-ids", fpath, qpath)
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		got := 0
		for _, f := range strings.Fields(line)[1:] {
			id, _ := strconv.Atoi(strings.Split(f, ":")[0])
			if id == -1 {
				continue
			}
			got++
			if id != 7 && id != 42 && id != 99 {
				t.Errorf("-filter-ids: query %d returned id %d", i, id)
			}
		}
		if got != 3 {
			t.Errorf("-filter-ids: query %d: %d results, want the 3 allowed: %q", i, got, line)
		}
	}
	out = mustKume(t, "search", "-index", index, "-k", "3", "-filter-range", "10:20", qpath)
	for _, f := range strings.Fields(out) {
		if id, err := strconv.Atoi(strings.Split(f, ":")[0]); err == nil && strings.Contains(f, ":") && (id < 10 || id >= 20) {
			t.Errorf("-filter-range 10:20 returned id %d", id)
		}
	}
	// A radius just above 0: every query finds itself, and only itself.
	out = mustKume(t, "search", "-index", index, "-radius", "1e-9", qpath)
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if want := strconv.Itoa(i) + "\t" + strconv.Itoa(i) + ":0"; line != want {
			t.Errorf("-radius 1e-9: line %q, want %q", line, want)
		}
	}
	// With the range filter the query of id 0 finds nothing.
	out = mustKume(t, "search", "-index", index, "-radius", "1e9", "-filter-range", "50:60", "-lims", filepath.Join(dir, "lims.npy"), "-ids", filepath.Join(dir, "ids.npy"), qpath)
	if out != "" {
		t.Errorf("with -lims, stdout = %q", out)
	}
	lims, _, _, err := npy.ReadInt64(filepath.Join(dir, "lims.npy"))
	if err != nil || len(lims) != 4 || lims[3] != 30 {
		t.Fatalf("lims = %v, %v; want 4 entries ending at 30", lims, err)
	}
	ids, _, _, err := npy.ReadInt64(filepath.Join(dir, "ids.npy"))
	if err != nil || len(ids) != 30 {
		t.Fatalf("ids = %v, %v", ids, err)
	}
	for _, id := range ids {
		if id < 50 || id >= 60 {
			t.Errorf("-radius with -filter-range 50:60 returned id %d", id)
		}
	}
	wantFail(t, 2, []string{"-filter-range \"5\""}, "search", "-index", index, "-filter-range", "5", qpath)
	wantFail(t, 2, []string{"-filter-range \"9:3\"", "empty"}, "search", "-index", index, "-filter-range", "9:3", qpath)
	wantFail(t, 2, []string{"-radius \"x\""}, "search", "-index", index, "-radius", "x", qpath)
	wantFail(t, 2, []string{"-lims needs -radius"}, "search", "-index", index, "-lims", filepath.Join(dir, "l.npy"), qpath)
	wantFail(t, 1, []string{"-filter-ids", "missing.npy"}, "search", "-index", index, "-filter-ids", filepath.Join(dir, "missing.npy"), qpath)
}
