package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/bench"
	"github.com/kume-ann/kume/internal/pyfaiss"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/npy"
)

// runKume runs the command line and returns its exit status and output.
func runKume(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustKume runs the command line and fails the test unless it succeeds.
func mustKume(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runKume(t, args...)
	if code != 0 {
		t.Fatalf("kume %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// wantFail runs the command line and checks that it fails with the given
// status and that stderr mentions every part.
func wantFail(t *testing.T, status int, parts []string, args ...string) {
	t.Helper()
	code, _, errOut := runKume(t, args...)
	if code != status {
		t.Errorf("kume %s: exit %d, want %d (stderr: %s)", strings.Join(args, " "), code, status, errOut)
	}
	for _, p := range parts {
		if !strings.Contains(errOut, p) {
			t.Errorf("kume %s: stderr %q does not mention %q", strings.Join(args, " "), errOut, p)
		}
	}
}

func writeNPY(t *testing.T, path string, x []float32, d int) {
	t.Helper()
	if err := npy.WriteFile(path, x, len(x)/d, d); err != nil {
		t.Fatal(err)
	}
}

// TestEndToEnd builds an index from an RVC-style feature folder, inspects
// it, searches it to .npy files and to text, and benchmarks the same data.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	const d = 32
	base, queries, err := bench.Synth{N: 3000, NQ: 40, D: d, Seed: 5}.Generate(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	feat := filepath.Join(dir, "3_feature256")
	os.Mkdir(feat, 0o755)
	writeNPY(t, filepath.Join(feat, "0_a.npy"), base[:1000*d], d)
	writeNPY(t, filepath.Join(feat, "1_b.npy"), base[1000*d:], d)
	qpath := filepath.Join(dir, "queries.npy")
	writeNPY(t, qpath, queries, d)
	basePath := filepath.Join(dir, "base.npy")
	writeNPY(t, basePath, base, d)

	// build with RVC's default: n = min(16*sqrt(3000), 3000/39) = 76.
	index := filepath.Join(dir, "voice.index")
	out := mustKume(t, "build", "-o", index, feat)
	if !strings.Contains(out, "IVF76,Flat") || !strings.Contains(out, "3000 vectors") {
		t.Errorf("build printed %q, want IVF76,Flat and 3000 vectors", out)
	}

	out = mustKume(t, "info", index)
	for _, want := range []string{"type      IVF76,Flat", "d         32", "vectors   3000", "lists     76: sizes min", "nprobe    1", "per vector"} {
		if !strings.Contains(out, want) {
			t.Errorf("info output lacks %q:\n%s", want, out)
		}
	}

	// Search every list: the results must be the exact neighbours.
	ids, dist := filepath.Join(dir, "ids.npy"), filepath.Join(dir, "dist.npy")
	mustKume(t, "search", "-index", index, "-k", "8", "-params", "nprobe=76", "-ids", ids, "-dist", dist, qpath)
	got, nq, k, err := npy.ReadInt64(ids)
	if err != nil || nq != 40 || k != 8 {
		t.Fatalf("ids.npy: %d x %d, %v", nq, k, err)
	}
	dm, err := npy.ReadFile(dist, nil)
	if err != nil || dm.Rows != 40 || dm.Cols != 8 {
		t.Fatalf("dist.npy: %+v, %v", dm, err)
	}
	gt, gk, err := bench.GroundTruth(t.Context(), base, queries, d, 8, metric.L2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := bench.Recall(got, 8, gt, gk, 8); r < 0.999 {
		t.Errorf("search visiting every list has recall@8 %.4f, want 1", r)
	}
	for i := 1; i < len(dm.Data); i++ {
		if i%8 != 0 && dm.Data[i] < dm.Data[i-1] {
			t.Fatalf("distances of query %d are not sorted: %v", i/8, dm.Data[i/8*8:i/8*8+8])
		}
	}
	// Text output, with the stored nprobe=1.
	out = mustKume(t, "search", "-index", index, "-k", "3", qpath)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 40 || !strings.HasPrefix(lines[0], "0\t") || strings.Count(lines[0], ":") != 3 {
		t.Errorf("text search output: %d lines, first %q", len(lines), lines[0])
	}

	// bench on the same files: JSON lines with the keys users rely on.
	cache := t.TempDir()
	out = mustKume(t, "bench", "-data", basePath+","+qpath, "-factory", "IVF16,Flat", "-params", "nprobe=1,16 k_factor_rf=2",
		"-json", "-time", "10ms", "-cache", cache)
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bench -json line %q: %v", line, err)
		}
		rows = append(rows, m)
	}
	if len(rows) != 2 {
		t.Fatalf("bench -json printed %d rows, want 2 (k_factor_rf does not apply to IVF16,Flat):\n%s", len(rows), out)
	}
	for _, key := range []string{"factory", "params", "recall@1", "recall@10", "qps", "build_s", "bytes_per_vector"} {
		if _, ok := rows[0][key]; !ok {
			t.Errorf("bench -json lacks key %q: %v", key, rows[0])
		}
	}
	if rows[1]["params"] != "nprobe=16" || rows[1]["recall@1"] != 1.0 || rows[1]["recall@10"] != 1.0 {
		t.Errorf("nprobe=16 of 16 lists must be exact: %v", rows[1])
	}
	if bpv := rows[0]["bytes_per_vector"].(float64); bpv < 4*d+8 || bpv > 4*d+8+64 {
		t.Errorf("bytes_per_vector %v for IVF16,Flat at d=32, want about %d", bpv, 4*d+8)
	}
	// The ground truth was cached in the cache folder, not in the data's.
	if m, _ := filepath.Glob(filepath.Join(cache, "queries.gt.k100.*.ivecs")); len(m) != 1 {
		t.Errorf("ground truth not cached in -cache: %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.ivecs")); len(m) != 0 {
		t.Errorf("ground truth written next to the data: %v", m)
	}

	// The table, a FAISS comparison and a plot.
	faiss := filepath.Join(dir, "faiss.json")
	os.WriteFile(faiss, []byte(`{"engine":"faiss","dataset":"x","factory":"IVF16,Flat","params":"nprobe=1","recall@1":0.5,"recall@10":0.5,"qps":1000,"build_s":0.1,"bytes_per_vector":136}
{"engine":"faiss","dataset":"x","factory":"IVF16,Flat","params":"nprobe=16","recall@1":1,"recall@10":1,"qps":100,"build_s":0.1,"bytes_per_vector":136}
`), 0o644)
	svg := filepath.Join(dir, "curves.svg")
	out = mustKume(t, "bench", "-data", basePath+","+qpath, "-compare", faiss, "-plot", svg, "-time", "10ms", "-cache", cache, "-threads", "1")
	for _, want := range []string{"recall@1", "bytes/vec", "IVF16,Flat", "kume vs FAISS", "FAISS QPS", "plot: " + svg,
		"; 1 thread; SIMD " + asm.Selected(), machineName()} {
		if !strings.Contains(out, want) {
			t.Errorf("bench -compare output lacks %q:\n%s", want, out)
		}
	}
	// Both FAISS settings were measured (nprobe=1 and nprobe=16) and have a ratio.
	if n := strings.Count(out, "x "); n < 2 {
		t.Errorf("comparison has %d ratios, want 2:\n%s", n, out)
	}
	if b, err := os.ReadFile(svg); err != nil || !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("FAISS IVF16,Flat")) {
		t.Errorf("plot %s is not an SVG with both curves (%v)", svg, err)
	}

	// export writes what faiss_bench.py reads.
	exp := filepath.Join(dir, "export")
	mustKume(t, "export", "-data", "synth:d=8,n=500,nq=10", "-o", exp, "-cache", cache)
	for _, f := range []string{"base.npy", "queries.npy", "groundtruth.ivecs", "dataset.json"} {
		if _, err := os.Stat(filepath.Join(exp, f)); err != nil {
			t.Errorf("export did not write %s", f)
		}
	}
}

// TestBadInput checks that mistakes give a clear message and a non-zero
// exit status.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	b16 := filepath.Join(dir, "b16.npy")
	writeNPY(t, b16, make([]float32, 200*16), 16)
	q8 := filepath.Join(dir, "q8.npy")
	writeNPY(t, q8, make([]float32, 3*8), 8)
	empty := filepath.Join(dir, "empty.npy")
	os.WriteFile(empty, nil, 0o644)
	ints := filepath.Join(dir, "ints.npy")
	dict := "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }\n"
	os.WriteFile(ints, append([]byte("\x93NUMPY\x01\x00"+string(rune(len(dict)))+"\x00"+dict), make([]byte, 8)...), 0o644)
	noNPY := filepath.Join(dir, "nothing")
	os.Mkdir(noNPY, 0o755)
	missing := filepath.Join(dir, "missing.npy")
	index := filepath.Join(dir, "flat.index")
	notIndex := filepath.Join(dir, "not.index")
	os.WriteFile(notIndex, []byte("this is not an index"), 0o644)

	wantFail(t, 2, []string{"unknown command \"frobnicate\""}, "frobnicate")
	wantFail(t, 2, []string{"usage: kume"})
	wantFail(t, 2, []string{"flag provided but not defined: -nosuch", "kume bench -h"}, "bench", "-nosuch")
	wantFail(t, 2, []string{"-threads -1"}, "bench", "-threads", "-1")
	wantFail(t, 2, []string{"-k 0"}, "bench", "-k", "0")
	wantFail(t, 2, []string{"-params", "ef_search"}, "bench", "-params", "ef_search=16")
	wantFail(t, 2, []string{"bad value \"x\""}, "bench", "-params", "nprobe=x")
	wantFail(t, 1, []string{"unknown data set \"nosuch\""}, "bench", "-data", "nosuch")
	wantFail(t, 1, []string{"b16.npy has 16-dimensional", "q8.npy have 8"}, "bench", "-data", b16+","+q8)
	wantFail(t, 1, []string{missing}, "bench", "-data", b16+","+missing)
	// Mistakes in -factory and -plot are found before the data is read:
	// the data named here does not exist, and no error mentions it.
	early := func(status int, parts []string, args ...string) {
		t.Helper()
		args = append([]string{"bench", "-data", missing + "," + missing, "-cache", dir}, args...)
		wantFail(t, status, parts, args...)
		if _, _, errOut := runKume(t, args...); strings.Contains(errOut, "missing.npy") {
			t.Errorf("kume %s: the data was read before the mistake was reported: %s", strings.Join(args, " "), errOut)
		}
	}
	early(1, []string{"skipping OPQ16,IVF16,Flat", "not supported", "IVF16,SQ8", "no -factory string can be built"}, "-factory", "OPQ16,IVF16,Flat", "-factory", "IVF16,SQ8")
	early(2, []string{"-factory \"IVFx,Flat\""}, "-factory", "IVFx,Flat")
	early(2, []string{"-factory \"IVF16,PQ8x4fs,,RFlat\"", "stray comma"}, "-factory", "Flat", "-factory", "IVF16,PQ8x4fs,,RFlat")
	early(2, []string{"-plot", "unknown image type \".txt\""}, "-factory", "Flat", "-plot", filepath.Join(dir, "x.txt"))
	early(2, []string{"-plot", "no such file"}, "-factory", "Flat", "-plot", filepath.Join(dir, "no", "such", "x.svg"))
	// The M of PQ{M} must divide the real dimension, known once loaded.
	wantFail(t, 2, []string{"-factory \"PQ3x4fs\"", "must divide"}, "bench", "-data", "synth:d=8,n=300,nq=5", "-factory", "PQ3x4fs", "-cache", dir)
	wantFail(t, 1, []string{"faiss.json", "no such file"}, "bench", "-compare", filepath.Join(dir, "faiss.json"))

	wantFail(t, 2, []string{"-o FILE is required"}, "build", b16)
	wantFail(t, 2, []string{"want one input"}, "build", "-o", index)
	wantFail(t, 1, []string{missing, "no such file"}, "build", "-o", index, missing)
	wantFail(t, 1, []string{empty, "too short"}, "build", "-o", index, empty)
	wantFail(t, 1, []string{ints, `dtype "<i4": holds integers, not float vectors`}, "build", "-o", index, ints)
	wantFail(t, 1, []string{noNPY, "no .npy files"}, "build", "-o", index, noNPY)
	wantFail(t, 2, []string{"-metric \"cosine\""}, "build", "-metric", "cosine", "-o", index, b16)
	wantFail(t, 1, []string{"not supported"}, "build", "-factory", "HNSW32", "-o", index, b16)
	wantFail(t, 1, []string{"200 training vectors for 1024 lists"}, "build", "-factory", "IVF1024,Flat", "-o", index, b16)

	mustKume(t, "build", "-factory", "Flat", "-o", index, b16)
	wantFail(t, 1, []string{"q8.npy", "8-dimensional", "16-dimensional"}, "search", "-index", index, q8)
	wantFail(t, 2, []string{"-index FILE is required"}, "search", q8)
	wantFail(t, 2, []string{"-k 0"}, "search", "-index", index, "-k", "0", q8)
	wantFail(t, 2, []string{"-k 536870912: want 1..268435456"}, "search", "-index", index, "-k", "536870912", b16)
	wantFail(t, 2, []string{"-k 134217728 with 200 queries", "more than the 268435456"}, "search", "-index", index, "-k", "134217728", b16)
	wantFail(t, 2, []string{"-params \"nprobe=0\""}, "search", "-index", index, "-params", "nprobe=0", b16)
	wantFail(t, 1, []string{missing}, "search", "-index", missing, q8)
	wantFail(t, 1, []string{notIndex}, "search", "-index", notIndex, q8)
	wantFail(t, 1, []string{notIndex, "is not a FAISS index file", `starts with "this is not an i"`}, "info", notIndex)
	wantFail(t, 1, []string{empty, "is not a FAISS index file (it is empty)"}, "info", empty)
	wantFail(t, 1, []string{b16, "is not a FAISS index file", `\x93NUMPY`}, "search", "-index", b16, q8)
	wantFail(t, 2, []string{"want one index file"}, "info")

	// Help is not an error.
	if code, _, errOut := runKume(t, "search", "-h"); code != 0 || !strings.Contains(errOut, "-index") || !strings.Contains(errOut, "\nflags:\n") {
		t.Errorf("search -h: exit %d, %q", code, errOut)
	}
	// A command without flags lists none, and no empty heading.
	if code, _, errOut := runKume(t, "info", "-h"); code != 0 || errOut != "usage: kume info FILE\n" {
		t.Errorf("info -h: exit %d, %q", code, errOut)
	}
}

// TestFAISSScript runs bench/faiss_bench.py with python3-faiss on an
// exported data set and reads its output back with -compare.
func TestFAISSScript(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3-faiss; skipped with -short")
	}
	pyfaiss.Require(t)
	dir := t.TempDir()
	exp := filepath.Join(dir, "exp")
	mustKume(t, "export", "-data", "synth:d=16,n=2000,nq=50", "-o", exp, "-cache", dir)
	saved := filepath.Join(dir, "saved")
	cmd := exec.Command(pyfaiss.Interpreter(), "../../bench/faiss_bench.py", exp, "--threads", "1", "--time", "0.01",
		"--factory", "IVF32,Flat;IVF32_HNSW8,Flat", "--params", "nprobe=1,32 k_factor_rf=2",
		"--save", saved, "--train", "1500")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("faiss_bench.py: %v\n%s", err, stderr.String())
	}
	faiss := filepath.Join(dir, "faiss.json")
	os.WriteFile(faiss, out, 0o644)
	rs, err := readResults(faiss)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 || rs[0].Factory != "IVF32,Flat" || rs[1].Params != "nprobe=32" || rs[1].Recall1 != 1 || rs[1].Recall10 != 1 {
		t.Fatalf("faiss_bench.py printed %+v", rs)
	}
	if rs[0].BytesPerVector < 16*4+8 {
		t.Errorf("FAISS bytes_per_vector %v is below the raw vectors and ids", rs[0].BytesPerVector)
	}
	out2 := mustKume(t, "bench", "-compare", faiss, "-time", "10ms", "-cache", dir)
	if !strings.Contains(out2, "synth:d=16,n=2000,nq=50: 2000 base, 50 queries") || !strings.Contains(out2, "kume vs FAISS") {
		t.Errorf("bench -compare did not measure the FAISS file's data set:\n%s", out2)
	}
	// Both engines, same data and ground truth: visiting every list is exact
	// in both.
	for _, line := range strings.Split(out2, "\n") {
		if strings.HasPrefix(line, "IVF32,Flat") && strings.Contains(line, "nprobe=32") && strings.Count(line, "1.0000") < 2 {
			t.Errorf("nprobe=32 of 32 lists is not exact in both engines: %q", line)
		}
	}

	// The saved indexes read back by the script answer as they did.
	cmd = exec.Command(pyfaiss.Interpreter(), "../../bench/faiss_bench.py", exp, "--threads", "1", "--time", "0.01",
		"--factory", "IVF32,Flat;IVF32_HNSW8,Flat", "--params", "nprobe=1,32", "--load", saved)
	cmd.Stderr = &stderr
	again, err := cmd.Output()
	if err != nil {
		t.Fatalf("faiss_bench.py --load: %v\n%s", err, stderr.String())
	}
	os.WriteFile(faiss+".load", again, 0o644)
	rs2, err := readResults(faiss + ".load")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs2) != len(rs) {
		t.Fatalf("faiss_bench.py --load printed %+v", rs2)
	}
	for i := range rs {
		if rs2[i].Recall1 != rs[i].Recall1 || rs2[i].Recall10 != rs[i].Recall10 {
			t.Errorf("%s %s: recall %v/%v after --load, %v/%v built", rs[i].Factory, rs[i].Params, rs2[i].Recall1, rs2[i].Recall10, rs[i].Recall1, rs[i].Recall10)
		}
	}

	// The indexes FAISS saved, searched by kume: the same lists give the
	// same recall at every setting of the exactly searched IVF32,Flat.
	out3 := mustKume(t, "bench", "-compare", faiss, "-load", saved, "-time", "10ms", "-cache", dir, "-json")
	var loaded []bench.Result
	for _, line := range strings.Split(strings.TrimSpace(out3), "\n") {
		var r bench.Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bench -load -json printed %q: %v", line, err)
		}
		loaded = append(loaded, r)
	}
	if len(loaded) != len(rs) {
		t.Fatalf("bench -load measured %d settings, FAISS %d:\n%s", len(loaded), len(rs), out3)
	}
	for i, r := range loaded {
		if r.Factory != rs[i].Factory || r.Params != rs[i].Params {
			t.Fatalf("setting %d: kume %s %s, FAISS %s %s", i, r.Factory, r.Params, rs[i].Factory, rs[i].Params)
		}
		if r.Factory == "IVF32,Flat" && (r.Recall1 != rs[i].Recall1 || r.Recall10 != rs[i].Recall10) {
			t.Errorf("%s %s on FAISS's file: kume recall %v/%v, FAISS %v/%v", r.Factory, r.Params, r.Recall1, r.Recall10, rs[i].Recall1, rs[i].Recall10)
		}
	}
	wantFail(t, 1, []string{"IVF16_Flat.faiss"}, "bench", "-factory", "IVF16,Flat", "-load", dir, "-data", "synth:d=16,n=2000,nq=50", "-cache", dir)
	wantFail(t, 1, []string{"holds 2000 vectors", "has 1000"}, "bench", "-factory", "IVF32,Flat", "-load", saved, "-data", "synth:d=16,n=1000,nq=50", "-cache", dir)
	wantFail(t, 2, []string{"-train -1"}, "bench", "-train", "-1")
}
