package rvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/faissio"
	"github.com/kume-ann/kume/internal/pyfaiss"
	"github.com/kume-ann/kume/npy"
)

// writeFeatures writes an RVC feature folder of files rows each of d-dim
// features, drawn around a few centres, and returns all rows in name order.
func writeFeatures(t testing.TB, dir string, d int, rows []int, seed uint64) []float32 {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	centres := randn(rng, 20*d)
	var all []float32
	for i, n := range rows {
		x := make([]float32, n*d)
		for r := 0; r < n; r++ {
			c := rng.IntN(20)
			for j := 0; j < d; j++ {
				x[r*d+j] = centres[c*d+j] + 0.5*float32(rng.NormFloat64())
			}
		}
		if err := npy.WriteFile(filepath.Join(dir, fmt.Sprintf("%d_1.npy", i)), x, n, d); err != nil {
			t.Fatal(err)
		}
		all = append(all, x...)
	}
	return all
}

func TestTrainIndex(t *testing.T) {
	exp := filepath.Join(t.TempDir(), "myvoice")
	writeFeatures(t, filepath.Join(exp, "3_feature256"), 256, []int{700, 500, 300}, 1)
	var stages []string
	res, err := TrainIndex(context.Background(), exp, &TrainOptions{Progress: func(stage string, done, total int64) {
		if done == total && (len(stages) == 0 || stages[len(stages)-1] != stage) {
			stages = append(stages, stage)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "v1" || res.Name != "myvoice" || res.Rows != 1500 || res.Trained != 1500 || res.NList != 38 || res.Files != 3 {
		t.Errorf("result %+v", res)
	}
	if want := filepath.Join(exp, "added_IVF38_Flat_nprobe_1_myvoice_v1.index"); res.AddedPath != want {
		t.Errorf("added file %s, want %s", res.AddedPath, want)
	}
	if got := strings.Join(stages, "; "); got != "reading 3_feature256; training IVF38,Flat; adding 1500 rows" {
		t.Errorf("stages: %s", got)
	}
	trained, err := faissio.ReadFile(res.TrainedPath)
	if err != nil || trained.Len() != 0 || !trained.IsTrained() {
		t.Errorf("trained file: %v", err)
	}
	added, err := faissio.ReadFile(res.AddedPath)
	if err != nil || added.Len() != 1500 {
		t.Fatalf("added file: %v", err)
	}
	// The same seed gives the same file; another seed another shuffle.
	first, _ := os.ReadFile(res.AddedPath)
	firstTrained, _ := os.ReadFile(res.TrainedPath)
	if _, err := TrainIndex(context.Background(), exp, nil); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(res.AddedPath)
	if !bytes.Equal(first, again) {
		t.Error("two runs with the default seed wrote different files")
	}
	if _, err := TrainIndex(context.Background(), exp, &TrainOptions{Seed: 77}); err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadFile(res.AddedPath)
	if bytes.Equal(first, other) {
		t.Error("seeds 1234 and 77 wrote the same file")
	}
	// The seed reaches the coarse k-means: the centroids differ too.
	if otherTrained, _ := os.ReadFile(res.TrainedPath); bytes.Equal(firstTrained, otherTrained) {
		t.Error("seeds 1234 and 77 trained the same centroids")
	}
}

func TestTrainIndexReduction(t *testing.T) {
	exp := t.TempDir()
	writeFeatures(t, filepath.Join(exp, "3_feature768"), 768, []int{900, 600}, 2)
	res, err := TrainIndex(context.Background(), exp, &TrainOptions{Name: "r", ReduceAbove: 1000, ReduceTo: 100, SaveTotalFea: true, BatchSize: 128})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "v2" || res.Rows != 1500 || res.Trained != 100 || res.NList != 2 || res.KMeansSteps == 0 {
		t.Errorf("result %+v", res)
	}
	m, err := npy.ReadFile(res.TotalFeaPath, nil)
	if err != nil || m.Rows != 100 || m.Cols != 768 {
		t.Fatalf("total_fea.npy: %v", err)
	}
	r, err := OpenRetriever(res.AddedPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The index holds the centres, as total_fea.npy does (in the same
	// order: ids 0..99).
	for i, v := range r.Vectors() {
		if v != m.Data[i] {
			t.Fatalf("index vector %d differs from total_fea.npy", i/768)
		}
	}
}

// Bad folders are errors that say what is wrong.
func TestTrainIndexBadFolders(t *testing.T) {
	root := t.TempDir()
	mk := func(name string) string {
		p := filepath.Join(root, name)
		os.MkdirAll(p, 0o755)
		return p
	}
	both := mk("both")
	writeFeatures(t, filepath.Join(both, "3_feature256"), 256, []int{50}, 1)
	writeFeatures(t, filepath.Join(both, "3_feature768"), 768, []int{50}, 1)
	empty := mk("empty")
	mk("empty/3_feature768")
	mixed := mk("mixed")
	writeFeatures(t, filepath.Join(mixed, "3_feature256"), 256, []int{50}, 1)
	npy.WriteFile(filepath.Join(mixed, "3_feature256", "9.npy"), make([]float32, 2*128), 2, 128)
	wrongDim := mk("wrongdim")
	writeFeatures(t, filepath.Join(wrongDim, "3_feature256"), 768, []int{50}, 1)
	ints := mk("ints")
	writeFeatures(t, filepath.Join(ints, "3_feature256"), 256, []int{50}, 1)
	npy.WriteInt64File(filepath.Join(ints, "3_feature256", "5.npy"), make([]int64, 256), 1, 256)
	garbage := mk("garbage")
	os.MkdirAll(filepath.Join(garbage, "3_feature256"), 0o755)
	os.WriteFile(filepath.Join(garbage, "3_feature256", "0.npy"), []byte("not numpy"), 0o644)
	nan := mk("nan")
	x := make([]float32, 256)
	x[7] = float32(math.NaN())
	os.MkdirAll(filepath.Join(nan, "3_feature256"), 0o755)
	npy.WriteFile(filepath.Join(nan, "3_feature256", "0.npy"), x, 1, 256)
	cases := []struct {
		dir, version string
		is           error
		says         string
	}{
		{filepath.Join(root, "missing"), "", os.ErrNotExist, "missing"},
		{mk("nofeatures"), "", kume.ErrInvalidArgument, "no 3_feature256 (v1) or 3_feature768 (v2) folder"},
		{filepath.Join(root, "empty"), "v1", os.ErrNotExist, "no 3_feature256 folder for an RVC v1 model"},
		{both, "", kume.ErrInvalidArgument, "both"},
		{empty, "", kume.ErrInvalidArgument, "no .npy files"},
		{mixed, "", kume.ErrDimension, "9.npy: dimension mismatch: 128-dimensional vectors, but 0_1.npy has 256"},
		{wrongDim, "", kume.ErrDimension, "768-dimensional features (0_1.npy), but an RVC v1 model has 256-dimensional ones"},
		{ints, "", kume.ErrUnsupported, "5.npy"},
		{garbage, "", npy.ErrFormat, "0.npy: bad .npy file"},
		{nan, "", kume.ErrNonFinite, "row 0, column 7"},
		{both, "v3", kume.ErrInvalidArgument, `version "v3"`},
	}
	for _, c := range cases {
		_, err := TrainIndex(context.Background(), c.dir, &TrainOptions{Version: c.version})
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s (version %q): %v; want %v saying %q", filepath.Base(c.dir), c.version, err, c.is, c.says)
		}
	}
	// Both folders with a version chosen is fine.
	if res, err := TrainIndex(context.Background(), both, &TrainOptions{Version: "v2"}); err != nil || res.Dim != 768 {
		t.Errorf("both, v2: %v", err)
	}
}

// FAISS reads the files TrainIndex writes and answers as kume does; kume
// reads the files RVC's flow writes with FAISS and answers as FAISS does.
func TestTrainIndexInterop(t *testing.T) {
	py := pyfaiss.RequireModules(t, "faiss", "numpy", "sklearn.cluster")
	exp := filepath.Join(t.TempDir(), "voice")
	feat := writeFeatures(t, filepath.Join(exp, "3_feature256"), 256, []int{800, 700}, 4)
	res, err := TrainIndex(context.Background(), exp, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := pyfaiss.WriteF32(t, exp, "q.f32", feat[:100*256])
	script := `
import faiss, numpy as np, sys, subprocess, os, glob
exp, ours, q, flow = sys.argv[1:5]
x = np.fromfile(q, dtype='<f4').reshape(-1, 256)
index = faiss.read_index(ours)
ivf = faiss.extract_index_ivf(index)
print(index.ntotal, ivf.nlist, ivf.nprobe)
_, ix = index.search(x, 8)
ix.astype('<i8').tofile(q + '.ours')
# RVC's own flow, seeded, on the same folder
out = subprocess.run([sys.executable, flow, exp, 'v1', 'py', '5'], check=True, capture_output=True, text=True).stdout
theirs = glob.glob(os.path.join(exp, 'added_*_py_v1.index'))[0]
print(os.path.basename(theirs))
index = faiss.read_index(theirs)
_, ix = index.search(x, 8)
ix.astype('<i8').tofile(q + '.theirs')
`
	flow, _ := filepath.Abs("testdata/train_index.py")
	out := strings.Fields(string(pyfaiss.RunWith(t, py, script, exp, res.AddedPath, q, flow)))
	if len(out) != 4 || out[0] != "1500" || out[1] != "38" || out[2] != "1" {
		t.Fatalf("FAISS sees ntotal, nlist, nprobe = %v, want 1500 38 1", out)
	}
	if out[3] != "added_IVF38_Flat_nprobe_1_py_v1.index" {
		t.Errorf("RVC's flow wrote %s (another n_ivf than kume's 38?)", out[3])
	}
	frames := feat[:100*256]
	compare := func(idx kume.Index, want []int64, who string) {
		got, err := idx.Search(context.Background(), frames, 8, nil)
		if err != nil {
			t.Fatal(err)
		}
		same := 0
		for i := 0; i < 100; i++ {
			if fmt.Sprint(got.IDs[i*8:(i+1)*8]) == fmt.Sprint(want[i*8:(i+1)*8]) {
				same++
			}
		}
		if same < 99 {
			t.Errorf("%s: kume and FAISS agree on %d of 100 queries", who, same)
		}
	}
	compare(res.Index, readRaw[int64](t, q+".ours"), "kume's file")
	r, err := OpenRetriever(filepath.Join(exp, out[3]), nil)
	if err != nil {
		t.Fatal(err)
	}
	compare(r.Index(), readRaw[int64](t, q+".theirs"), "RVC's file")
}

// Applio's layout: features in extracted, one {name}.index written.
func TestTrainIndexApplio(t *testing.T) {
	exp := filepath.Join(t.TempDir(), "singer")
	writeFeatures(t, filepath.Join(exp, "extracted"), 768, []int{600, 400}, 6)
	res, err := TrainIndex(context.Background(), exp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Layout != LayoutApplio || res.Version != "v2" || res.Name != "singer" || res.Rows != 1000 || res.NList != 25 || res.TrainedPath != "" {
		t.Errorf("result %+v", res)
	}
	if want := filepath.Join(exp, "singer.index"); res.AddedPath != want {
		t.Errorf("index file %s, want %s", res.AddedPath, want)
	}
	entries, _ := os.ReadDir(exp)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "extracted singer.index" {
		t.Errorf("the folder holds %s; Applio's flow writes only singer.index", got)
	}
	idx, err := faissio.ReadFile(res.AddedPath)
	if err != nil || idx.Len() != 1000 {
		t.Fatalf("singer.index: %v", err)
	}
	info, err := Inspect(exp)
	if err != nil || len(info.Features) != 1 || len(info.Indexes) != 1 {
		t.Fatalf("Inspect: %+v, %v", info, err)
	}
	if f := info.Features[0]; f.Layout != LayoutApplio || f.Folder != "extracted" || f.Version != "v2" || f.Dim != 768 || f.Rows != 1000 || f.Files != 2 || len(f.Problems) != 0 {
		t.Errorf("Inspect: %+v", f)
	}

	// 256-d features are a v1 model's; the version asked for must match.
	v1 := filepath.Join(t.TempDir(), "old")
	writeFeatures(t, filepath.Join(v1, "extracted"), 256, []int{300}, 7)
	if res, err := TrainIndex(context.Background(), v1, &TrainOptions{Name: "m"}); err != nil || res.Version != "v1" || filepath.Base(res.AddedPath) != "m.index" {
		t.Errorf("256-d extracted: %+v, %v", res, err)
	}
	_, err = TrainIndex(context.Background(), v1, &TrainOptions{Version: "v2"})
	if !errors.Is(err, kume.ErrDimension) || !strings.Contains(err.Error(), "256-dimensional features (0_1.npy), but an RVC v2 model has 768-dimensional ones") {
		t.Errorf("v2 asked, 256-d found: %v", err)
	}
	odd := filepath.Join(t.TempDir(), "odd")
	writeFeatures(t, filepath.Join(odd, "extracted"), 100, []int{300}, 7)
	_, err = TrainIndex(context.Background(), odd, nil)
	if !errors.Is(err, kume.ErrDimension) || !strings.Contains(err.Error(), "100-dimensional features (0_1.npy); RVC's models use 256 (v1) or 768 (v2)") {
		t.Errorf("100-d extracted: %v", err)
	}
	if info, err := Inspect(odd); err != nil || len(info.Features) != 1 || len(info.Features[0].Problems) != 1 || info.Features[0].Version != "" {
		t.Errorf("Inspect of 100-d features: %+v, %v", info, err)
	}

	// RVC's folders win when both layouts are present; a layout can be
	// chosen, and must exist.
	both := filepath.Join(t.TempDir(), "both")
	writeFeatures(t, filepath.Join(both, "3_feature256"), 256, []int{200}, 8)
	writeFeatures(t, filepath.Join(both, "extracted"), 768, []int{200}, 8)
	if l, err := DetectLayout(both); err != nil || l != LayoutRVC {
		t.Errorf("DetectLayout with both: %q, %v", l, err)
	}
	if res, err := TrainIndex(context.Background(), both, &TrainOptions{Layout: LayoutApplio}); err != nil || res.Dim != 768 || filepath.Base(res.AddedPath) != "both.index" {
		t.Errorf("Applio's layout chosen: %+v, %v", res, err)
	}
	_, err = TrainIndex(context.Background(), v1, &TrainOptions{Layout: LayoutRVC})
	if !errors.Is(err, kume.ErrInvalidArgument) || !strings.Contains(err.Error(), "no 3_feature256 (v1) or 3_feature768 (v2) folder") {
		t.Errorf("RVC's layout on an Applio folder: %v", err)
	}
	_, err = TrainIndex(context.Background(), filepath.Join(both, "3_feature256", ".."), &TrainOptions{Layout: "x"})
	if !errors.Is(err, kume.ErrInvalidArgument) || !strings.Contains(err.Error(), `layout "x"`) {
		t.Errorf("layout x: %v", err)
	}
	noFeat := t.TempDir()
	_, err = TrainIndex(context.Background(), noFeat, &TrainOptions{Layout: LayoutApplio})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "no extracted folder (Applio's layout)") {
		t.Errorf("Applio's layout without extracted: %v", err)
	}
	_, err = TrainIndex(context.Background(), noFeat, nil)
	if !errors.Is(err, kume.ErrInvalidArgument) || !strings.Contains(err.Error(), "nor extracted (Applio)") {
		t.Errorf("no feature folder: %v", err)
	}
}

// Without a reduction the index holds every row, shuffled: id i is row i of
// total_fea.npy, which is a permutation of the rows in file order.
func TestTrainIndexShuffledIDs(t *testing.T) {
	exp := filepath.Join(t.TempDir(), "v")
	all := writeFeatures(t, filepath.Join(exp, "3_feature256"), 256, []int{300, 200}, 9)
	res, err := TrainIndex(context.Background(), exp, &TrainOptions{SaveTotalFea: true})
	if err != nil {
		t.Fatal(err)
	}
	fea, err := npy.ReadFile(res.TotalFeaPath, nil)
	if err != nil || fea.Rows != 500 {
		t.Fatalf("total_fea.npy: %v", err)
	}
	r, err := OpenRetriever(res.AddedPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.Vectors()) != fmt.Sprint(fea.Data) {
		t.Fatal("the index's vectors in id order are not total_fea.npy's rows")
	}
	key := func(row []float32) string { return fmt.Sprint(row) }
	left := map[string]int{}
	for i := 0; i < 500; i++ {
		left[key(all[i*256:(i+1)*256])]++
	}
	moved := 0
	for i := 0; i < 500; i++ {
		row := fea.Data[i*256 : (i+1)*256]
		if left[key(row)] == 0 {
			t.Fatalf("total_fea.npy row %d is no input row", i)
		}
		left[key(row)]--
		if key(row) != key(all[i*256:(i+1)*256]) {
			moved++
		}
	}
	if moved < 450 {
		t.Errorf("only %d of 500 rows moved: not shuffled", moved)
	}
}
