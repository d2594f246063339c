package faissio

import (
	"bytes"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/pyfaiss"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

// refineWithIDs returns refining indexes whose ids are not the rows of their
// stores: after RemoveIDs then Add, and filled with AddWithIDs (one id
// stored twice), over each base kume writes.
func refinedWithIDs(t testing.TB, d int) map[string]kume.Index {
	t.Helper()
	data := randVecs(51, 800, d)
	out := map[string]kume.Index{}
	build := func(desc string, m metric.Metric) kume.Index {
		x, err := factory.New(d, desc, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Train(ctx, data); err != nil {
			t.Fatal(err)
		}
		if err := factory.SetParams(x, "nprobe=3,k_factor_rf=4"); err != nil {
			if err := factory.SetParams(x, "k_factor_rf=4"); err != nil {
				t.Fatal(err)
			}
		}
		return x
	}
	for _, c := range []struct {
		desc string
		m    metric.Metric
	}{
		{"IVF16,Flat,RFlat", metric.L2},
		{"IVF16,PQ4x4fs,RFlat", metric.L2},
		{"IVF16,PQ3x4fsr,RFlat", metric.InnerProduct},
		{"PQ4x4fs,RFlat", metric.L2},
		{"Flat,RFlat", metric.InnerProduct},
		{"L2norm,IVF16,PQ4x4fs,RFlat", metric.InnerProduct},
	} {
		removed := build(c.desc, c.m)
		if err := removed.Add(ctx, data[:600*d]); err != nil {
			t.Fatal(err)
		}
		gone := []int64{0, 1, 7, 250, 599}
		for i := int64(300); i < 340; i++ {
			gone = append(gone, i)
		}
		if n, err := removed.(kume.Remover).RemoveIDs(gone); err != nil || n != len(gone) {
			t.Fatalf("%s: RemoveIDs removed %d: %v", c.desc, n, err)
		}
		if err := removed.Add(ctx, data[600*d:700*d]); err != nil {
			t.Fatal(err)
		}
		out[c.desc+"/"+c.m.String()+"/removed"] = removed

		own := build(c.desc, c.m)
		ids := make([]int64, 300)
		for i := range ids {
			ids[i] = int64(5000 - 7*i)
		}
		ids[299] = ids[10] // stored twice: searches may return both
		if err := own.AddWithIDs(ctx, data[:300*d], ids); err != nil {
			t.Fatal(err)
		}
		out[c.desc+"/"+c.m.String()+"/own-ids"] = own
	}
	return out
}

// storedIDs returns the ids a refining index holds, in store order.
func storedIDs(t testing.TB, idx kume.Index) []int64 {
	var ids []int64
	if err := eachID(idx, func(id int64) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestRefineWithIDsRoundTrip writes refining indexes whose ids are not
// their stores' rows and reads them back: the same type, ids, search
// answers and reconstructed vectors, and the same bytes when written again.
func TestRefineWithIDsRoundTrip(t *testing.T) {
	const d = 12
	queries := randVecs(52, 30, d)
	for name, idx := range refinedWithIDs(t, d) {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, idx); err != nil {
				t.Fatal(err)
			}
			first := bytes.Clone(buf.Bytes())
			back, err := Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if reflect.TypeOf(back) != reflect.TypeOf(idx) || back.Len() != idx.Len() {
				t.Fatalf("read back %T with %d vectors, want %T with %d", back, back.Len(), idx, idx.Len())
			}
			ids := storedIDs(t, idx)
			if got := storedIDs(t, back); !slices.Equal(got, ids) {
				t.Fatalf("ids after the round trip differ")
			}
			for _, k := range []int{1, 10} {
				want, err := idx.Search(ctx, queries, k, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, err := back.Search(ctx, queries, k, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("k=%d: search results differ after the round trip", k)
				}
			}
			for _, id := range ids {
				want, err := idx.(kume.Reconstructor).Reconstruct(id, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, err := back.(kume.Reconstructor).Reconstruct(id, nil)
				if err != nil || !slices.Equal(got, want) {
					t.Fatalf("Reconstruct(%d) = %v, %v; want %v", id, got, err, want)
				}
			}
			var again bytes.Buffer
			if err := Write(&again, back); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), first) {
				t.Errorf("second write differs from the first at byte %d", firstDiff(again.Bytes(), first))
			}
		})
	}
}

// TestRefineInconsistentIDs writes a refining index whose base holds an id
// its store does not: the write fails before any byte is written.
func TestRefineInconsistentIDs(t *testing.T) {
	const d = 4
	data := randVecs(53, 3, d)
	base, _ := flat.New(d, metric.L2)
	if err := base.AddWithIDs(ctx, data, []int64{4, 9, 11}); err != nil {
		t.Fatal(err)
	}
	for _, storeIDs := range [][]int64{{4, 9, 12}, {0, 1, 2}} {
		store, _ := flat.New(d, metric.L2)
		if err := store.AddWithIDs(ctx, data, storeIDs); err != nil {
			t.Fatal(err)
		}
		r, err := refine.NewWithStore(base, store, 1)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, r); err == nil || buf.Len() != 0 {
			t.Errorf("store ids %v: Write wrote %d bytes, error %v", storeIDs, buf.Len(), err)
		}
	}
}

