package faissio

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/pyfaiss"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

// pyBuildScript builds an index with FAISS's factory, writes it with
// faiss.write_index, and writes FAISS's answers to the queries.
//
// argv: base.f32 queries.f32 d k factory metric nprobe k_factor out.index out.res
const pyBuildScript = `
import sys, numpy as np, faiss
base, queries, d, k, desc, metric, nprobe, kf, out, res = sys.argv[1:]
d, k, nprobe, kf = int(d), int(k), int(nprobe), float(kf)
xb = np.fromfile(base, dtype="<f4").reshape(-1, d)
xq = np.fromfile(queries, dtype="<f4").reshape(-1, d)
m = faiss.METRIC_INNER_PRODUCT if metric == "IP" else faiss.METRIC_L2
index = faiss.index_factory(d, desc, m)
index.train(xb)
if desc.startswith("IDMap,"):
    index.add_with_ids(xb, np.arange(len(xb), dtype="int64") * 7 + 100)
else:
    index.add(xb)
def ivf_of(x):
    x = faiss.downcast_index(x)
    if isinstance(x, faiss.IndexRefine):
        return ivf_of(x.base_index)
    if isinstance(x, faiss.IndexPreTransform):
        return ivf_of(x.index)
    try:
        return faiss.extract_index_ivf(x)
    except RuntimeError:
        return None
if nprobe > 0:
    ivf_of(index).nprobe = nprobe
if kf > 0:
    faiss.downcast_index(index).k_factor = kf
faiss.write_index(index, out)
D, I = index.search(xq, k)
with open(res, "wb") as f:
    f.write(I.astype("<i8").tobytes()); f.write(D.astype("<f4").tobytes())
if isinstance(faiss.downcast_index(index), faiss.IndexRefine):
    # The refine step's candidates: the base's k * k_factor best.
    r = faiss.downcast_index(index)
    D, I = r.base_index.search(xq, int(k * r.k_factor))
    with open(res + ".base", "wb") as f:
        f.write(I.astype("<i8").tobytes()); f.write(D.astype("<f4").tobytes())
`

// pySearchScript reads an index with faiss.read_index, searches it with its
// stored parameters, writes the answers, and prints what it loaded.
//
// argv: in.index queries.f32 d k out.res
const pySearchScript = `
import sys, json, numpy as np, faiss
path, queries, d, k, res = sys.argv[1:]
d, k = int(d), int(k)
index = faiss.read_index(path)
xq = np.fromfile(queries, dtype="<f4").reshape(-1, d)
D, I = index.search(xq, k)
with open(res, "wb") as f:
    f.write(I.astype("<i8").tobytes()); f.write(D.astype("<f4").tobytes())
info = {"class": type(faiss.downcast_index(index)).__name__, "ntotal": int(index.ntotal),
        "d": int(index.d), "metric": int(index.metric_type)}
def ivf_of(x):
    x = faiss.downcast_index(x)
    if isinstance(x, faiss.IndexRefine):
        return ivf_of(x.base_index)
    if isinstance(x, faiss.IndexPreTransform):
        return ivf_of(x.index)
    try:
        return faiss.extract_index_ivf(x)
    except RuntimeError:
        return None
ivf = ivf_of(index)
if ivf is not None:
    info["nprobe"] = int(ivf.nprobe)
if isinstance(faiss.downcast_index(index), faiss.IndexRefine):
    info["k_factor"] = float(faiss.downcast_index(index).k_factor)
print(json.dumps(info))
`

func requirePython(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs python3-faiss; skipped with -short (the native CI lane runs it)")
	}
	pyfaiss.Require(t)
}

