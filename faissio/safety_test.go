package faissio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

// plainReader hides everything but Read, so the decoder cannot learn the
// input's size.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	runtime.GC()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func searchableFiles(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, c := range fileCases() {
		b, err := os.ReadFile(filepath.Join("testdata", c.name+".index"))
		if err != nil {
			t.Fatal(err)
		}
		out[c.name] = b
	}
	return out
}

// checkedFiles are files whose records kume reads to the end and checks
// before reporting that it cannot search them.
var checkedFiles = []string{"ivf_pq8"}

// TestTruncated reads every prefix of every file (every byte near the start,
// then a stride): each must fail with ErrCorrupt, whether or not the reader
// knows the input's size.
func TestTruncated(t *testing.T) {
	stride := 7
	if testing.Short() {
		stride = 61
	}
	files := searchableFiles(t)
	for _, name := range checkedFiles {
		b, err := os.ReadFile(filepath.Join("testdata", name+".index"))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, b := range files {
		for n := 0; n < len(b); n++ {
			if n > 600 && n%stride != 0 && n != len(b)-1 {
				continue
			}
			for _, r := range []io.Reader{bytes.NewReader(b[:n]), plainReader{bytes.NewReader(b[:n])}} {
				_, err := Read(r)
				if !errors.Is(err, kume.ErrCorrupt) {
					t.Fatalf("%s cut at %d of %d bytes (%T): %v, want ErrCorrupt", name, n, len(b), r, err)
				}
			}
		}
	}
}

func TestNotAnIndex(t *testing.T) {
	for _, s := range []string{"", "\x89PNG\r\n\x1a\n", "<!DOCTYPE html><html></html>", "\x00\x00\x00\x00"} {
		if _, err := Read(strings.NewReader(s)); !errors.Is(err, kume.ErrCorrupt) {
			t.Errorf("%q: %v, want ErrCorrupt", s, err)
		}
	}
	if _, err := Read(strings.NewReader("IxZZ" + strings.Repeat("\x00", 40))); !errors.Is(err, kume.ErrUnsupported) {
		t.Errorf("unknown record tag: %v, want ErrUnsupported", err)
	}
	if _, err := Read(strings.NewReader("null")); !errors.Is(err, kume.ErrUnsupported) {
		t.Errorf("null index: %v, want ErrUnsupported", err)
	}
}

func le32(v int32) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }
func le64(v int64) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(v)) }

// flatHeader returns the bytes of an IndexFlatL2 record up to its vectors.
func flatHeader(d int32, ntotal int64, count int64) []byte {
	var b []byte
	b = append(b, "IxF2"...)
	b = append(b, le32(d)...)
	b = append(b, le64(ntotal)...)
	b = append(b, le64(1<<20)...)
	b = append(b, le64(1<<20)...)
	b = append(b, 1)
	b = append(b, le32(1)...)
	return append(b, le64(count)...)
}

// TestAbsurdSizes reads tiny inputs whose headers claim huge arrays: each
// fails with ErrCorrupt after allocating almost nothing, whether the input's
// size is known (checked up front) or not (read in chunks).
func TestAbsurdSizes(t *testing.T) {
	const n = 1_000_000_000_000 // 10^12 vectors
	claims := map[string][]byte{
		"flat 10^12 x 8":          append(flatHeader(8, n, 8*n), make([]byte, 64)...),
		"flat count overflow":     flatHeader(1<<20, 1<<62, -1),
		"ivf nlist 2^31-1 sizes":  ivfClaim(1<<31-1, "full", 1<<31-1),
		"ivf sparse 2^31-1 lists": ivfClaim(1<<31-1, "sprs", 1<<40),
		"ivf nlist 10^12":         ivfClaim(n, "full", n),
	}
	for name, b := range claims {
		for _, mk := range []func() io.Reader{
			func() io.Reader { return bytes.NewReader(b) },
			func() io.Reader { return plainReader{bytes.NewReader(b)} },
		} {
			r := mk()
			var err error
			a := allocated(func() { _, err = Read(r) })
			if !errors.Is(err, kume.ErrCorrupt) {
				t.Errorf("%s (%T): %v, want ErrCorrupt", name, r, err)
			}
			limit := uint64(64 << 10)
			if _, plain := r.(plainReader); plain {
				limit = 4 << 20 // the buffer plus one chunk
			}
			if a > limit {
				t.Errorf("%s (%T): allocated %d bytes for a %d-byte input", name, r, a, len(b))
			}
		}
	}
	// InputSize gives a plain reader the up-front check.
	b := claims["flat 10^12 x 8"]
	var err error
	a := allocated(func() { _, err = Read(plainReader{bytes.NewReader(b)}, InputSize(int64(len(b)))) })
	if !errors.Is(err, kume.ErrCorrupt) || a > 64<<10 {
		t.Errorf("InputSize: %v after allocating %d bytes", err, a)
	}
}

