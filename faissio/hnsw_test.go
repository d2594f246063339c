package faissio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/hnsw"
	"github.com/kume-ann/kume/internal/pyfaiss"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/metric"
)

// pyHNSWScript builds an index with FAISS's factory (an HNSW or an IVF over
// an HNSW quantizer), writes it, then searches it at each efSearch (of the
// index, or of the quantizer) and writes the ids and distances.
//
// argv: base.f32 queries.f32 d k factory metric nprobe efs(comma-separated) out.index out.res [in.index]
const pyHNSWScript = `
import sys, numpy as np, faiss
base, queries, d, k, desc, metric, nprobe, efs, out, res = sys.argv[1:11]
d, k, nprobe = int(d), int(k), int(nprobe)
xb = np.fromfile(base, dtype="<f4").reshape(-1, d)
xq = np.fromfile(queries, dtype="<f4").reshape(-1, d)
m = faiss.METRIC_INNER_PRODUCT if metric == "IP" else faiss.METRIC_L2
if len(sys.argv) > 11:
    index = faiss.read_index(sys.argv[11])
else:
    index = faiss.index_factory(d, desc, m)
    index.train(xb)
    index.add(xb)
    faiss.write_index(index, out)
ps = faiss.ParameterSpace()
with open(res, "wb") as f:
    for ef in efs.split(","):
        if desc.startswith("IVF"):
            ps.set_index_parameter(index, "nprobe", nprobe)
            ps.set_index_parameter(index, "quantizer_efSearch", int(ef))
        else:
            ps.set_index_parameter(index, "efSearch", int(ef))
        D, I = index.search(xq, k)
        f.write(I.astype("<i8").tobytes()); f.write(D.astype("<f4").tobytes())
`

func randVectors(rng *rand.Rand, n, d int) []float32 {
	// Clustered, so that the graph has structure to get wrong.
	centres := make([]float32, 20*d)
	for i := range centres {
		centres[i] = float32(rng.NormFloat64())
	}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := rng.IntN(20)
		for j := 0; j < d; j++ {
			x[i*d+j] = centres[c*d+j] + 0.5*float32(rng.NormFloat64())
		}
	}
	return x
}

// readHNSWRes reads nres blocks of nq*k ids and distances.
func readHNSWRes(t *testing.T, path string, nres, nq, k int) ([][]int64, [][]float32) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(b)
	var ids [][]int64
	var dis [][]float32
	for i := 0; i < nres; i++ {
		I := make([]int64, nq*k)
		D := make([]float32, nq*k)
		if err := binary.Read(r, binary.LittleEndian, I); err != nil {
			t.Fatal(err)
		}
		if err := binary.Read(r, binary.LittleEndian, D); err != nil {
			t.Fatal(err)
		}
		ids, dis = append(ids, I), append(dis, D)
	}
	return ids, dis
}

// compareFAISS checks kume's answers against FAISS's: the same ids for
// every query but those where FAISS's and kume's distance rounding can
// decide differently (a walk that meets two candidates whose distances
// agree to a few ulps), and distances equal to float32 rounding.
func compareFAISS(t *testing.T, what string, nq, k int, wantI, gotI []int64, wantD, gotD []float32) {
	t.Helper()
	differ := 0
	for i := 0; i < nq; i++ {
		w, g := wantI[i*k:(i+1)*k], gotI[i*k:(i+1)*k]
		if !slices.Equal(w, g) {
			// Order of exact ties aside.
			ws, gs := slices.Clone(w), slices.Clone(g)
			slices.Sort(ws)
			slices.Sort(gs)
			if !slices.Equal(ws, gs) {
				differ++
				if differ <= 3 {
					t.Logf("%s query %d: FAISS %v %v, kume %v %v", what, i, w, wantD[i*k:(i+1)*k], g, gotD[i*k:(i+1)*k])
				}
				continue
			}
		}
		for j := 0; j < k; j++ {
			a, b := wantD[i*k+j], gotD[i*k+j]
			if w[j] == -1 {
				continue // FAISS 1.7.3 fills empty slots with ±FLT_MAX, kume with ±Inf
			}
			if diff := float64(a - b); diff > 1e-4*(1+float64(max(a, -a))) || -diff > 1e-4*(1+float64(max(a, -a))) {
				t.Fatalf("%s query %d: distance %d is %v in FAISS, %v in kume", what, i, j, a, b)
			}
		}
	}
	// Rounding may flip a handful of decisions; a different rule would
	// change most answers.
	if differ > nq/100 {
		t.Errorf("%s: %d of %d queries differ from FAISS", what, differ, nq)
	} else if differ > 0 {
		t.Logf("%s: %d of %d queries differ from FAISS (distance rounding)", what, differ, nq)
	}
}

