package faissio

import (
	"bytes"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/simdtest"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/kmeans"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

func randVecs(seed uint64, n, d int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func mustIVF(t testing.TB, d, nlist int, m metric.Metric, train []float32) *ivf.Index {
	t.Helper()
	x, err := ivf.NewFlat(d, nlist, m)
	if err != nil {
		t.Fatal(err)
	}
	x.KMeans = kmeans.Config{NIter: 4, Seed: 3, Logger: slog.New(slog.DiscardHandler)}
	if train != nil {
		if err := x.Train(ctx, train); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

// builtIndexes returns one index of every kind kume writes, filled with data.
func builtIndexes(t testing.TB) map[string]kume.Index {
	const d, n = 12, 600
	data := randVecs(1, n, d)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(1000 + 3*i)
	}
	out := map[string]kume.Index{}
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		f, _ := flat.New(d, m)
		_ = f.Add(ctx, data)
		out["flat/"+m.String()] = f

		fi, _ := flat.New(d, m)
		_ = fi.AddWithIDs(ctx, data, ids)
		out["flat-ids/"+m.String()] = fi

		v := mustIVF(t, d, 16, m, data)
		_ = v.AddWithIDs(ctx, data, ids)
		_ = v.SetNProbe(5)
		out["ivf-ids/"+m.String()] = v

		sparse := mustIVF(t, d, 64, m, data)
		_ = sparse.Add(ctx, data[:5*d])
		out["ivf-sparse/"+m.String()] = sparse

		out["ivf-untrained/"+m.String()] = mustIVF(t, d, 16, m, nil)

		base := mustIVF(t, d, 16, m, data)
		r, _ := refine.New(base)
		_ = r.Add(ctx, data)
		_ = r.SetParam("k_factor_rf", 8)
		_ = r.SetParam("nprobe", 3)
		out["ivf-rflat/"+m.String()] = r

		nf, _ := flat.New(d, m)
		ln := l2norm.New(nf)
		_ = ln.Add(ctx, data)
		out["l2norm-flat/"+m.String()] = ln

		nv := l2norm.New(mustIVF(t, d, 16, m, data))
		_ = nv.Add(ctx, data)
		out["l2norm-ivf/"+m.String()] = nv
	}
	empty, _ := flat.New(d, metric.L2)
	out["flat-empty"] = empty
	// Fast scan: odd and even M, by residual or not, with ids, untrained,
	// inside the wrappers.
	fast := func(desc string, m metric.Metric, train, add bool, withIDs bool) kume.Index {
		x, err := factory.New(d, desc, m)
		if err != nil {
			t.Fatal(err)
		}
		if train {
			if err := x.Train(ctx, data); err != nil {
				t.Fatal(err)
			}
		}
		switch {
		case add && withIDs:
			err = x.AddWithIDs(ctx, data, ids)
		case add:
			err = x.Add(ctx, data)
		}
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, m := range []metric.Metric{metric.L2, metric.InnerProduct} {
		out["pq4fs-odd/"+m.String()] = fast("PQ3x4fs", m, true, true, false)
		out["pq4fs-ids/"+m.String()] = fast("PQ6x4fs", m, true, true, true)
		out["ivf-pq4fs/"+m.String()] = fast("IVF16,PQ6x4fs", m, true, true, true)
		out["ivf-pq4fsr/"+m.String()] = fast("IVF16,PQ3x4fsr", m, true, true, false)
		out["ivf-pq4fs-rflat/"+m.String()] = fast("IVF16,PQ4x4fs,RFlat", m, true, true, false)
		out["l2norm-ivf-pq4fs/"+m.String()] = fast("L2norm,IVF16,PQ4x4fs", m, true, true, false)
	}
	out["pq4fs-untrained"] = fast("PQ4x4fs", metric.L2, false, false, false)
	out["pq4fs-empty"] = fast("PQ4x4fs", metric.L2, true, false, false)
	out["ivf-pq4fs-untrained"] = fast("IVF16,PQ4x4fs", metric.L2, false, false, false)
	out["ivf-pq4fs-empty"] = fast("IVF16,PQ4x4fs", metric.InnerProduct, true, false, false)
	return out
}

// TestRoundTrip checks that read(write(x)) searches exactly like x, keeps the
// stored parameters, and writes the same bytes again.
func TestRoundTrip(t *testing.T) { simdtest.ForEach(t, testRoundTrip) }

func testRoundTrip(t *testing.T) {
	queries := randVecs(2, 40, 12)
	for name, idx := range builtIndexes(t) {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := WriterTo(idx).WriteTo(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(buf.Len()) {
				t.Errorf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
			}
			first := bytes.Clone(buf.Bytes())
			back, err := Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if reflect.TypeOf(back) != reflect.TypeOf(idx) || back.Len() != idx.Len() || back.Dim() != idx.Dim() ||
				back.Metric() != idx.Metric() || back.IsTrained() != idx.IsTrained() {
				t.Fatalf("read back %T %d-d %v, %d vectors, trained %v", back, back.Dim(), back.Metric(), back.Len(), back.IsTrained())
			}
			if idx.IsTrained() {
				want, err := idx.Search(ctx, queries, 10, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, err := back.Search(ctx, queries, 10, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("search results differ after the round trip")
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

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.index")
	idx := builtIndexes(t)["ivf-ids/L2"]
	if err := WriteFile(path, idx); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Len() != idx.Len() {
		t.Fatalf("read %d vectors, want %d", back.Len(), idx.Len())
	}
	// A failed write leaves the previous file and no temporary files.
	if err := WriteFile(path, unsupportedIndex{idx}); !errors.Is(err, kume.ErrUnsupported) {
		t.Fatalf("writing an unknown index type: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after a failed write", len(entries))
	}
	if _, err := ReadFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("reading a missing file succeeded")
	}
}

// unsupportedIndex is an index type faissio does not know.
type unsupportedIndex struct{ kume.Index }

func TestWriteUnsupported(t *testing.T) {
	var buf bytes.Buffer
	idx := builtIndexes(t)["flat/L2"]
	for _, x := range []kume.Index{unsupportedIndex{idx}, l2norm.New(unsupportedIndex{idx})} {
		if err := Write(&buf, x); !errors.Is(err, kume.ErrUnsupported) {
			t.Errorf("%T: %v, want ErrUnsupported", x, err)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written for unsupported indexes", buf.Len())
	}
}