// ivfClaim returns an untrained IndexIVFFlat with nlist lists whose 'ilar'
// record claims count list sizes (or sparse entries).
func ivfClaim(nlist int64, listType string, count int64) []byte {
	var b []byte
	b = append(b, "IwFl"...)
	b = append(b, le32(8)...)
	b = append(b, le64(0)...)
	b = append(b, le64(1<<20)...)
	b = append(b, le64(1<<20)...)
	b = append(b, 0)
	b = append(b, le32(1)...)
	b = append(b, le64(nlist)...)
	b = append(b, le64(1)...)
	b = append(b, flatHeader(8, 0, 0)...)
	b = append(b, 0)
	b = append(b, le64(0)...)
	b = append(b, "ilar"...)
	b = append(b, le64(nlist)...)
	b = append(b, le64(32)...)
	b = append(b, listType...)
	b = append(b, le64(count)...)
	return append(b, make([]byte, 256)...)
}

// Field offsets in testdata/ivf_flat_l2.index (d = 8, nlist = 8, FAISS's
// 'full' lists).
const (
	offD         = 4
	offNTotal    = 8
	offTrained   = 32
	offMetric    = 33
	offNList     = 37
	offNProbe    = 45
	offQuantizer = 53
	offQMetric   = offQuantizer + 4 + 29
	offQCount    = offQuantizer + 37
	offDirectMap = offQuantizer + 45 + 8*8*4
	offIlar      = offDirectMap + 9
	offIlNList   = offIlar + 4
	offIlCode    = offIlar + 12
	offListType  = offIlar + 20
	offSizes     = offIlar + 24
	offData      = offSizes + 8 + 8*8
)

// TestInconsistent patches single fields of a valid IVFFlat file.
func TestInconsistent(t *testing.T) {
	orig, err := os.ReadFile("testdata/ivf_flat_l2.index")
	if err != nil {
		t.Fatal(err)
	}
	if string(orig[offIlar:offIlar+4]) != "ilar" || string(orig[offListType:offListType+4]) != "full" {
		t.Fatal("testdata/ivf_flat_l2.index does not have the expected layout")
	}
	size0 := int64(binary.LittleEndian.Uint64(orig[offSizes+8:]))
	firstID := offData + int(size0)*8*4
	patches := []struct {
		name string
		off  int
		val  []byte
		want error
	}{
		{"negative d", offD, le32(-1), kume.ErrCorrupt},
		{"d 2^21", offD, le32(1 << 21), kume.ErrCorrupt},
		{"negative ntotal", offNTotal, le64(-5), kume.ErrCorrupt},
		{"ntotal 10^12", offNTotal, le64(1e12), kume.ErrCorrupt},
		{"ntotal off by one", offNTotal, le64(301), kume.ErrCorrupt},
		{"bool 2", offTrained, []byte{2}, kume.ErrCorrupt},
		{"unknown metric", offMetric, le32(7), kume.ErrCorrupt},
		{"L1 metric", offMetric, le32(2), kume.ErrUnsupported},
		{"nlist 0", offNList, le64(0), kume.ErrCorrupt},
		{"nlist 9", offNList, le64(9), kume.ErrCorrupt},
		{"nlist 2^40", offNList, le64(1 << 40), kume.ErrCorrupt},
		{"nprobe 0", offNProbe, le64(0), kume.ErrCorrupt},
		{"a flat quantizer tagged HNSW", offQuantizer, []byte("IHNf"), kume.ErrCorrupt},
		{"garbage quantizer", offQuantizer, []byte{0, 1, 2, 3}, kume.ErrCorrupt},
		{"quantizer metric", offQMetric, le32(0), kume.ErrCorrupt},
		{"quantizer count", offQCount, le64(1e12), kume.ErrCorrupt},
		{"NaN centroid", offQCount + 8, le32(0x7fc00000), kume.ErrUnsupported},
		{"direct map type", offDirectMap, []byte{3}, kume.ErrCorrupt},
		{"direct map size", offDirectMap + 1, le64(1 << 50), kume.ErrCorrupt},
		{"list nlist", offIlNList, le64(7), kume.ErrCorrupt},
		{"code size", offIlCode, le64(31), kume.ErrCorrupt},
		{"list type", offListType, []byte("fuul"), kume.ErrCorrupt},
		{"size count", offSizes, le64(7), kume.ErrCorrupt},
		{"list size +1", offSizes + 8, le64(size0 + 1), kume.ErrCorrupt},
		{"list size 2^62", offSizes + 8, le64(1 << 62), kume.ErrCorrupt},
		{"list size -1", offSizes + 8, le64(-1), kume.ErrCorrupt},
		{"negative id", firstID, le64(-1), kume.ErrCorrupt},
	}
	for _, p := range patches {
		b := bytes.Clone(orig)
		copy(b[p.off:], p.val)
		_, err := Read(bytes.NewReader(b))
		if !errors.Is(err, p.want) {
			t.Errorf("%s: %v, want %v", p.name, err, p.want)
		}
		if _, err2 := Read(plainReader{bytes.NewReader(b)}); !errors.Is(err2, p.want) {
			t.Errorf("%s, size unknown: %v, want %v", p.name, err2, p.want)
		}
	}
}

