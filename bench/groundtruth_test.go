package bench

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"testing"

	"github.com/kume-ann/kume/metric"

	"github.com/kume-ann/kume/internal/vecio"
)

func randomVectors(seed uint64, n, d int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// bruteForce ranks every base vector for each query with a plain loop in
// float64.
func bruteForce(base, queries []float32, d, k int, m metric.Metric) []int32 {
	n, nq := len(base)/d, len(queries)/d
	out := make([]int32, 0, nq*k)
	for q := 0; q < nq; q++ {
		type cand struct {
			id int32
			s  float64
		}
		c := make([]cand, n)
		for i := 0; i < n; i++ {
			s := 0.0
			for j := 0; j < d; j++ {
				a, b := float64(queries[q*d+j]), float64(base[i*d+j])
				if m == metric.L2 {
					s += (a - b) * (a - b)
				} else {
					s -= a * b
				}
			}
			c[i] = cand{int32(i), s}
		}
		sort.SliceStable(c, func(i, j int) bool { return c[i].s < c[j].s })
		for _, x := range c[:k] {
			out = append(out, x.id)
		}
	}
	return out
}

func TestGroundTruthAgainstBruteForce(t *testing.T) {
	const n, nq, d, k = 700, 300, 24, 10
	base, q := randomVectors(1, n, d), randomVectors(2, nq, d)
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		got, gk, err := GroundTruth(t.Context(), base, q, d, k, m, nil)
		if err != nil || gk != k {
			t.Fatalf("%v: GroundTruth: k=%d, %v", m, gk, err)
		}
		want := bruteForce(base, q, d, k, m)
		if !slices.Equal(got, want) {
			diff := 0
			for i := range got {
				if got[i] != want[i] {
					diff++
				}
			}
			t.Errorf("%v: %d of %d ids differ from the brute-force loop", m, diff, len(got))
		}
	}
	// A base smaller than k gives rows of the base's size.
	got, gk, err := GroundTruth(t.Context(), base[:3*d], q[:d], d, k, metric.L2, nil)
	if err != nil || gk != 3 || len(got) != 3 {
		t.Errorf("small base: k=%d, %v, %v", gk, got, err)
	}
}

