package npy

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/kume-ann/kume"
)

// FuzzDecode feeds arbitrary bytes to Decode, with and without the size
// known, seeded with valid files of several dtypes and orders. It must never
// panic, fail only with errors wrapping a sentinel, allocate about what the
// bytes back (never what a header merely claims), and whatever it accepts
// must write back and decode to the same values.
func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	_ = Write(&buf, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	f.Add(buf.Bytes())
	buf.Reset()
	_ = Write(&buf, []float32{1.5}, 1)
	f.Add(buf.Bytes())
	buf.Reset()
	_ = WriteInt64(&buf, []int64{7, -1, 3}, 3)
	f.Add(buf.Bytes())
	f.Add([]byte("\x93NUMPY\x01\x00v\x00{'descr': '>f8', 'fortran_order': True, 'shape': (2, 2), }                                                            \n" +
		"\x3f\xf0\x00\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00\x00\x00\x40\x08\x00\x00\x00\x00\x00\x00\x40\x10\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("\x93NUMPY\x01\x00\x46\x00{'descr': '<f2', 'fortran_order': False, 'shape': (1000000000, 768), }\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, size := range []int64{int64(len(b)), -1} {
			var m *Matrix
			var err error
			used := allocatedBy(func() { m, err = Decode(bytes.NewReader(b), size, &Options{ConvertIntegers: true}) })
			// A stream of unknown size is read in chunks of a few MiB.
			if used > uint64(16*len(b))+12<<20 {
				t.Fatalf("size %d: %d bytes allocated for %d bytes of input", size, used, len(b))
			}
			if err != nil {
				if !errors.Is(err, kume.ErrCorrupt) && !errors.Is(err, kume.ErrUnsupported) && !errors.Is(err, kume.ErrNonFinite) && !errors.Is(err, kume.ErrDimension) {
					t.Fatalf("size %d: error wraps no sentinel: %v", size, err)
				}
				continue
			}
			var out bytes.Buffer
			if err := Write(&out, m.Data, m.Rows, m.Cols); err != nil {
				t.Fatalf("accepted %dx%d does not write back: %v", m.Rows, m.Cols, err)
			}
			back, err := Decode(bytes.NewReader(out.Bytes()), int64(out.Len()), nil)
			if err != nil {
				t.Fatalf("written file does not decode: %v", err)
			}
			if back.Rows != m.Rows || back.Cols != m.Cols || len(back.Data) != len(m.Data) {
				t.Fatalf("round trip %dx%d, want %dx%d", back.Rows, back.Cols, m.Rows, m.Cols)
			}
			for i := range m.Data {
				if back.Data[i] != m.Data[i] {
					t.Fatalf("round trip value %d: %v, want %v", i, back.Data[i], m.Data[i])
				}
			}
		}
	})
}

func allocatedBy(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}
