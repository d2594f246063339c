package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kume-ann/kume/bench"
	"github.com/kume-ann/kume/internal/pyfaiss"
	"github.com/kume-ann/kume/npy"
)

// rvcFolder writes an experiment folder with a 3_feature768 folder of
// files files of rows frames each and returns its path.
func rvcFolder(t *testing.T, files, rows int) string {
	t.Helper()
	exp := filepath.Join(t.TempDir(), "singer")
	feat := filepath.Join(exp, "3_feature768")
	if err := os.MkdirAll(feat, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for f := 0; f < files; f++ {
		x := make([]float32, rows*768)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		if err := npy.WriteFile(filepath.Join(feat, fmt.Sprintf("%d_0.npy", f)), x, rows, 768); err != nil {
			t.Fatal(err)
		}
	}
	return exp
}

func TestRVCCommands(t *testing.T) {
	exp := rvcFolder(t, 4, 300)
	out := mustKume(t, "rvc", "info", exp)
	for _, want := range []string{"3_feature768 (v2): 4 files, 1200 rows of 768-d; n_ivf 30", "indexes   none"} {
		if !strings.Contains(out, want) {
			t.Errorf("rvc info: %q lacks %q", out, want)
		}
	}
	code, out, errOut := runKume(t, "rvc", "train-index", "-seed", "7", exp)
	if code != 0 {
		t.Fatalf("train-index: %d %s", code, errOut)
	}
	for _, want := range []string{"1200 rows of 768-d (v2, rvc layout)", "1200 before reduction, 1200 after", "n_ivf     30", "added_IVF30_Flat_nprobe_1_singer_v2.index", "time "} {
		if !strings.Contains(out, want) {
			t.Errorf("train-index output %q lacks %q", out, want)
		}
	}
	// Not a terminal: progress comes as lines.
	if !strings.Contains(errOut, "adding 1200 rows: 1200/1200 (100%)") {
		t.Errorf("train-index progress lines: %q", errOut)
	}
	out = mustKume(t, "rvc", "info", exp)
	if !strings.Contains(out, "added_IVF30_Flat_nprobe_1_singer_v2.index: IVF30,Flat, 1200 vectors of 768-d, 30 lists, nprobe 1") {
		t.Errorf("rvc info after training: %s", out)
	}

	// Blend frames (half precision, as RVC's features may be).
	frames := make([]float32, 50*768)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range frames {
		frames[i] = float32(rng.NormFloat64())
	}
	fp := filepath.Join(exp, "frames.npy")
	if err := npy.WriteFile(fp, frames, 50, 768); err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(exp, "added_IVF30_Flat_nprobe_1_singer_v2.index")
	res := filepath.Join(exp, "out.npy")
	out = mustKume(t, "rvc", "blend", "-index", index, "-rate", "0.6", fp, "-o", res)
	if !strings.Contains(out, "blended 50 frames of 768-d with 8 neighbours each from 1200 stored") {
		t.Errorf("blend output: %s", out)
	}
	m, err := npy.ReadFile(res, nil)
	if err != nil || m.Rows != 50 || m.Cols != 768 {
		t.Fatalf("out.npy: %v", err)
	}

	// Bad calls and bad folders.
	bad := t.TempDir()
	os.MkdirAll(filepath.Join(bad, "empty", "3_feature256"), 0o755)
	os.MkdirAll(filepath.Join(bad, "mixed", "3_feature256"), 0o755)
	npy.WriteFile(filepath.Join(bad, "mixed", "3_feature256", "a.npy"), make([]float32, 256), 1, 256)
	npy.WriteFile(filepath.Join(bad, "mixed", "3_feature256", "b.npy"), make([]float32, 100), 1, 100)
	os.MkdirAll(filepath.Join(bad, "ints", "3_feature256"), 0o755)
	npy.WriteInt64File(filepath.Join(bad, "ints", "3_feature256", "a.npy"), make([]int64, 256), 1, 256)
	wantFail(t, 1, []string{"no such file"}, "rvc", "train-index", filepath.Join(bad, "missing"))
	wantFail(t, 1, []string{"no 3_feature256 (v1) or 3_feature768 (v2) folder"}, "rvc", "train-index", t.TempDir())
	wantFail(t, 1, []string{"no .npy files"}, "rvc", "train-index", filepath.Join(bad, "empty"))
	wantFail(t, 1, []string{"b.npy", "100-dimensional vectors, but a.npy has 256"}, "rvc", "train-index", filepath.Join(bad, "mixed"))
	wantFail(t, 1, []string{"a.npy", "holds integers, not float vectors"}, "rvc", "train-index", filepath.Join(bad, "ints"))
	os.MkdirAll(filepath.Join(bad, "garbage", "3_feature256"), 0o755)
	os.WriteFile(filepath.Join(bad, "garbage", "3_feature256", "0.npy"), []byte("not an array"), 0o644)
	wantFail(t, 1, []string{"0.npy", "bad .npy file", "no \\x93NUMPY magic"}, "rvc", "train-index", filepath.Join(bad, "garbage"))
	os.MkdirAll(filepath.Join(bad, "applio-mixed", "extracted"), 0o755)
	npy.WriteFile(filepath.Join(bad, "applio-mixed", "extracted", "a.npy"), make([]float32, 768), 1, 768)
	npy.WriteFile(filepath.Join(bad, "applio-mixed", "extracted", "b.npy"), make([]float32, 256), 1, 256)
	wantFail(t, 1, []string{"b.npy", "256-dimensional vectors, but a.npy has 768"}, "rvc", "train-index", filepath.Join(bad, "applio-mixed"))
	os.MkdirAll(filepath.Join(bad, "applio-empty", "extracted"), 0o755)
	wantFail(t, 1, []string{"extracted", "no .npy files"}, "rvc", "train-index", filepath.Join(bad, "applio-empty"))
	wantFail(t, 1, []string{"no extracted folder (Applio's layout)"}, "rvc", "train-index", "-layout", "applio", exp)
	wantFail(t, 2, []string{"-layout \"x\""}, "rvc", "train-index", "-layout", "x", exp)
	wantFail(t, 1, []string{"no 3_feature256 folder for an RVC v1 model"}, "rvc", "train-index", "-version", "v1", exp)
	wantFail(t, 2, []string{"-version \"v9\""}, "rvc", "train-index", "-version", "v9", exp)
	wantFail(t, 2, []string{"want one experiment folder"}, "rvc", "train-index")
	wantFail(t, 2, []string{"-rate 2"}, "rvc", "blend", "-index", index, "-rate", "2", fp, "-o", res)
	wantFail(t, 2, []string{"-index FILE is required"}, "rvc", "blend", fp, "-o", res)
	wantFail(t, 2, []string{"unknown rvc command"}, "rvc", "nope")
	q256 := filepath.Join(bad, "q256.npy")
	npy.WriteFile(q256, make([]float32, 256), 1, 256)
	wantFail(t, 1, []string{"256-dimensional frames", "768-dimensional"}, "rvc", "blend", "-index", index, q256, "-o", res)

	// Applio's layout: extracted, one NAME.index.
	app := filepath.Join(t.TempDir(), "diva")
	if err := os.Rename(filepath.Join(exp, "3_feature768"), filepath.Join(app+"-src")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(app, 0o755)
	if err := os.Rename(app+"-src", filepath.Join(app, "extracted")); err != nil {
		t.Fatal(err)
	}
	out = mustKume(t, "rvc", "info", app)
	if !strings.Contains(out, "features  extracted (Applio v2): 4 files, 1200 rows of 768-d; n_ivf 30") {
		t.Errorf("rvc info of an Applio folder: %s", out)
	}
	out = mustKume(t, "rvc", "train-index", app)
	for _, want := range []string{"features  extracted: 4 files, 1200 rows of 768-d (v2, applio layout)", "n_ivf     30", "wrote     " + filepath.Join(app, "diva.index") + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("train-index of an Applio folder: %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "trained_") {
		t.Errorf("train-index wrote a trained_ file in Applio's layout: %s", out)
	}
	if !strings.Contains(mustKume(t, "rvc", "info", app), "diva.index: IVF30,Flat, 1200 vectors of 768-d, 30 lists, nprobe 1") {
		t.Errorf("rvc info does not list diva.index")
	}

	// RVC's Python loads the files and its retrieval gives the same blend.
	pyfaiss.Require(t)
	script := `
import faiss, numpy as np, sys
index = faiss.read_index(sys.argv[1])
assert faiss.extract_index_ivf(index).nprobe == 1
big_npy = index.reconstruct_n(0, index.ntotal)
npy = np.load(sys.argv[2])
score, ix = index.search(npy, k=8)
weight = np.square(1 / score)
weight /= weight.sum(axis=1, keepdims=True)
want = np.sum(big_npy[ix] * np.expand_dims(weight, axis=2), axis=1) * 0.6 + (1 - 0.6) * npy
got = np.load(sys.argv[3])
scale = np.abs(want).max(axis=1, keepdims=True)
print(int((np.abs(got - want) <= 1e-5 * np.maximum(np.abs(want), scale)).all(axis=1).sum()))
`
	n := strings.TrimSpace(string(pyfaiss.Run(t, script, index, fp, res)))
	if n != "50" && n != "49" {
		t.Errorf("RVC's formula on FAISS's search agrees with kume rvc blend on %s of 50 frames", n)
	}
}

// TestRVCFeatures writes a generated speech-shaped set as a feature folder,
// checks its files hold the data set's base rows in order, and trains an
// index on it with a CPU profile.
func TestRVCFeatures(t *testing.T) {
	exp := filepath.Join(t.TempDir(), "speech")
	qpath := filepath.Join(t.TempDir(), "q.npy")
	out := mustKume(t, "rvc", "features", "-data", "synth256:n=1030,nq=5", "-files", "10", "-queries", qpath, exp)
	if !strings.Contains(out, "1030 rows of 256-d (v1) in 10 files of 103 rows") || !strings.Contains(out, "5 queries; wrote") {
		t.Errorf("rvc features: %s", out)
	}
	ds, err := bench.Load(context.Background(), "synth256:n=1030,nq=5", bench.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := npy.ReadDir(filepath.Join(exp, "3_feature256"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 1030 || m.Cols != 256 || !slices.Equal(m.Data, ds.Base) {
		t.Fatalf("feature folder holds %d x %d, not the data set's base rows", m.Rows, m.Cols)
	}
	if q, err := npy.ReadFile(qpath, nil); err != nil || q.Rows != 5 || !slices.Equal(q.Data, ds.Queries) {
		t.Errorf("queries file: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(exp, "3_feature256"))
	if len(entries) != 10 {
		t.Errorf("%d files, want 10", len(entries))
	}
	prof := filepath.Join(exp, "cpu.prof")
	out = mustKume(t, "rvc", "train-index", "-threads", "1", "-cpuprofile", prof, exp)
	if !strings.Contains(out, "1030 rows of 256-d (v1, rvc layout)") {
		t.Errorf("train-index: %s", out)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Errorf("no CPU profile: %v", err)
	}
	wantFail(t, 2, []string{"-data SPEC is required"}, "rvc", "features", exp)
	wantFail(t, 1, []string{"128-d", "256-d (v1) or 768-d (v2)"}, "rvc", "features", "-data", "synth:d=128,n=100,nq=1", exp)
}