// pyIDMapRefineScript builds FAISS's own IndexIDMap over an
// IndexRefineFlat, fills it with add_with_ids, writes it and its answers.
//
// argv: base.f32 queries.f32 d k factory nprobe k_factor out.index out.res
const pyIDMapRefineScript = `
import sys, numpy as np, faiss
base, queries, d, k, desc, nprobe, kf, out, res = sys.argv[1:]
d, k, nprobe, kf = int(d), int(k), int(nprobe), float(kf)
xb = np.fromfile(base, dtype="<f4").reshape(-1, d)
xq = np.fromfile(queries, dtype="<f4").reshape(-1, d)
inner = faiss.index_factory(d, desc)
inner.train(xb)
r = faiss.downcast_index(inner)
r.k_factor = kf
faiss.extract_index_ivf(r.base_index).nprobe = nprobe
index = faiss.IndexIDMap(inner)
index.add_with_ids(xb, 90000 - 3 * np.arange(len(xb), dtype="int64"))
faiss.write_index(index, out)
D, I = index.search(xq, k)
with open(res, "wb") as f:
    f.write(I.astype("<i8").tobytes()); f.write(D.astype("<f4").tobytes())
` + pyCandidates + `
candidates(index, xq, k, res + ".base")
`

// pyCandidates defines candidates(index, xq, k, path): for an IndexIDMap
// over an IndexRefine, it writes the base's k*k_factor best, labelled with
// the id map's ids (the candidates the refine step re-ranks).
const pyCandidates = `
def candidates(index, xq, k, path):
    x = faiss.downcast_index(index)
    if not isinstance(x, faiss.IndexIDMap):
        return
    ids = faiss.vector_to_array(x.id_map)
    r = faiss.downcast_index(x.index)
    if not isinstance(r, faiss.IndexRefine):
        return
    D, I = r.base_index.search(xq, int(k * r.k_factor))
    I = np.where(I >= 0, ids[np.maximum(I, 0)], -1)
    with open(path, "wb") as f:
        f.write(I.astype("<i8").tobytes()); f.write(D.astype("<f4").tobytes())
`

// pyReadSearchScript reads an index, searches it with its stored
// parameters and writes the answers; it prints the classes it loaded.
//
// argv: in.index queries.f32 d k out.res
const pyReadSearchScript = `
import sys, numpy as np, faiss
path, queries, d, k, res = sys.argv[1:]
d, k = int(d), int(k)
index = faiss.read_index(path)
xq = np.fromfile(queries, dtype="<f4").reshape(-1, d)
D, I = index.search(xq, k)
with open(res, "wb") as f:
    f.write(I.astype("<i8").tobytes()); f.write(D.astype("<f4").tobytes())
names = []
x = index
while x is not None:
    x = faiss.downcast_index(x)
    names.append(type(x).__name__)
    x = getattr(x, "index", None) or getattr(x, "base_index", None)
print(",".join(names))
` + pyCandidates + `
candidates(index, xq, k, res + ".base")
`

// TestRefineWithIDsFAISS checks the file layout against FAISS: FAISS loads
// kume's refining indexes with non-sequential ids and answers as kume does,
// and kume loads the IndexIDMap over IndexRefineFlat that FAISS builds with
// add_with_ids and answers as FAISS does.
func TestRefineWithIDsFAISS(t *testing.T) {
	requirePython(t)
	const d, nq, k = 12, 40, 10
	dir := t.TempDir()
	queries := randVecs(54, nq, d)
	qp := pyfaiss.WriteF32(t, dir, "queries.f32", queries)
	i := 0
	for name, idx := range refinedWithIDs(t, d) {
		i++
		p := filepath.Join(dir, strconv.Itoa(i)+".index")
		rp := filepath.Join(dir, strconv.Itoa(i)+".res")
		if err := WriteFile(p, idx); err != nil {
			t.Fatal(err)
		}
		out := pyfaiss.Run(t, pyReadSearchScript, p, qp, strconv.Itoa(d), strconv.Itoa(k), rp)
		want, err := idx.Search(ctx, queries, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: FAISS loaded %s", name, bytes.TrimSpace(out))
		sameRefined(t, name, idx, queries, k, want, readRes(t, rp, nq, k), rp+".base")
	}

	const n = 2000
	bp := pyfaiss.WriteF32(t, dir, "base.f32", randVecs(55, n, d))
	for _, desc := range []string{"IVF16,Flat,RFlat", "IVF16,PQ4x4fs,RFlat"} {
		p := filepath.Join(dir, "py.index")
		rp := filepath.Join(dir, "py.res")
		pyfaiss.Run(t, pyIDMapRefineScript, bp, qp, strconv.Itoa(d), strconv.Itoa(k), desc, "3", "4", p, rp)
		idx, err := ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := idx.(*refine.Index); !ok || idx.Len() != n {
			t.Fatalf("%s: read %T with %d vectors", desc, idx, idx.Len())
		}
		got, err := idx.Search(ctx, queries, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameRefined(t, "FAISS's IDMap over "+desc, idx, queries, k, got, readRes(t, rp, nq, k), rp+".base")
		if v, err := idx.(kume.Reconstructor).Reconstruct(90000-3*5, nil); err != nil || len(v) != d {
			t.Fatalf("%s: Reconstruct of the 6th vector's id: %v", desc, err)
		}
	}
}

// sameRefined compares kume's answers of a refining index with FAISS's.
// Quantized distances tie often, and kume breaks ties by id where FAISS,
// inside its id map, breaks them by row; so for a refine.Index the final
// answers are compared on the queries whose candidates are the same set in
// both (see sameCandidates).
func sameRefined(t *testing.T, what string, idx kume.Index, queries []float32, k int, got, want *kume.Results, basePath string) {
	t.Helper()
	if r, ok := idx.(*refine.Index); ok {
		got, want = sameCandidates(t, what, r, queries, k, got, want, basePath)
	}
	sameResults(t, what, got, want, 1e-4)
}
