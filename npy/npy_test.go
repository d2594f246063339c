package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
)

// file builds a .npy file from a header dictionary and raw data.
func file(version byte, dict string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString(Magic)
	b.Write([]byte{version, 0})
	if version == 1 {
		binary.Write(&b, binary.LittleEndian, uint16(len(dict)))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(len(dict)))
	}
	b.WriteString(dict)
	b.Write(data)
	return b.Bytes()
}

func f32le(v ...float32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v)
	return b.Bytes()
}

func put(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := []float32{1, -2.5, 3, 4e-3, 5, float32(math.Pi)}
	for _, shape := range [][]int{{2, 3}, {6}, {3, 2}} {
		p := filepath.Join(dir, fmt.Sprint(shape, ".npy"))
		if err := WriteFile(p, want, shape...); err != nil {
			t.Fatal(err)
		}
		m, err := ReadFile(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.Rows*m.Cols != 6 || m.Cols != shape[len(shape)-1] {
			t.Fatalf("shape %v read as %d x %d", shape, m.Rows, m.Cols)
		}
		for i := range want {
			if m.Data[i] != want[i] {
				t.Fatalf("shape %v: element %d = %v, want %v", shape, i, m.Data[i], want[i])
			}
		}
		raw, _ := os.ReadFile(p)
		if (bytes.IndexByte(raw, '\n')+1)%64 != 0 {
			t.Errorf("data does not start on a 64-byte boundary")
		}
	}
	ids := []int64{-1, 5, 1 << 40, 7}
	p := filepath.Join(dir, "ids.npy")
	if err := WriteInt64File(p, ids, 2, 2); err != nil {
		t.Fatal(err)
	}
	got, r, c, err := ReadInt64(p)
	if err != nil || r != 2 || c != 2 || got[0] != -1 || got[2] != 1<<40 {
		t.Fatalf("ReadInt64: %v %d %d %v", got, r, c, err)
	}
	if _, err := ReadFile(p, nil); !errors.Is(err, kume.ErrUnsupported) || !strings.Contains(err.Error(), "integers") {
		t.Errorf("int64 file read as floats: %v", err)
	}
	m, err := ReadFile(p, &Options{ConvertIntegers: true})
	if err != nil || m.Data[1] != 5 || m.Data[2] != 1<<40 {
		t.Errorf("int64 file converted: %+v %v", m, err)
	}
	if err := Write(&bytes.Buffer{}, want, 4); !errors.Is(err, kume.ErrDimension) {
		t.Errorf("6 numbers as shape (4,): %v", err)
	}
}

func TestDecodingByHand(t *testing.T) {
	// Big-endian float64 in Fortran order: the 2 x 3 matrix [[1 2 3] [4 5 6]]
	// is stored by column: 1 4 2 5 3 6.
	var be bytes.Buffer
	binary.Write(&be, binary.BigEndian, []float64{1, 4, 2, 5, 3, 6})
	b := file(1, "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }", be.Bytes())
	m, err := Decode(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m.Data) != "[1 2 3 4 5 6]" || m.Rows != 2 || m.Cols != 3 {
		t.Fatalf("got %d x %d %v", m.Rows, m.Cols, m.Data)
	}
	// The same from a stream of unknown size.
	m, err = Decode(bytes.NewReader(b), -1, nil)
	if err != nil || fmt.Sprint(m.Data) != "[1 2 3 4 5 6]" {
		t.Fatalf("stream: %v %v", m, err)
	}
	// float16: 1, -2, 0.5, 65504, smallest subnormal; version 2 header.
	var h bytes.Buffer
	binary.Write(&h, binary.LittleEndian, []uint16{0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001})
	b = file(2, "{'descr': '<f2', 'fortran_order': False, 'shape': (5,), }", h.Bytes())
	m, err = Decode(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, -2, 0.5, 65504, 1.0 / (1 << 24)}; fmt.Sprint(m.Data) != fmt.Sprint(want) {
		t.Errorf("float16: %v, want %v", m.Data, want)
	}
	if math.Signbit(float64(Float16(0x8000))) == false || !math.IsInf(float64(Float16(0xfc00)), -1) || !math.IsNaN(float64(Float16(0x7e00))) {
		t.Error("Float16 gets -0, -Inf or NaN wrong")
	}
	// Integers, converted on request: big-endian int16, uint8, bool.
	b = file(1, "{'descr': '>i2', 'fortran_order': False, 'shape': (1, 2), }", []byte{0xff, 0xfe, 0x01, 0x00})
	m, err = Decode(bytes.NewReader(b), int64(len(b)), &Options{ConvertIntegers: true})
	if err != nil || fmt.Sprint(m.Data) != "[-2 256]" {
		t.Errorf(">i2: %v %v", m, err)
	}
	b = file(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", []byte{1, 0, 1})
	m, err = Decode(bytes.NewReader(b), int64(len(b)), &Options{ConvertIntegers: true})
	if err != nil || fmt.Sprint(m.Data) != "[1 0 1]" {
		t.Errorf("|b1: %v %v", m, err)
	}
	// Non-finite values are refused unless allowed.
	b = file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f32le(1, 2, float32(math.Inf(1)), 4))
	if _, err := Decode(bytes.NewReader(b), int64(len(b)), nil); !errors.Is(err, kume.ErrNonFinite) || !strings.Contains(err.Error(), "row 1, column 0") {
		t.Errorf("Inf: %v", err)
	}
	if _, err := Decode(bytes.NewReader(b), int64(len(b)), &Options{AllowNonFinite: true}); err != nil {
		t.Errorf("Inf allowed: %v", err)
	}
}

// Headers that lie or are malformed are refused with a message, without
// allocating what they claim.
func TestHostileHeaders(t *testing.T) {
	good := file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f32le(1, 2, 3, 4))
	bigHeader := make([]byte, 12)
	copy(bigHeader, Magic)
	bigHeader[6] = 2
	binary.LittleEndian.PutUint32(bigHeader[8:], 0xffffffff)
	d := func(s string) string { return "{'descr': '<f4', 'fortran_order': False, 'shape': " + s + ", }" }
	cases := []struct {
		name string
		data []byte
		want []string
		is   error
	}{
		{"empty", nil, []string{"too short"}, ErrFormat},
		{"text", []byte("hello, this is text and not an array"), []string{"magic"}, ErrFormat},
		{"version", file(9, d("(1,)"), f32le(1)), []string{"version 9.0"}, ErrFormat},
		{"truncated", good[:len(good)-3], []string{"truncated", "needs 16 bytes", "has 13"}, ErrFormat},
		{"trailing", append(append([]byte{}, good...), 0, 0, 0, 0), []string{"4 bytes after"}, ErrFormat},
		{"header claims 4 GB", bigHeader, []string{"header claims 4294967295 bytes"}, ErrFormat},
		{"huge shape", file(1, d("(1000000000000, 256)"), f32le(1)), []string{"truncated", "1024000000000000 bytes"}, ErrFormat},
		{"overflow", file(1, d("(100000000000000, 100000000000000)"), f32le(1)), []string{"too large"}, ErrFormat},
		{"negative", file(1, d("(-1, 4)"), f32le(1)), []string{"expected a dimension"}, ErrFormat},
		{"digits", file(1, d("(99999999999999999999999, 1)"), f32le(1)), []string{"too large"}, ErrFormat},
		{"3-d", file(1, d("(1, 1, 1)"), f32le(1)), []string{"shape [1 1 1]"}, kume.ErrUnsupported},
		{"scalar", file(1, d("()"), f32le(1)), []string{"shape []"}, kume.ErrUnsupported},
		{"structured", file(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", f32le(1)), []string{"structured"}, kume.ErrUnsupported},
		{"complex", file(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)), []string{`"<c8"`, "astype"}, kume.ErrUnsupported},
		{"object", file(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)), []string{`"|O"`}, kume.ErrUnsupported},
		{"no key", file(1, "{'descr': '<f4', 'shape': (2, 2), }", f32le(1, 2, 3, 4)), []string{"lacks"}, ErrFormat},
		{"twice", file(1, "{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", f32le(1)), []string{"twice"}, ErrFormat},
		{"unknown key", file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", f32le(1)), []string{"unknown key"}, ErrFormat},
		{"not dict", file(1, "['descr']", nil), []string{"not a dictionary"}, ErrFormat},
		{"unclosed", file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,", f32le(1)), []string{"shape"}, ErrFormat},
		{"order", file(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", f32le(1)), []string{"True or False"}, ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(c.data), int64(len(c.data)), nil)
			if !errors.Is(err, c.is) || !errors.Is(err, kume.ErrCorrupt) {
				t.Fatalf("%v does not wrap %v and kume.ErrCorrupt", err, c.is)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			// From a stream of unknown size the error may say less, but
			// it is an error of the same kind.
			if _, err := Decode(bytes.NewReader(c.data), -1, nil); !errors.Is(err, c.is) {
				t.Errorf("stream: %v does not wrap %v", err, c.is)
			}
		})
	}
	// A stream whose header claims 100 GB costs what the reader holds, not
	// what the header claims.
	lie := file(1, d("(100000000, 256)"), f32le(1, 2, 3))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := Decode(bytes.NewReader(lie), -1, nil); !errors.Is(err, ErrFormat) {
		t.Errorf("stream lie: %v", err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
		t.Errorf("a stream claiming 100 GB allocated %d bytes", got)
	}
	if _, err := Decode(bytes.NewReader(lie), int64(len(lie)), nil); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("sized lie: %v", err)
	}
}

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, x []float32, shape ...int) {
		if err := WriteFile(filepath.Join(dir, name), x, shape...); err != nil {
			t.Fatal(err)
		}
	}
	write("b.npy", []float32{3, 3, 4, 4}, 2, 2)
	write("a.npy", []float32{1, 1}, 2)
	write("B.npy", []float32{0, 0}, 1, 2) // 'B' sorts before 'a'
	write("c.npy", nil, 0, 2)
	put(t, dir, "notes.txt", []byte("not a vector file"))
	os.Mkdir(filepath.Join(dir, "sub.npy"), 0o755)
	var seen []string
	m, files, err := ReadDir(dir, &DirOptions{FileProgress: func(p FileProgress) {
		if p.Done {
			seen = append(seen, fmt.Sprintf("%d/%d %s %d", p.Index+1, p.Count, p.Name, p.Rows))
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 4 || m.Cols != 2 || fmt.Sprint(m.Data) != "[0 0 1 1 3 3 4 4]" {
		t.Fatalf("got %d x %d %v", m.Rows, m.Cols, m.Data)
	}
	if got := strings.Join(seen, ", "); got != "1/4 B.npy 1, 2/4 a.npy 1, 3/4 b.npy 2, 4/4 c.npy 0" {
		t.Errorf("progress: %s", got)
	}
	if files[2] != (DirFile{"b.npy", 2, 4}) {
		t.Errorf("files: %+v", files)
	}

	write("d.npy", []float32{1, 2, 3}, 1, 3)
	_, _, err = ReadDir(dir, nil)
	if !errors.Is(err, kume.ErrDimension) || !strings.Contains(err.Error(), "d.npy: dimension mismatch: 3-dimensional vectors, but B.npy has 2") {
		t.Errorf("mixed widths: %v", err)
	}
	os.Remove(filepath.Join(dir, "d.npy"))
	put(t, dir, "e.npy", file(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }", make([]byte, 8)))
	if _, _, err = ReadDir(dir, nil); !errors.Is(err, kume.ErrUnsupported) || !strings.Contains(err.Error(), "e.npy") {
		t.Errorf("integer file: %v", err)
	}
	if m, _, err := ReadDir(dir, &DirOptions{Options: Options{ConvertIntegers: true}}); err != nil || m.Rows != 5 {
		t.Errorf("integer file converted: %v", err)
	}
	os.Remove(filepath.Join(dir, "e.npy"))
	put(t, dir, "f.npy", []byte("garbage"))
	if _, _, err = ReadDir(dir, nil); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "f.npy") {
		t.Errorf("garbage file: %v", err)
	}

	empty := t.TempDir()
	if _, _, err := ReadDir(empty, nil); !errors.Is(err, kume.ErrInvalidArgument) || !strings.Contains(err.Error(), "no .npy files") {
		t.Errorf("empty folder: %v", err)
	}
	if _, _, err := ReadDir(filepath.Join(empty, "missing"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing folder: %v", err)
	}
}

// Every dtype, byte order and memory order numpy writes reads back as the
// same numbers (converted to float32).
func TestAgainstNumpy(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import numpy").Run(); err != nil {
		t.Skip("python3-numpy is not installed; skipping the comparison with numpy's files")
	}
	dir := t.TempDir()
	script := `
import numpy as np, sys, os
d = sys.argv[1]
rng = np.random.default_rng(3)
base = rng.normal(size=(7, 5)) * 100
names = []
for t in ['f2', 'f4', 'f8', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'b1']:
    for order in '<>':
        for fortran in (False, True):
            for nd in (1, 2):
                a = base if nd == 2 else base[0]
                if t[0] == 'u' or t[0] == 'b':
                    a = np.abs(a)
                a = a.astype(order + t)
                if fortran:
                    a = np.asfortranarray(a)
                n = '%s%s_%s_%dd' % ('le' if order == '<' else 'be', t, 'F' if fortran else 'C', nd)
                np.save(os.path.join(d, n + '.npy'), a)
                np.ascontiguousarray(a.astype('<f4')).tofile(os.path.join(d, n + '.f32'))
                names.append(n)
print(' '.join(names))
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, dir).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	names := strings.Fields(string(out))
	if len(names) != 12*2*2*2 {
		t.Fatalf("numpy wrote %d files", len(names))
	}
	for _, n := range names {
		m, err := ReadFile(filepath.Join(dir, n+".npy"), &Options{ConvertIntegers: true})
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		raw, _ := os.ReadFile(filepath.Join(dir, n+".f32"))
		want := make([]float32, len(raw)/4)
		binary.Read(bytes.NewReader(raw), binary.LittleEndian, want)
		if len(want) != len(m.Data) || (strings.HasSuffix(n, "2d") && (m.Rows != 7 || m.Cols != 5)) {
			t.Errorf("%s: %d x %d, want %d numbers", n, m.Rows, m.Cols, len(want))
			continue
		}
		for i := range want {
			if m.Data[i] != want[i] {
				t.Errorf("%s: element %d = %v, numpy says %v", n, i, m.Data[i], want[i])
				break
			}
		}
	}
	// numpy reads what Write writes.
	p := filepath.Join(dir, "ours.npy")
	if err := WriteFile(p, []float32{1.5, -2, 3, 4, 5, 6}, 2, 3); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command("/usr/bin/python3", "-c", "import numpy as np,sys; a=np.load(sys.argv[1]); print(a.dtype, a.shape, a.tolist())", p).Output()
	if err != nil || strings.TrimSpace(string(out)) != "float32 (2, 3) [[1.5, -2.0, 3.0], [4.0, 5.0, 6.0]]" {
		t.Errorf("numpy.load of our file: %q %v", out, err)
	}
}
