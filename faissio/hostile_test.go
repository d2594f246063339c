package faissio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

// untrainedFastScanNoLists returns an untrained IndexIVFPQFastScan record
// declaring nlist lists and storing no inverted lists ('il00').
func untrainedFastScanNoLists(t *testing.T, nlist int64) []byte {
	t.Helper()
	x, err := factory.New(8, "IVF16,PQ4x4fs", metric.L2)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, x); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	at := bytes.Index(b, []byte("ilbl"))
	if string(b[:4]) != "IwPf" || at < 0 {
		t.Fatal("unexpected layout of an untrained IndexIVFPQFastScan")
	}
	b = append(b[:at], "il00"...)
	binary.LittleEndian.PutUint64(b[offNList:], uint64(nlist))
	return b
}

// TestUntrainedNListBacked reads untrained IVF records whose nlist nothing
// in the file backs: an IndexIVFFlat of 139 bytes and an IndexIVFPQFastScan
// without inverted lists, both declaring 2^31-1 lists. Loading them would
// commit later steps to work and memory in proportion to nlist (kume info's
// list sizes, 16 bytes per list to write the fast-scan one back), so they
// are refused, after allocating almost nothing. Untrained records of up to
// 2^16 lists, and records whose block lists store every list, still load.
func TestUntrainedNListBacked(t *testing.T) {
	flatClaim := ivfClaim(1<<31-1, "sprs", 0)
	flatClaim = flatClaim[:len(flatClaim)-256]
	hostile := map[string][]byte{
		"IndexIVFFlat":       flatClaim,
		"IndexIVFFlat il00":  append(bytes.Clone(flatClaim[:offIlar]), "il00"...),
		"IndexIVFPQFastScan": untrainedFastScanNoLists(t, 1<<31-1),
	}
	for name, b := range hostile {
		for _, r := range []io.Reader{bytes.NewReader(b), plainReader{bytes.NewReader(b)}} {
			var err error
			a := allocated(func() { _, err = Read(r) })
			if !errors.Is(err, kume.ErrCorrupt) {
				t.Errorf("%s of %d bytes, 2^31-1 lists (%T): %v, want ErrCorrupt", name, len(b), r, err)
			}
			if a > 1<<20 {
				t.Errorf("%s (%T): allocated %d bytes", name, r, a)
			}
		}
	}

	// What the rule still accepts.
	small := ivfClaim(untrainedListFloor, "sprs", 0)
	small = small[:len(small)-256]
	for name, b := range map[string][]byte{
		"IndexIVFFlat, 2^16 lists":               small,
		"IndexIVFPQFastScan without lists, 2^16": untrainedFastScanNoLists(t, untrainedListFloor),
	} {
		idx, err := Read(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := len(idx.(*ivf.Index).ListSizes()); got != untrainedListFloor {
			t.Errorf("%s: %d list sizes", name, got)
		}
	}
	big, err := factory.New(8, "IVF100000,PQ4x4fs", metric.L2)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, big); err != nil {
		t.Fatal(err)
	}
	back, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("untrained IVF100000,PQ4x4fs with its block lists (%d bytes): %v", buf.Len(), err)
	}
	if back.(*ivf.Index).NList() != 100000 {
		t.Fatalf("read back %d lists", back.(*ivf.Index).NList())
	}
}

// TestRefineBaseIDsInRange reads an IndexRefineFlat whose base holds a label
// that is no row of its refine index. FAISS would index past the stored
// vectors with it; kume must refuse the file rather than answer +Inf.
func TestRefineBaseIDsInRange(t *testing.T) {
	const d, n = 8, 50
	data := randVecs(41, n, d)
	r, err := refine.New(mustIVF(t, d, 1, metric.L2, data))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add(ctx, data); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	if _, err := Read(bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	// The single list stores ids 0..n-1 in order.
	var seq []byte
	for i := 0; i < n; i++ {
		seq = binary.LittleEndian.AppendUint64(seq, uint64(i))
	}
	at := bytes.Index(good, seq)
	if at < 0 {
		t.Fatal("the list's ids are not where expected")
	}
	for _, id := range []int64{n, n + 5, math.MaxInt64} {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint64(b[at+8*(n-1):], uint64(id))
		if _, err := Read(bytes.NewReader(b)); !errors.Is(err, kume.ErrCorrupt) {
			t.Errorf("base label %d of %d stored vectors: %v, want ErrCorrupt", id, n, err)
		}
	}
}

// TestStoredVectorsChecked patches one float of stored vector data (IVF
// lists, flat vectors, coarse centroids, PQ centroids, a refine store) to a
// value kume refuses on Add: NaN, infinity, or a value whose square
// overflows float32. Each must be refused with ErrNonFinite; a large value
// whose square still fits must load.
func TestStoredVectorsChecked(t *testing.T) {
	read := func(t *testing.T, path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ivfFile := read(t, "testdata/ivf_flat_l2.index")
	flatFile := read(t, "testdata/flat_l2.index")
	if string(flatFile[:4]) != "IxF2" {
		t.Fatal("testdata/flat_l2.index is not an IndexFlatL2")
	}
	const flatData = 45 // tag, header, count
	pq, err := factory.New(8, "PQ4x4fs", metric.L2)
	if err != nil {
		t.Fatal(err)
	}
	train := randVecs(42, 500, 8)
	if err := pq.Train(ctx, train); err != nil {
		t.Fatal(err)
	}
	var pqBuf bytes.Buffer
	if err := Write(&pqBuf, pq); err != nil {
		t.Fatal(err)
	}
	const pqCentroids = 4 + 33 + 4*8 // tag, header, d, M, nbits, count
	rf, err := factory.New(8, "IVF4,Flat,RFlat", metric.L2)
	if err != nil {
		t.Fatal(err)
	}
	if err := rf.Train(ctx, train); err != nil {
		t.Fatal(err)
	}
	if err := rf.Add(ctx, train[:80]); err != nil {
		t.Fatal(err)
	}
	var rfBuf bytes.Buffer
	if err := Write(&rfBuf, rf); err != nil {
		t.Fatal(err)
	}
	rfStoreLast := rfBuf.Len() - 8 // the store's last float, before k_factor

	places := []struct {
		name string
		file []byte
		off  int
	}{
		{"IVF list vector", ivfFile, offData},
		{"flat vector", flatFile, flatData + 4*13},
		{"coarse centroid", ivfFile, offQCount + 8},
		{"PQ centroid", pqBuf.Bytes(), pqCentroids + 4*5},
		{"refine store vector", rfBuf.Bytes(), rfStoreLast},
	}
	for _, p := range places {
		if _, err := Read(bytes.NewReader(p.file)); err != nil {
			t.Fatalf("%s: the unpatched file: %v", p.name, err)
		}
		for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 2e19, -3e19, math.MaxFloat32} {
			b := bytes.Clone(p.file)
			binary.LittleEndian.PutUint32(b[p.off:], math.Float32bits(v))
			_, err := Read(bytes.NewReader(b))
			if !errors.Is(err, kume.ErrNonFinite) || !errors.Is(err, kume.ErrUnsupported) {
				t.Errorf("%s = %v: %v, want ErrUnsupported and ErrNonFinite", p.name, v, err)
			}
		}
		b := bytes.Clone(p.file)
		binary.LittleEndian.PutUint32(b[p.off:], math.Float32bits(1e19))
		if _, err := Read(bytes.NewReader(b)); err != nil {
			t.Errorf("%s = 1e19 (square 1e38 fits in float32): %v", p.name, err)
		}
	}
}
