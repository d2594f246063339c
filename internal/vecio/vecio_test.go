package vecio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/npy"
)

// writeBytes writes b to dir/name and returns the path.
func writeBytes(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func TestFvecsIvecsBvecs(t *testing.T) {
	dir := t.TempDir()
	x := []float32{1, 2, 3, 4, 5, 6}
	var fb, ib, bb bytes.Buffer
	if err := WriteFvecs(&fb, x, 3); err != nil {
		t.Fatal(err)
	}
	if err := WriteIvecs(&ib, []int32{9, 8, 7, 6}, 2); err != nil {
		t.Fatal(err)
	}
	if err := WriteBvecs(&bb, []uint8{0, 128, 255, 1}, 4); err != nil {
		t.Fatal(err)
	}
	fp := writeBytes(t, dir, "x.fvecs", fb.Bytes())
	m, err := ReadFvecs(fp, 0, nil)
	if err != nil || m.Rows != 2 || m.Cols != 3 || m.Data[5] != 6 {
		t.Fatalf("fvecs: %+v, %v", m, err)
	}
	if m, err := ReadFvecs(fp, 1, nil); err != nil || m.Rows != 1 || len(m.Data) != 3 {
		t.Fatalf("fvecs limit 1: %+v, %v", m, err)
	}
	ids, n, d, err := ReadIvecs(writeBytes(t, dir, "x.ivecs", ib.Bytes()))
	if err != nil || n != 2 || d != 2 || ids[0] != 9 || ids[3] != 6 {
		t.Fatalf("ivecs: %v %d %d %v", ids, n, d, err)
	}
	m, err = ReadBvecs(writeBytes(t, dir, "x.bvecs", bb.Bytes()), 0, nil)
	if err != nil || m.Rows != 1 || m.Cols != 4 || m.Data[2] != 255 {
		t.Fatalf("bvecs: %+v, %v", m, err)
	}

	// Bad files.
	_, err = ReadFvecs(writeBytes(t, dir, "trunc.fvecs", fb.Bytes()[:fb.Len()-2]), 0, nil)
	wantErr(t, err, "trunc.fvecs", "truncated")
	_, err = ReadFvecs(writeBytes(t, dir, "empty.fvecs", nil), 0, nil)
	wantErr(t, err, "empty.fvecs", "empty file")
	bad := append([]byte{}, fb.Bytes()...)
	binary.LittleEndian.PutUint32(bad[16:], 5) // second vector claims d=5
	_, err = ReadFvecs(writeBytes(t, dir, "mixed.fvecs", bad), 0, nil)
	wantErr(t, err, "mixed.fvecs", "vector 1 has dimension 5")
	neg := append([]byte{}, fb.Bytes()...)
	binary.LittleEndian.PutUint32(neg, 0xffffffff)
	_, err = ReadFvecs(writeBytes(t, dir, "neg.fvecs", neg), 0, nil)
	wantErr(t, err, "neg.fvecs", "dimension -1")
	_, _, _, err = ReadIvecs(writeBytes(t, dir, "short.ivecs", []byte{2, 0}))
	wantErr(t, err, "short.ivecs", "truncated")
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	feat := filepath.Join(dir, "3_feature256")
	os.Mkdir(feat, 0o755)
	write := func(path string, x []float32, d int) {
		if err := npy.WriteFile(path, x, len(x)/d, d); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(feat, "b.npy"), []float32{3, 3, 4, 4}, 2)
	write(filepath.Join(feat, "a.npy"), []float32{1, 1}, 2)
	writeBytes(t, feat, "notes.txt", []byte("not a vector file"))
	m, err := Read(feat, nil)
	if err != nil || m.Rows != 3 || m.Cols != 2 || m.Data[0] != 1 || m.Data[5] != 4 {
		t.Fatalf("folder: %+v, %v (want a.npy's row first)", m, err)
	}
	var stages []string
	if m, err := Read(filepath.Join(feat, "b.npy"), func(stage string, done, total int64) {
		if done == total {
			stages = append(stages, stage)
		}
	}); err != nil || m.Rows != 2 || m.Data[3] != 4 {
		t.Fatalf("one file: %+v, %v", m, err)
	}
	if len(stages) == 0 || stages[len(stages)-1] != "reading b.npy" {
		t.Errorf("progress stages %q, want reading b.npy", stages)
	}

	write(filepath.Join(feat, "c.npy"), []float32{1, 2, 3}, 3)
	_, err = Read(feat, nil)
	wantErr(t, err, "c.npy", "3-dimensional", "a.npy has 2")
	if !errors.Is(err, kume.ErrDimension) {
		t.Errorf("mixed widths: %v does not wrap kume.ErrDimension", err)
	}

	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	_, err = Read(empty, nil)
	wantErr(t, err, "empty", "no .npy files")

	none := filepath.Join(dir, "none.npy")
	write(none, nil, 4)
	_, err = Read(none, nil)
	wantErr(t, err, "none.npy", "no vectors")
	if !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("empty array: %v does not wrap kume.ErrInvalidArgument", err)
	}

	ints := filepath.Join(dir, "ids.npy")
	if err := npy.WriteInt64File(ints, []int64{1, 2}, 1, 2); err != nil {
		t.Fatal(err)
	}
	_, err = Read(ints, nil)
	wantErr(t, err, "ids.npy", "not float vectors")
	if !errors.Is(err, npy.ErrFormat) {
		t.Errorf("integers: %v does not wrap npy.ErrFormat", err)
	}

	_, err = Read(writeBytes(t, dir, "x.csv", []byte("1,2")), nil)
	wantErr(t, err, "x.csv", "unknown file type")
	if !errors.Is(err, ErrFormat) || !errors.Is(err, kume.ErrCorrupt) {
		t.Errorf("unknown type: %v does not wrap ErrFormat and kume.ErrCorrupt", err)
	}
	if _, err := Read(filepath.Join(dir, "missing.npy"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
