package faissio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/hnsw"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/ivf/ivfpqfs"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

var ctx = context.Background()

// The files in testdata were written by python3-faiss (testdata/gen.py), with
// FAISS's answers to testdata/queries.f32 beside them.
const (
	fileDim = 8
	fileK   = 5
)

func readF32File(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// readRes reads FAISS's answers: nq*k int64 ids, then nq*k float32 distances.
func readRes(t testing.TB, path string, nq, k int) *kume.Results {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := nq * k
	if len(b) != 12*n {
		t.Fatalf("%s: %d bytes, want %d", path, len(b), 12*n)
	}
	r := &kume.Results{NQ: nq, K: k, IDs: make([]int64, n), Distances: make([]float32, n)}
	for i := 0; i < n; i++ {
		r.IDs[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		r.Distances[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[8*n+4*i:]))
	}
	return r
}

// sameResults compares kume's results with FAISS's: the same ids in the same
// order, except that two results whose distances agree within tol may come in
// either order; distances agree within tol (relative to the larger of 1 and
// the distance). Empty slots (id -1) must match, with any distance (FAISS
// reports FLT_MAX where kume reports infinity).
func sameResults(t testing.TB, what string, got, want *kume.Results, tol float64) {
	t.Helper()
	if got.NQ != want.NQ || got.K != want.K {
		t.Fatalf("%s: %dx%d results, want %dx%d", what, got.NQ, got.K, want.NQ, want.K)
	}
	close := func(a, b float32) bool {
		return math.Abs(float64(a)-float64(b)) <= tol*math.Max(1, math.Abs(float64(b)))
	}
	bad := 0
	for q := 0; q < got.NQ; q++ {
		gd, gi := got.Row(q)
		wd, wi := want.Row(q)
		for j := range gi {
			if (gi[j] < 0) != (wi[j] < 0) {
				t.Errorf("%s: query %d rank %d: id %d, FAISS %d", what, q, j, gi[j], wi[j])
				bad++
				continue
			}
			if gi[j] < 0 {
				continue
			}
			if !close(gd[j], wd[j]) {
				t.Errorf("%s: query %d rank %d: distance %v, FAISS %v", what, q, j, gd[j], wd[j])
				bad++
			}
			if gi[j] != wi[j] && !tiedSwap(gi[j], wi, wd, gd[j], close) {
				t.Errorf("%s: query %d rank %d: id %d (distance %v), FAISS id %d (distance %v)", what, q, j, gi[j], gd[j], wi[j], wd[j])
				bad++
			}
			if bad > 10 {
				t.Fatalf("%s: too many differences", what)
			}
		}
	}
}

// tiedSwap reports whether id appears among FAISS's results of the row with a
// distance equal, within tolerance, to the one kume found for it, or whether
// it tied FAISS's last result (and so could have displaced it).
func tiedSwap(id int64, wi []int64, wd []float32, dist float32, close func(a, b float32) bool) bool {
	for j, w := range wi {
		if w == id {
			return close(dist, wd[j])
		}
	}
	return close(dist, wd[len(wd)-1])
}

type fileCase struct {
	name   string
	check  func(t *testing.T, idx kume.Index)
	search bool // compare searches with FAISS's
}

func fileCases() []fileCase {
	isFlat := func(m metric.Metric, n int) func(*testing.T, kume.Index) {
		return func(t *testing.T, idx kume.Index) {
			x, ok := idx.(*flat.Index)
			if !ok || x.Metric() != m || x.Len() != n || x.Dim() != fileDim {
				t.Fatalf("got %T %v %d-d with %d vectors", idx, idx.Metric(), idx.Dim(), idx.Len())
			}
		}
	}
	isIVF := func(m metric.Metric, nlist, nprobe, n int) func(*testing.T, kume.Index) {
		return func(t *testing.T, idx kume.Index) {
			x, ok := idx.(*ivf.Index)
			if !ok {
				t.Fatalf("got %T", idx)
			}
			if x.Metric() != m || x.NList() != nlist || x.NProbe() != nprobe || x.Len() != n || !x.IsTrained() {
				t.Fatalf("got IVF %v nlist %d nprobe %d with %d vectors, trained %v", x.Metric(), x.NList(), x.NProbe(), x.Len(), x.IsTrained())
			}
		}
	}
	isFastScan := func(m metric.Metric, pqm, n int) func(*testing.T, kume.Index) {
		return func(t *testing.T, idx kume.Index) {
			x, ok := idx.(*fastscan.Index)
			if !ok || x.Metric() != m || x.M() != pqm || x.Len() != n || x.Dim() != fileDim || !x.IsTrained() {
				t.Fatalf("got %T %v %d-d with %d vectors", idx, idx.Metric(), idx.Dim(), idx.Len())
			}
		}
	}
	isIVFFastScan := func(m metric.Metric, nlist, nprobe, n int, byResidual bool) func(*testing.T, kume.Index) {
		return func(t *testing.T, idx kume.Index) {
			isIVF(m, nlist, nprobe, n)(t, idx)
			c, ok := idx.(*ivf.Index).Codec().(*ivfpqfs.Codec)
			if !ok || c.M() != 4 || c.ByResidual() != byResidual {
				t.Fatalf("codec %T", idx.(*ivf.Index).Codec())
			}
		}
	}
	return []fileCase{
		{"flat_l2", isFlat(metric.L2, 300), true},
		{"flat_ip", isFlat(metric.InnerProduct, 300), true},
		{"ivf_flat_l2", isIVF(metric.L2, 8, 3, 300), true},
		{"ivf_flat_ip", isIVF(metric.InnerProduct, 8, 2, 300), true},
		{"ivf_flat_sparse", isIVF(metric.L2, 32, 32, 10), true},
		{"ivf_flat_empty", isIVF(metric.L2, 8, 1, 0), true},
		{"ivf_flat_rflat", func(t *testing.T, idx kume.Index) {
			x, ok := idx.(*refine.Index)
			if !ok || x.KFactor() != 4 {
				t.Fatalf("got %T", idx)
			}
			isIVF(metric.L2, 8, 2, 300)(t, x.Base())
		}, true},
		{"l2norm_flat", func(t *testing.T, idx kume.Index) {
			x, ok := idx.(*l2norm.Index)
			if !ok {
				t.Fatalf("got %T", idx)
			}
			isFlat(metric.InnerProduct, 300)(t, x.Sub())
		}, true},
		{"l2norm_ivf_flat", func(t *testing.T, idx kume.Index) {
			x, ok := idx.(*l2norm.Index)
			if !ok {
				t.Fatalf("got %T", idx)
			}
			isIVF(metric.InnerProduct, 8, 4, 300)(t, x.Sub())
		}, true},
		{"pq4fs", isFastScan(metric.L2, 4, 300), true},
		{"ivf_pq4fs", isIVFFastScan(metric.L2, 8, 3, 300, false), true},
		{"ivf_pq4fsr", isIVFFastScan(metric.L2, 8, 3, 300, true), true},
		{"ivf_pq4fs_rflat", func(t *testing.T, idx kume.Index) {
			x, ok := idx.(*refine.Index)
			if !ok || x.KFactor() != 4 {
				t.Fatalf("got %T", idx)
			}
			isIVFFastScan(metric.L2, 8, 3, 300, false)(t, x.Base())
		}, true},
		{"idmap_flat", func(t *testing.T, idx kume.Index) {
			isFlat(metric.L2, 50)(t, idx)
			if _, ids := idx.(*flat.Index).Vectors(); len(ids) != 50 || ids[3] != 37 {
				t.Fatalf("ids %v", ids)
			}
		}, true},
	}
}

// TestFAISSFiles reads files written by FAISS, checks their structure and
// stored parameters, compares searches with FAISS's answers, and writes them
// back: the bytes must be those FAISS wrote.
func TestFAISSFiles(t *testing.T) {
	queries := readF32File(t, "testdata/queries.f32")
	nq := len(queries) / fileDim
	for _, c := range fileCases() {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join("testdata", c.name+".index")
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			idx, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, idx)
			if c.search {
				got, err := idx.Search(ctx, queries, fileK, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := readRes(t, filepath.Join("testdata", c.name+".res"), nq, fileK)
				sameResults(t, c.name, got, want, 1e-5)
			}
			var buf bytes.Buffer
			if err := Write(&buf, idx); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), orig) {
				t.Errorf("written back: %d bytes differ from FAISS's %d (first difference at byte %d)", buf.Len(), len(orig), firstDiff(buf.Bytes(), orig))
			}
		})
	}
}

// TestFAISSFileHNSW reads the IndexHNSWFlat FAISS wrote and writes it back
// byte for byte. (Its answers are compared with FAISS's in hnsw_test.go.)
func TestFAISSFileHNSW(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("testdata", "hnsw.index"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := Read(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := idx.(*hnsw.Index); !ok || idx.Len() == 0 {
		t.Fatalf("read a %T holding %d vectors", idx, idx.Len())
	}
	var buf bytes.Buffer
	if err := Write(&buf, idx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), orig) {
		t.Errorf("written back: %d bytes differ from FAISS's %d (first difference at byte %d)", buf.Len(), len(orig), firstDiff(buf.Bytes(), orig))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestFAISSFilesUnsupported checks that valid records kume cannot search are
// reported with ErrUnsupported and a message naming them.
func TestFAISSFilesUnsupported(t *testing.T) {
	for name, want := range map[string]string{
		"ivf_pq8": "IndexIVFPQ",
	} {
		_, err := ReadFile(filepath.Join("testdata", name+".index"))
		if !errors.Is(err, kume.ErrUnsupported) || !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("%s: error %v, want ErrUnsupported naming %s", name, err, want)
		}
	}
}