func TestMaxBytes(t *testing.T) {
	_, err := ReadFile("testdata/flat_l2.index", MaxBytes(1000))
	if !errors.Is(err, kume.ErrCorrupt) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("MaxBytes(1000) on a 9.6 kB flat index: %v", err)
	}
	if _, err := ReadFile("testdata/flat_l2.index", MaxBytes(1<<20)); err != nil {
		t.Errorf("MaxBytes(1 MiB): %v", err)
	}
}

// TestDeepNesting checks that a chain of nested records is cut off.
func TestDeepNesting(t *testing.T) {
	var b []byte
	for i := 0; i < 100; i++ {
		b = append(b, "IxPT"...)
		b = append(b, le32(8)...)
		b = append(b, le64(0)...)
		b = append(b, le64(1<<20)...)
		b = append(b, le64(1<<20)...)
		b = append(b, 1)
		b = append(b, le32(1)...)
		b = append(b, le32(0)...)
	}
	if _, err := Read(bytes.NewReader(b)); !errors.Is(err, kume.ErrCorrupt) || !strings.Contains(err.Error(), "nested") {
		t.Errorf("100 nested records: %v", err)
	}
}

// addSeeds gives a fuzz target of this package its common seeds: the test
// files of up to 16 KiB and an IVF record whose lists claim more than it
// holds.
func addSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.index")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 16<<10 {
			f.Add(b)
		}
	}
	f.Add(ivfClaim(8, "sprs", 4))
}

// FuzzRead feeds arbitrary bytes to Read, seeded with real FAISS files. It
// must never panic; whatever it accepts must write back and read again.
func FuzzRead(f *testing.F) {
	addSeeds(f)
	// An IndexIDMap over an IndexRefineFlat (a refining index with its own
	// ids).
	base, _ := flat.New(4, metric.L2)
	r, _ := refine.New(base)
	if err := r.AddWithIDs(ctx, randVecs(56, 3, 4), []int64{40, 7, 19}); err != nil {
		f.Fatal(err)
	}
	var rb bytes.Buffer
	if err := Write(&rb, r); err != nil {
		f.Fatal(err)
	}
	f.Add(rb.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range []io.Reader{bytes.NewReader(b), plainReader{bytes.NewReader(b)}} {
			idx, err := Read(r)
			if err != nil {
				if !errors.Is(err, kume.ErrCorrupt) && !errors.Is(err, kume.ErrUnsupported) {
					t.Fatalf("error wraps neither ErrCorrupt nor ErrUnsupported: %v", err)
				}
				continue
			}
			var buf bytes.Buffer
			if err := Write(&buf, idx); err != nil {
				t.Fatalf("accepted index does not write back: %v", err)
			}
			back, err := Read(&buf)
			if err != nil {
				t.Fatalf("written index does not read back: %v", err)
			}
			if back.Len() != idx.Len() || back.Dim() != idx.Dim() {
				t.Fatalf("read back %d x %d, want %d x %d", back.Len(), back.Dim(), idx.Len(), idx.Dim())
			}
		}
	})
}
