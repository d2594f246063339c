package faissio

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/metric"
)

// filledIVF returns an IVFFlat index of n random d-dimensional vectors in
// nlist lists, filled directly (vector i in list i mod nlist) so that building
// it costs no k-means or assignment.
func filledIVF(tb testing.TB, n, d, nlist int) *ivf.Index {
	tb.Helper()
	x, err := ivf.NewFlat(d, nlist, metric.L2)
	if err != nil {
		tb.Fatal(err)
	}
	if err := x.SetCentroids(randVecs(5, nlist, d)); err != nil {
		tb.Fatal(err)
	}
	data := randVecs(6, n, d)
	err = x.LoadLists(func(c *ivf.Lists) error {
		per := make([][]int, nlist)
		for i := 0; i < n; i++ {
			per[i%nlist] = append(per[i%nlist], i)
		}
		var vecs []float32
		var ids []int64
		for l, rows := range per {
			vecs, ids = vecs[:0], ids[:0]
			for _, r := range rows {
				vecs = append(vecs, data[r*d:(r+1)*d]...)
				ids = append(ids, int64(r))
			}
			if err := c.Add(l, vecs, ids); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return x
}

// TestReadAllocations checks that reading an IVFFlat index allocates per
// list, not per vector.
func TestReadAllocations(t *testing.T) {
	const d, nlist = 16, 32
	count := func(n int) float64 {
		var buf bytes.Buffer
		if err := Write(&buf, filledIVF(t, n, d, nlist)); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		return testing.AllocsPerRun(3, func() {
			if _, err := Read(bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := count(1000), count(16000)
	if large > small+2*nlist {
		t.Errorf("reading 16000 vectors: %v allocations, 1000 vectors: %v; want about the same", large, small)
	}
	var wrote float64
	idx := filledIVF(t, 16000, d, nlist)
	wrote = testing.AllocsPerRun(3, func() {
		if err := Write(io.Discard, idx); err != nil {
			t.Fatal(err)
		}
	})
	if wrote > 20 {
		t.Errorf("writing 16000 vectors: %v allocations", wrote)
	}
}

// The RVC-sized benchmark: 200k x 256 in IVF1024,Flat (about 210 MB).
var (
	rvcOnce  sync.Once
	rvcIndex *ivf.Index
	rvcBytes []byte
)

func rvcSized(b *testing.B) (*ivf.Index, []byte) {
	if testing.Short() {
		b.Skip("builds a 210 MB index")
	}
	rvcOnce.Do(func() {
		rvcIndex = filledIVF(b, 200_000, 256, 1024)
		var buf bytes.Buffer
		if err := Write(&buf, rvcIndex); err != nil {
			b.Fatal(err)
		}
		rvcBytes = buf.Bytes()
	})
	return rvcIndex, rvcBytes
}

// BenchmarkWriteIVFFlat writes the index to memory (io.Discard).
func BenchmarkWriteIVFFlat(b *testing.B) {
	idx, data := rvcSized(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := Write(io.Discard, idx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadIVFFlat reads the index from memory.
func BenchmarkReadIVFFlat(b *testing.B) {
	_, data := rvcSized(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Read(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteFileIVFFlat writes the index to a file (temporary file,
// fsync, rename).
func BenchmarkWriteFileIVFFlat(b *testing.B) {
	idx, data := rvcSized(b)
	path := filepath.Join(b.TempDir(), "rvc.index")
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if err := WriteFile(path, idx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadFileIVFFlat reads the index from a file (usually in the page
// cache after the first iteration).
func BenchmarkReadFileIVFFlat(b *testing.B) {
	_, data := rvcSized(b)
	path := filepath.Join(b.TempDir(), "rvc.index")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}