func TestHNSWFromFAISS(t *testing.T) {
	pyfaiss.Require(t)
	rng := rand.New(rand.NewPCG(21, 22))
	const d, n, nq, k = 24, 4000, 500, 10
	base, queries := randVectors(rng, n, d), randVectors(rng, nq, d)
	dir := t.TempDir()
	bp, qp := pyfaiss.WriteF32(t, dir, "base.f32", base), pyfaiss.WriteF32(t, dir, "q.f32", queries)
	efs := []int{1, 8, 16, 64}
	efArg := "1,8,16,64"
	for _, mt := range []string{"L2", "IP"} {
		for _, desc := range []string{"HNSW8", "HNSW32"} {
			name := desc + "_" + mt
			file, res := filepath.Join(dir, name+".index"), filepath.Join(dir, name+".res")
			pyfaiss.Run(t, pyHNSWScript, bp, qp, strconv.Itoa(d), strconv.Itoa(k), desc, mt, "0", efArg, file, res)
			wantI, wantD := readHNSWRes(t, res, len(efs), nq, k)
			idx, err := ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			x, ok := idx.(*hnsw.Index)
			if !ok {
				t.Fatalf("%s: read a %T", name, idx)
			}
			gt := exactIDs(t, x, queries, k)
			if x.Len() != n || x.EfSearch() != 16 || x.EfConstruction() != 40 {
				t.Fatalf("%s: %d vectors, efSearch %d, efConstruction %d", name, x.Len(), x.EfSearch(), x.EfConstruction())
			}
			for e, ef := range efs {
				// FAISS 1.7.3's rule gives FAISS 1.7.3's answers.
				_ = x.SetRule(hnsw.Rule173)
				got, err := x.Search(context.Background(), queries, k, &kume.SearchParams{EfSearch: ef})
				if err != nil {
					t.Fatal(err)
				}
				compareFAISS(t, name+" efSearch="+strconv.Itoa(ef), nq, k, wantI[e], got.IDs, wantD[e], got.Distances)
				// The current rule expands at least as much: its recall is
				// no lower.
				_ = x.SetRule(hnsw.RuleCurrent)
				cur, err := x.Search(context.Background(), queries, k, &kume.SearchParams{EfSearch: ef})
				if err != nil {
					t.Fatal(err)
				}
				r173, rcur := hits(gt, k, wantI[e]), hits(gt, k, cur.IDs)
				if rcur < r173 {
					t.Errorf("%s efSearch=%d: %d true neighbours found with the current rule, %d with 1.7.3's", name, ef, rcur, r173)
				}
			}
			// Written back, the file is FAISS's byte for byte, and FAISS
			// answers from it as before.
			var buf bytes.Buffer
			if err := Write(&buf, x); err != nil {
				t.Fatal(err)
			}
			orig, _ := os.ReadFile(file)
			if !bytes.Equal(buf.Bytes(), orig) {
				t.Errorf("%s: written back, %d bytes differ from FAISS's %d", name, buf.Len(), len(orig))
			}
		}
	}
}

