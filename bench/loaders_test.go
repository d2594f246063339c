package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

// npyFile builds a version-1.0 .npy file with a hand-written header dict.
func npyFile(dict string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.Write([]byte{1, 0})
	dict += "\n"
	b.Write([]byte{byte(len(dict)), byte(len(dict) >> 8)})
	b.WriteString(dict)
	b.Write(data)
	return b.Bytes()
}

func le32(vals ...float32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, vals)
	return b.Bytes()
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

func TestNPYFloat32RoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := []float32{1, 2, 3, -4.5, 0, 1e-3}
	var buf bytes.Buffer
	if err := WriteNPYFloat32(&buf, want, 2, 3); err != nil {
		t.Fatal(err)
	}
	if len(buf.Bytes()[:len(buf.Bytes())-4*len(want)])%64 != 0 {
		t.Error("data does not start on a 64-byte boundary")
	}
	m, err := ReadNPY(writeBytes(t, dir, "x.npy", buf.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 2 || m.D != 3 {
		t.Fatalf("shape %d x %d, want 2 x 3", m.N, m.D)
	}
	for i := range want {
		if m.Data[i] != want[i] {
			t.Fatalf("Data = %v, want %v", m.Data, want)
		}
	}
}

func TestNPYInt64RoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := []int64{-1, 0, 1 << 40, 7}
	var buf bytes.Buffer
	if err := WriteNPYInt64(&buf, want, 2, 2); err != nil {
		t.Fatal(err)
	}
	got, r, c, err := ReadNPYInt64(writeBytes(t, dir, "ids.npy", buf.Bytes()))
	if err != nil || r != 2 || c != 2 {
		t.Fatalf("ReadNPYInt64: %v, %d x %d", err, r, c)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestNPYFloat16(t *testing.T) {
	dir := t.TempDir()
	// 1, -2, 0.5, 65504 (largest half), 2^-24 (smallest subnormal), -0.
	halves := []uint16{0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000}
	want := []float32{1, -2, 0.5, 65504, float32(math.Ldexp(1, -24)), float32(math.Copysign(0, -1))}
	var data bytes.Buffer
	binary.Write(&data, binary.LittleEndian, halves)
	p := writeBytes(t, dir, "h.npy", npyFile("{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2), }", data.Bytes()))
	m, err := ReadNPY(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 3 || m.D != 2 {
		t.Fatalf("shape %d x %d, want 3 x 2", m.N, m.D)
	}
	for i := range want {
		if m.Data[i] != want[i] || math.Signbit(float64(m.Data[i])) != math.Signbit(float64(want[i])) {
			t.Errorf("element %d = %v, want %v", i, m.Data[i], want[i])
		}
	}
	if !math.IsInf(float64(Float16(0x7c00)), 1) || !math.IsNaN(float64(Float16(0x7e00))) {
		t.Error("Float16 gets Inf or NaN wrong")
	}
}

func TestNPYFortranBigEndianFloat64(t *testing.T) {
	dir := t.TempDir()
	// The matrix [[1 2 3] [4 5 6]] in column order, big-endian float32.
	var be bytes.Buffer
	binary.Write(&be, binary.BigEndian, []float32{1, 4, 2, 5, 3, 6})
	p := writeBytes(t, dir, "f.npy", npyFile("{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }", be.Bytes()))
	m, err := ReadNPY(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []float32{1, 2, 3, 4, 5, 6} {
		if m.Data[i] != v {
			t.Fatalf("Fortran/big-endian read gave %v", m.Data)
		}
	}
	var f8 bytes.Buffer
	binary.Write(&f8, binary.LittleEndian, []float64{0.25, -8})
	p = writeBytes(t, dir, "d.npy", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f8.Bytes()))
	m, err = ReadNPY(p, nil)
	if err != nil || m.N != 1 || m.D != 2 || m.Data[0] != 0.25 || m.Data[1] != -8 {
		t.Fatalf("float64 vector: %+v, %v", m, err)
	}
}

func TestNPYVersion2Header(t *testing.T) {
	dir := t.TempDir()
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }\n"
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.Write([]byte{2, 0})
	binary.Write(&b, binary.LittleEndian, uint32(len(dict)))
	b.WriteString(dict)
	b.Write(le32(7, 8))
	m, err := ReadNPY(writeBytes(t, dir, "v2.npy", b.Bytes()), nil)
	if err != nil || m.Data[0] != 7 || m.Data[1] != 8 {
		t.Fatalf("version 2.0: %+v, %v", m, err)
	}
}

func TestNPYBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", le32(1, 2, 3, 4))
	cases := []struct {
		name  string
		data  []byte
		parts []string
	}{
		{"empty", nil, []string{"empty.npy", "too short"}},
		{"notnpy", []byte("hello, this is text and not an array"), []string{"not a .npy file"}},
		{"truncated", good[:len(good)-3], []string{"truncated", "needs 16 bytes", "has 13"}},
		{"trailing", append(append([]byte{}, good...), 0, 0, 0, 0), []string{"4 bytes after"}},
		{"int32", npyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1), }", []byte{1, 0, 0, 0}), []string{`"<i4"`, "not supported", "astype"}},
		{"int64", npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1), }", make([]byte, 8)), []string{"int64"}},
		{"structured", npyFile("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", make([]byte, 4)), []string{"structured"}},
		// A header that claims a huge array must fail before allocating it.
		{"huge", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 256), }", le32(1)), []string{"truncated", "1024000000000000 bytes"}},
		{"overflow", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000000, 100000000000000), }", le32(1)), []string{"too large"}},
		{"claims", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000, 256), }", le32(1)), []string{"truncated"}},
		{"3d", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1), }", le32(1)), []string{"shape [1 1 1]"}},
		{"zero rows", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", nil), []string{"empty array"}},
		{"nan", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", le32(1, 2, float32(math.NaN()), 4)), []string{"row 1, column 0", "NaN"}},
		{"nokey", npyFile("{'descr': '<f4', 'shape': (2, 2), }", le32(1, 2, 3, 4)), []string{"lacks"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeBytes(t, dir, c.name+".npy", c.data)
			_, err := ReadNPY(p, nil)
			wantErr(t, err, append([]string{p}, c.parts...)...)
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %v does not wrap ErrFormat", err)
			}
		})
	}
	if _, err := ReadNPY(filepath.Join(dir, "missing.npy"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
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
	if err != nil || m.N != 2 || m.D != 3 || m.Data[5] != 6 {
		t.Fatalf("fvecs: %+v, %v", m, err)
	}
	if m, err := ReadFvecs(fp, 1, nil); err != nil || m.N != 1 || len(m.Data) != 3 {
		t.Fatalf("fvecs limit 1: %+v, %v", m, err)
	}
	ids, n, d, err := ReadIvecs(writeBytes(t, dir, "x.ivecs", ib.Bytes()))
	if err != nil || n != 2 || d != 2 || ids[0] != 9 || ids[3] != 6 {
		t.Fatalf("ivecs: %v %d %d %v", ids, n, d, err)
	}
	m, err = ReadBvecs(writeBytes(t, dir, "x.bvecs", bb.Bytes()), 0, nil)
	if err != nil || m.N != 1 || m.D != 4 || m.Data[2] != 255 {
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

func TestReadIDXImages(t *testing.T) {
	dir := t.TempDir()
	var raw bytes.Buffer
	binary.Write(&raw, binary.BigEndian, []uint32{0x803, 3, 2, 2})
	raw.Write([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255})
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}
	m, err := ReadIDXImages(writeBytes(t, dir, "img.gz", gz(raw.Bytes())), 2)
	if err != nil || m.N != 2 || m.D != 4 || m.Data[7] != 7 {
		t.Fatalf("IDX: %+v, %v", m, err)
	}
	_, err = ReadIDXImages(writeBytes(t, dir, "cut.gz", gz(raw.Bytes()[:20])), 0)
	wantErr(t, err, "cut.gz", "truncated")
	_, err = ReadIDXImages(writeBytes(t, dir, "plain", raw.Bytes()[4:]), 0)
	wantErr(t, err, "plain", "magic")
}

func TestReadNPYDirAndLoadFiles(t *testing.T) {
	dir := t.TempDir()
	feat := filepath.Join(dir, "3_feature256")
	os.Mkdir(feat, 0o755)
	write := func(path string, x []float32, d int) {
		var b bytes.Buffer
		if err := WriteNPYFloat32(&b, x, len(x)/d, d); err != nil {
			t.Fatal(err)
		}
		writeBytes(t, filepath.Dir(path), filepath.Base(path), b.Bytes())
	}
	write(filepath.Join(feat, "b.npy"), []float32{3, 3, 4, 4}, 2)
	write(filepath.Join(feat, "a.npy"), []float32{1, 1}, 2)
	writeBytes(t, feat, "notes.txt", []byte("not a vector file"))
	m, err := ReadVectors(feat, nil)
	if err != nil || m.N != 3 || m.D != 2 || m.Data[0] != 1 || m.Data[5] != 4 {
		t.Fatalf("folder: %+v, %v (want a.npy's row first)", m, err)
	}

	write(filepath.Join(feat, "c.npy"), []float32{1, 2, 3}, 3)
	_, err = ReadVectors(feat, nil)
	wantErr(t, err, "c.npy", "3-dimensional", "a.npy has 2")

	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	_, err = ReadVectors(empty, nil)
	wantErr(t, err, "empty", "no .npy files")

	_, err = ReadVectors(writeBytes(t, dir, "x.csv", []byte("1,2")), nil)
	wantErr(t, err, "x.csv", "unknown file type")

	write(filepath.Join(dir, "base.npy"), []float32{1, 2, 3, 4}, 2)
	write(filepath.Join(dir, "q3.npy"), []float32{1, 2, 3}, 3)
	_, err = Load(t.Context(), filepath.Join(dir, "base.npy")+","+filepath.Join(dir, "q3.npy"), Options{})
	wantErr(t, err, "base.npy has 2-dimensional", "q3.npy have 3")

	write(filepath.Join(dir, "q2.npy"), []float32{1, 2}, 2)
	ds, err := Load(t.Context(), filepath.Join(dir, "base.npy")+","+filepath.Join(dir, "q2.npy"), Options{})
	if err != nil || ds.N() != 2 || ds.NQ() != 1 || ds.GTDir != dir || ds.GTStem != "q2" {
		t.Fatalf("Load files: %+v, %v", ds, err)
	}
	_, err = Load(t.Context(), filepath.Join(dir, "base.npy"), Options{})
	wantErr(t, err, "base,queries")
	_, err = Load(t.Context(), "nosuchset", Options{})
	wantErr(t, err, "unknown data set", "synth256")
	_, err = Load(t.Context(), "synth256:n=abc", Options{})
	wantErr(t, err, "n=abc")
	_, err = Load(t.Context(), "synth256:size=3", Options{})
	wantErr(t, err, "unknown data set setting")
}