// TestPythonWritesGoReads builds indexes with python3-faiss, reads the files
// in Go and checks that kume answers the queries as FAISS did.
func TestPythonWritesGoReads(t *testing.T) {
	requirePython(t)
	const n, d, nq, k = 3000, 32, 50, 10
	dir := t.TempDir()
	bp := pyfaiss.WriteF32(t, dir, "base.f32", randVecs(21, n, d))
	queries := randVecs(22, nq, d)
	qp := pyfaiss.WriteF32(t, dir, "queries.f32", queries)
	cases := []struct {
		factory string
		m       metric.Metric
		nprobe  int
		kf      float32
		want    string // Go type
	}{
		{"Flat", metric.L2, 0, 0, "*flat.Index"},
		{"Flat", metric.InnerProduct, 0, 0, "*flat.Index"},
		{"IVF32,Flat", metric.L2, 1, 0, "*ivf.Index"},
		{"IVF32,Flat", metric.L2, 5, 0, "*ivf.Index"},
		{"IVF32,Flat", metric.InnerProduct, 3, 0, "*ivf.Index"},
		{"IVF32,Flat,RFlat", metric.L2, 2, 4, "*refine.Index"},
		{"L2norm,Flat", metric.InnerProduct, 0, 0, "*l2norm.Index"},
		{"L2norm,IVF32,Flat", metric.InnerProduct, 4, 0, "*l2norm.Index"},
		{"PQ16x4fs", metric.L2, 0, 0, "*fastscan.Index"},
		{"PQ16x4fs", metric.InnerProduct, 0, 0, "*fastscan.Index"},
		{"IDMap,PQ16x4fs", metric.L2, 0, 0, "*fastscan.Index"},
		{"IVF32,PQ16x4fs", metric.L2, 4, 0, "*ivf.Index"},
		{"IVF32,PQ16x4fsr", metric.L2, 4, 0, "*ivf.Index"},
		{"IVF32,PQ16x4fs", metric.InnerProduct, 3, 0, "*ivf.Index"},
		{"IVF32,PQ16x4fsr_96", metric.InnerProduct, 3, 0, "*ivf.Index"},
		{"IVF32,PQ8x4fs_64", metric.L2, 32, 0, "*ivf.Index"},
		{"IVF32,PQ16x4fs,RFlat", metric.L2, 4, 4, "*refine.Index"},
		{"L2norm,IVF32,PQ16x4fs", metric.InnerProduct, 4, 0, "*l2norm.Index"},
		// FAISS refines on the vectors as added, not normalised.
		{"L2norm,IVF32,PQ16x4fs,RFlat", metric.InnerProduct, 4, 2, "*refine.Index"},
	}
	for i, c := range cases {
		name := c.factory + "/" + c.m.String() + "/nprobe" + strconv.Itoa(c.nprobe)
		t.Run(name, func(t *testing.T) {
			ip := filepath.Join(dir, strconv.Itoa(i)+".index")
			rp := filepath.Join(dir, strconv.Itoa(i)+".res")
			pyfaiss.Run(t, pyBuildScript, bp, qp, strconv.Itoa(d), strconv.Itoa(k), c.factory, c.m.String(),
				strconv.Itoa(c.nprobe), strconv.FormatFloat(float64(c.kf), 'g', -1, 32), ip, rp)
			idx, err := ReadFile(ip)
			if err != nil {
				t.Fatal(err)
			}
			if got := typeName(idx); got != c.want || idx.Len() != n {
				t.Fatalf("read %s with %d vectors, want %s with %d", got, idx.Len(), c.want, n)
			}
			got, err := idx.Search(ctx, queries, k, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := readRes(t, rp, nq, k)
			if r, ok := idx.(*refine.Index); ok {
				got, want = sameCandidates(t, name, r, queries, k, got, want, rp+".base")
			}
			sameResults(t, name, got, want, 1e-4)
		})
	}
}

// sameCandidates checks a refining index's candidates (its base's k*k_factor
// best) against FAISS's, and returns the rows of the final results whose
// candidates are the same set of ids in both. Quantized distances tie often;
// when a tie straddles the last candidate, FAISS and kume may keep different
// (equally good) vectors, and re-ranking then legitimately differs. The
// candidates themselves must agree up to such ties, and at least half of the
// queries must have the very same candidate set, so that the final check
// cannot pass vacuously.
func sameCandidates(t *testing.T, what string, r *refine.Index, queries []float32, k int, got, want *kume.Results, basePath string) (*kume.Results, *kume.Results) {
	t.Helper()
	kb := int(float32(k) * r.KFactor())
	nq := got.NQ
	base, err := r.Base().Search(ctx, queries, kb, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantBase := readRes(t, basePath, nq, kb)
	sameResults(t, what+" candidates", base, wantBase, 1e-4)
	keptG := &kume.Results{K: k}
	keptW := &kume.Results{K: k}
	for q := 0; q < nq; q++ {
		_, gi := base.Row(q)
		_, wi := wantBase.Row(q)
		a, b := slices.Clone(gi), slices.Clone(wi)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			continue
		}
		for _, p := range [][2]*kume.Results{{keptG, got}, {keptW, want}} {
			d, ids := p[1].Row(q)
			p[0].Distances = append(p[0].Distances, d...)
			p[0].IDs = append(p[0].IDs, ids...)
			p[0].NQ++
		}
	}
	if keptG.NQ < nq/2 {
		t.Fatalf("%s: the candidates of only %d of %d queries are the same set as FAISS's", what, keptG.NQ, nq)
	}
	return keptG, keptW
}

// TestGoWritesPythonReads writes kume's indexes, reads them with
// faiss.read_index and checks that FAISS answers the queries as kume does,
// with the parameters kume stored.
func TestGoWritesPythonReads(t *testing.T) {
	requirePython(t)
	const n, d, nq, k = 3000, 32, 50, 10
	dir := t.TempDir()
	data := randVecs(31, n, d)
	queries := randVecs(32, nq, d)
	qp := pyfaiss.WriteF32(t, dir, "queries.f32", queries)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(7*i + 100)
	}
	type build struct {
		name   string
		class  string
		nprobe int
		idx    kume.Index
	}
	var builds []build
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		f, _ := flat.New(d, m)
		_ = f.Add(ctx, data)
		// FAISS 1.7 loads IxF2 and IxFI as IndexFlat; newer versions as
		// IndexFlatL2 and IndexFlatIP. The metric is checked either way.
		builds = append(builds, build{"flat/" + m.String(), "IndexFlat", 0, f})

		v := mustIVF(t, d, 32, m, data)
		_ = v.AddWithIDs(ctx, data, ids)
		_ = v.SetNProbe(4)
		builds = append(builds, build{"ivf-ids/" + m.String(), "IndexIVFFlat", 4, v})

		ln := l2norm.New(mustIVF(t, d, 32, m, data))
		_ = ln.Add(ctx, data)
		_ = ln.Sub().(*ivf.Index).SetNProbe(3)
		builds = append(builds, build{"l2norm-ivf/" + m.String(), "IndexPreTransform", 3, ln})
	}
	fi, _ := flat.New(d, metric.L2)
	_ = fi.AddWithIDs(ctx, data, ids)
	builds = append(builds, build{"flat-ids", "IndexIDMap", 0, fi})
	r, _ := refine.New(mustIVF(t, d, 32, metric.L2, data))
	_ = r.Add(ctx, data)
	_ = r.SetParam("k_factor_rf", 4)
	_ = r.SetParam("nprobe", 2)
	builds = append(builds, build{"ivf-rflat", "IndexRefineFlat", 2, r})
	for _, c := range []struct {
		factory, class string
		m              metric.Metric
		nprobe         int
	}{
		{"PQ16x4fs", "IndexPQFastScan", metric.L2, 0},
		{"PQ16x4fs", "IndexPQFastScan", metric.InnerProduct, 0},
		{"IVF32,PQ16x4fs", "IndexIVFPQFastScan", metric.L2, 4},
		{"IVF32,PQ16x4fsr", "IndexIVFPQFastScan", metric.L2, 4},
		{"IVF32,PQ16x4fs", "IndexIVFPQFastScan", metric.InnerProduct, 3},
		{"IVF32,PQ8x4fsr", "IndexIVFPQFastScan", metric.InnerProduct, 32},
		{"IVF32,PQ16x4fs,RFlat", "IndexRefineFlat", metric.L2, 4},
		{"L2norm,IVF32,PQ16x4fs,RFlat", "IndexPreTransform", metric.InnerProduct, 4},
	} {
		x, err := factory.New(d, c.factory, c.m)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Train(ctx, data); err != nil {
			t.Fatal(err)
		}
		if err := x.Add(ctx, data); err != nil {
			t.Fatal(err)
		}
		params := ""
		if c.nprobe > 0 {
			params = "nprobe=" + strconv.Itoa(c.nprobe)
		}
		if strings.HasSuffix(c.factory, "RFlat") {
			params += ",k_factor_rf=4"
		}
		if err := factory.SetParams(x, params); err != nil {
			t.Fatal(err)
		}
		builds = append(builds, build{c.factory + "/" + c.m.String(), c.class, c.nprobe, x})
	}
	fs, _ := factory.New(d, "PQ16x4fs", metric.L2)
	_ = fs.Train(ctx, data)
	_ = fs.AddWithIDs(ctx, data, ids)
	builds = append(builds, build{"pq4fs-ids", "IndexIDMap", 0, fs})
	// An RVC v1-shaped index: 256-d, L2, nprobe 1, k = 8.
	rvc := mustIVF(t, 256, 16, metric.L2, randVecs(33, 1000, 256))
	_ = rvc.Add(ctx, randVecs(33, 1000, 256))
	builds = append(builds, build{"rvc-v1", "IndexIVFFlat", 1, rvc})

	for i, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			p := filepath.Join(dir, strconv.Itoa(i)+".index")
			rp := filepath.Join(dir, strconv.Itoa(i)+".res")
			if err := WriteFile(p, b.idx); err != nil {
				t.Fatal(err)
			}
			q := queries
			if b.idx.Dim() != d {
				q = randVecs(34, nq, b.idx.Dim())
			}
			qpath := qp
			if b.idx.Dim() != d {
				qpath = pyfaiss.WriteF32(t, dir, "queries-"+strconv.Itoa(i)+".f32", q)
			}
			kk := k
			if b.name == "rvc-v1" {
				kk = 8
			}
			out := pyfaiss.Run(t, pySearchScript, p, qpath, strconv.Itoa(b.idx.Dim()), strconv.Itoa(kk), rp)
			var info struct {
				Class  string  `json:"class"`
				NTotal int     `json:"ntotal"`
				D      int     `json:"d"`
				NProbe int     `json:"nprobe"`
				Metric int32   `json:"metric"`
				KF     float32 `json:"k_factor"`
			}
			if err := json.Unmarshal(out, &info); err != nil {
				t.Fatalf("python output %q: %v", out, err)
			}
			wantKF := float32(0)
			if rf, ok := b.idx.(*refine.Index); ok {
				wantKF = rf.KFactor()
			}
			if !strings.HasPrefix(info.Class, b.class) || info.NTotal != b.idx.Len() || info.D != b.idx.Dim() ||
				info.NProbe != b.nprobe || info.Metric != metricToFAISS(b.idx.Metric()) || info.KF != wantKF {
				t.Fatalf("FAISS loaded %+v, want %s with %d vectors, nprobe %d", info, b.class, b.idx.Len(), b.nprobe)
			}
			want, err := b.idx.Search(ctx, q, kk, nil)
			if err != nil {
				t.Fatal(err)
			}
			sameResults(t, b.name, want, readRes(t, rp, nq, kk), 1e-4)
		})
	}
}

func typeName(x any) string {
	switch x.(type) {
	case *flat.Index:
		return "*flat.Index"
	case *ivf.Index:
		return "*ivf.Index"
	case *refine.Index:
		return "*refine.Index"
	case *l2norm.Index:
		return "*l2norm.Index"
	case *fastscan.Index:
		return "*fastscan.Index"
	}
	return "other"
}