func TestGroundTruthCache(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	const d = 8
	ds := &Dataset{Name: "t", D: d, Base: randomVectors(3, 500, d), Queries: randomVectors(4, 20, d), Metric: metric.L2, GTDir: dir, GTStem: "q"}
	ids, k, path, err := ds.GroundTruthFile(t.Context(), cache, nil)
	if err != nil || k != 100 || len(ids) != 20*100 {
		t.Fatalf("first call: k=%d len=%d %v", k, len(ids), err)
	}
	if filepath.Dir(path) != cache {
		t.Errorf("ground truth cached at %s, want in the cache folder %s", path, cache)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("the data folder was written to: %v %v", ents, err)
	}
	// Replace the cached ids with zeros: a second call must read them back
	// rather than recompute.
	var b bytes.Buffer
	vecio.WriteIvecs(&b, make([]int32, len(ids)), k)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	again, _, path2, err := ds.GroundTruthFile(t.Context(), cache, nil)
	if err != nil || path2 != path || slices.ContainsFunc(again, func(v int32) bool { return v != 0 }) {
		t.Fatalf("second call did not reuse %s (%s, %v)", path, path2, err)
	}
	// A file of the same name next to the data is read before the cache.
	b.Reset()
	ones := make([]int32, len(ids))
	for i := range ones {
		ones[i] = 1
	}
	vecio.WriteIvecs(&b, ones, k)
	beside := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(beside, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, path5, err := ds.GroundTruthFile(t.Context(), cache, nil)
	if err != nil || path5 != beside || !slices.Equal(got, ones) {
		t.Fatalf("file next to the data not read: %s, %v", path5, err)
	}
	// Changed queries must not be answered from either file.
	ds.Queries[0] += 1
	fresh, _, path3, err := ds.GroundTruthFile(t.Context(), cache, nil)
	if err != nil || path3 == path || path3 == beside || filepath.Dir(path3) != cache {
		t.Fatalf("changed queries: cached at %s (%v)", path3, err)
	}
	want := bruteForce(ds.Base, ds.Queries, d, 100, metric.L2)
	if !slices.Equal(fresh, want) {
		t.Error("recomputed ground truth differs from the brute-force loop")
	}
	// A cache folder that cannot be made still gives the ground truth,
	// with an error wrapping ErrNotCached.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ds.Queries[0] += 1
	ids4, _, path4, err := ds.GroundTruthFile(t.Context(), filepath.Join(blocker, "sub"), nil)
	if !errors.Is(err, ErrNotCached) || path4 != "" || !slices.Equal(ids4, bruteForce(ds.Base, ds.Queries, d, 100, metric.L2)) {
		t.Errorf("unwritable cache folder: path %q, %v", path4, err)
	}
}

func TestRecall(t *testing.T) {
	gt := []int32{
		1, 2, 3,
		4, 5, 6,
	}
	ids := []int64{
		1, 3, 9,
		5, 4, 6,
	}
	if r := Recall(ids, 3, gt, 3, 1); r != 0.5 {
		t.Errorf("recall@1 = %v, want 0.5", r)
	}
	if r := Recall(ids, 3, gt, 3, 3); r != 5.0/6 {
		t.Errorf("recall@3 = %v, want 5/6", r)
	}
	// at above k is measured at k.
	if r := Recall([]int64{2, 1, 5, 4}, 2, []int32{1, 2, 5, 4}, 2, 10); r != 1 {
		t.Errorf("recall@2 of exact answers = %v, want 1", r)
	}
}

func TestSynthDeterministicAndClustered(t *testing.T) {
	s := Synth{N: 5000, NQ: 100, D: 64, Seed: 7}
	old := runtime.GOMAXPROCS(1)
	b1, q1, err := s.Generate(t.Context(), nil)
	runtime.GOMAXPROCS(old)
	if err != nil {
		t.Fatal(err)
	}
	b2, q2, _ := s.Generate(t.Context(), nil)
	if !slices.Equal(b1, b2) || !slices.Equal(q1, q2) {
		t.Fatal("the same Synth gave different vectors with a different number of threads")
	}
	s.Seed = 8
	b3, _, _ := s.Generate(t.Context(), nil)
	if slices.Equal(b1, b3) {
		t.Fatal("different seeds gave the same vectors")
	}
	if len(b1) != 5000*64 || len(q1) != 100*64 {
		t.Fatalf("sizes %d, %d", len(b1), len(q1))
	}
	// Clustered: a query's nearest neighbour is much closer than a typical
	// base vector.
	gt, _, _ := GroundTruth(t.Context(), b1, q1, 64, 1, metric.L2, nil)
	dist := func(q, i int) float64 {
		s := 0.0
		for j := 0; j < 64; j++ {
			v := float64(q1[q*64+j] - b1[i*64+j])
			s += v * v
		}
		return s
	}
	var nn, typical float64
	for q := 0; q < 100; q++ {
		nn += dist(q, int(gt[q]))
		typical += dist(q, (q*37)%5000)
	}
	if nn > 0.25*typical {
		t.Errorf("mean nearest distance %.1f is not well below a typical distance %.1f: data is not clustered", nn/100, typical/100)
	}
	if _, _, err := (Synth{N: 10, NQ: 1, D: 4, Latent: 8}).Generate(t.Context(), nil); err == nil {
		t.Error("latent > d was accepted")
	}
}

func TestLoadSynthSizes(t *testing.T) {
	ds, err := Load(t.Context(), "synth:d=16,n=300,nq=7", Options{})
	if err != nil || ds.N() != 300 || ds.NQ() != 7 || ds.D != 16 || ds.Name != "synth:d=16,n=300,nq=7" {
		t.Fatalf("%+v %v", ds, err)
	}
	if _, err := Load(t.Context(), "synth", Options{}); err == nil {
		t.Error("synth without d= was accepted")
	}
}

// TestIndexFileName checks the file names shared with faiss_bench.py's
// --save.
func TestIndexFileName(t *testing.T) {
	for in, want := range map[string]string{
		"IVF16384_HNSW32,Flat":    "IVF16384_HNSW32_Flat.faiss",
		"IVF1024,PQ128x4fs,RFlat": "IVF1024_PQ128x4fs_RFlat.faiss",
		"L2norm,Refine(Flat)":     "L2norm_Refine_Flat_.faiss",
		"a/b c":                   "a_b_c.faiss",
	} {
		if got := IndexFileName(in); got != want {
			t.Errorf("IndexFileName(%q) = %q, want %q", in, got, want)
		}
	}
}