func TestHNSWToFAISS(t *testing.T) {
	pyfaiss.Require(t)
	rng := rand.New(rand.NewPCG(23, 24))
	const d, n, nq, k = 16, 3000, 300, 5
	base, queries := randVectors(rng, n, d), randVectors(rng, nq, d)
	dir := t.TempDir()
	bp, qp := pyfaiss.WriteF32(t, dir, "base.f32", base), pyfaiss.WriteF32(t, dir, "q.f32", queries)
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		x, err := hnsw.New(d, 12, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Add(context.Background(), base); err != nil {
			t.Fatal(err)
		}
		file, res := filepath.Join(dir, "kume.index"), filepath.Join(dir, "kume.res")
		if err := WriteFile(file, x); err != nil {
			t.Fatal(err)
		}
		mt := "L2"
		if m == metric.InnerProduct {
			mt = "IP"
		}
		pyfaiss.Run(t, pyHNSWScript, bp, qp, strconv.Itoa(d), strconv.Itoa(k), "HNSW12", mt, "0", "16,40", file+".unused", res, file)
		wantI, wantD := readHNSWRes(t, res, 2, nq, k)
		_ = x.SetRule(hnsw.Rule173)
		for e, ef := range []int{16, 40} {
			got, err := x.Search(context.Background(), queries, k, &kume.SearchParams{EfSearch: ef})
			if err != nil {
				t.Fatal(err)
			}
			compareFAISS(t, mt+" kume's graph, efSearch="+strconv.Itoa(ef), nq, k, wantI[e], got.IDs, wantD[e], got.Distances)
		}
		back, err := ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if g := back.(*hnsw.Index).Graph(); !slices.Equal(g.Neighbors, x.Graph().Neighbors) {
			t.Fatal("read back, the graph differs")
		}
	}
}

// exactIDs returns the true k nearest of each query among x's vectors.
func exactIDs(t *testing.T, x *hnsw.Index, queries []float32, k int) []int64 {
	t.Helper()
	data, _ := x.Vectors()
	f, _ := flat.New(x.Dim(), x.Metric())
	if err := f.Add(context.Background(), data); err != nil {
		t.Fatal(err)
	}
	res, err := f.Search(context.Background(), queries, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.IDs
}

// hits counts the true neighbours found.
func hits(gt []int64, k int, got []int64) int {
	n := 0
	for i := 0; i < len(gt); i += k {
		for _, id := range got[i : i+k] {
			if slices.Contains(gt[i:i+k], id) {
				n++
			}
		}
	}
	return n
}

func TestHNSWIDMapAndHostile(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	const d = 8
	x, _ := hnsw.New(d, 4, metric.L2)
	base := randVectors(rng, 500, d)
	ids := make([]int64, 500)
	for i := range ids {
		ids[i] = int64(7*i + 3)
	}
	ctx := context.Background()
	if err := x.AddWithIDs(ctx, base, ids); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, x); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	back, err := Read(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	q := base[:10*d]
	want, _ := x.Search(ctx, q, 3, nil)
	got, err := back.Search(ctx, q, 3, nil)
	if err != nil || !slices.Equal(want.IDs, got.IDs) {
		t.Fatalf("IndexIDMap over IndexHNSWFlat read back: %v %v, want %v", got, err, want.IDs)
	}
	// Every truncation fails with ErrCorrupt.
	for cut := 0; cut < len(file); cut += 1 + cut/7 {
		if _, err := Read(bytes.NewReader(file[:cut])); !errors.Is(err, kume.ErrCorrupt) {
			t.Fatalf("cut at %d of %d: %v", cut, len(file), err)
		}
	}
	// A huge claimed neighbour count is refused before anything is
	// allocated: find the count of the neighbour vector and spoil it.
	var plain bytes.Buffer
	y, _ := hnsw.New(d, 4, metric.L2)
	_ = y.Add(ctx, base[:50*d])
	if err := Write(&plain, y); err != nil {
		t.Fatal(err)
	}
	g := y.Graph()
	b := plain.Bytes()
	// header: 4 tag + 4 d + 8 ntotal + 16 + 1 + 4 = 37 bytes, then vectors.
	off := 37 + 8 + 8*len(g.AssignProbas) + 8 + 4*len(g.CumNeighbors) + 8 + 4*len(g.Levels) + 8 + 8*len(g.Offsets)
	if got := binary.LittleEndian.Uint64(b[off:]); got != uint64(len(g.Neighbors)) {
		t.Fatalf("the neighbour count at %d reads %d, want %d", off, got, len(g.Neighbors))
	}
	bad := slices.Clone(b)
	binary.LittleEndian.PutUint64(bad[off:], 1<<40)
	if _, err := Read(bytes.NewReader(bad)); !errors.Is(err, kume.ErrCorrupt) {
		t.Fatalf("a claimed 2^40 neighbours: %v", err)
	}
	// A neighbour out of range.
	bad = slices.Clone(b)
	binary.LittleEndian.PutUint32(bad[off+8:], 50)
	if _, err := Read(bytes.NewReader(bad)); !errors.Is(err, kume.ErrCorrupt) {
		t.Fatalf("neighbour 50 of 50 nodes: %v", err)
	}
}

func TestIVFHNSWFromAndToFAISS(t *testing.T) {
	pyfaiss.Require(t)
	rng := rand.New(rand.NewPCG(27, 28))
	// 64 dimensions and 128 lists: the walk and the lists' scans go
	// through their bounds, whose answers are those of measuring every
	// vector; nprobe 8 reads enough vectors a query to score them.
	const d, n, nq, k = 64, 6000, 400, 8
	base, queries := randVectors(rng, n, d), randVectors(rng, nq, d)
	dir := t.TempDir()
	bp, qp := pyfaiss.WriteF32(t, dir, "base.f32", base), pyfaiss.WriteF32(t, dir, "q.f32", queries)
	const desc = "IVF128_HNSW8,Flat"
	file, res := filepath.Join(dir, "ivf.index"), filepath.Join(dir, "ivf.res")
	efs := []int{4, 16, 64}
	for _, nprobe := range []int{1, 4, 8} {
		pyfaiss.Run(t, pyHNSWScript, bp, qp, strconv.Itoa(d), strconv.Itoa(k), desc, "L2", strconv.Itoa(nprobe), "4,16,64", file, res)
		wantI, wantD := readHNSWRes(t, res, len(efs), nq, k)
		idx, err := ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		x, ok := idx.(*ivf.Index)
		if !ok {
			t.Fatalf("read a %T", idx)
		}
		q, ok := x.Quantizer().(*hnsw.Index)
		if !ok {
			t.Fatalf("the quantizer is a %T", x.Quantizer())
		}
		_ = q.SetRule(hnsw.Rule173)
		for e, ef := range efs {
			p, err := kume.ParseSearchParams("nprobe=" + strconv.Itoa(nprobe) + ",quantizer_efSearch=" + strconv.Itoa(ef))
			if err != nil {
				t.Fatal(err)
			}
			got, err := x.Search(context.Background(), queries, k, &p)
			if err != nil {
				t.Fatal(err)
			}
			compareFAISS(t, desc+" nprobe="+strconv.Itoa(nprobe)+" quantizer_efSearch="+strconv.Itoa(ef), nq, k, wantI[e], got.IDs, wantD[e], got.Distances)
		}
		var buf bytes.Buffer
		if err := Write(&buf, x); err != nil {
			t.Fatal(err)
		}
		if orig, _ := os.ReadFile(file); !bytes.Equal(buf.Bytes(), orig) {
			t.Errorf("written back: %d bytes differ from FAISS's %d (first at %d)", buf.Len(), len(orig), firstDiff(buf.Bytes(), orig))
		}
	}
	// kume's own IVF over an HNSW quantizer, searched by FAISS.
	idx, err := factory.New(d, desc, metric.L2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := idx.Train(ctx, base); err != nil {
		t.Fatal(err)
	}
	if err := idx.Add(ctx, base); err != nil {
		t.Fatal(err)
	}
	x := idx.(*ivf.Index)
	_ = x.Quantizer().(*hnsw.Index).SetRule(hnsw.Rule173)
	if err := WriteFile(file, x); err != nil {
		t.Fatal(err)
	}
	pyfaiss.Run(t, pyHNSWScript, bp, qp, strconv.Itoa(d), strconv.Itoa(k), desc, "L2", "2", "4,16,64", file+".unused", res, file)
	wantI, wantD := readHNSWRes(t, res, len(efs), nq, k)
	for e, ef := range efs {
		got, err := x.Search(ctx, queries, k, &kume.SearchParams{NProbe: 2, QuantizerEfSearch: ef})
		if err != nil {
			t.Fatal(err)
		}
		compareFAISS(t, "kume's "+desc+" quantizer_efSearch="+strconv.Itoa(ef), nq, k, wantI[e], got.IDs, wantD[e], got.Distances)
	}
}
