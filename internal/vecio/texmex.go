package vecio

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/npy"
)

// maxVecsDim bounds the dimension a TEXMEX file may claim.
const maxVecsDim = 1 << 20

// vecsFile opens a TEXMEX file (.fvecs, .ivecs, .bvecs: each vector is its
// dimension as a little-endian int32, then that many elements of elem
// bytes) and returns its dimension and number of vectors, checked against
// the file size.
func vecsFile(path string, elem int) (*os.File, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, 0, err
	}
	if st.IsDir() {
		f.Close()
		return nil, 0, 0, fmt.Errorf("%s: %w: is a folder, not a vectors file", path, kume.ErrInvalidArgument)
	}
	size := st.Size()
	if size == 0 {
		f.Close()
		return nil, 0, 0, fmt.Errorf("%s: %w: empty file", path, ErrFormat)
	}
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		f.Close()
		return nil, 0, 0, fmt.Errorf("%s: %w: truncated: %d bytes, too short for the first vector's dimension", path, ErrFormat, size)
	}
	d := int32(binary.LittleEndian.Uint32(b[:]))
	if d <= 0 || d > maxVecsDim {
		f.Close()
		return nil, 0, 0, fmt.Errorf("%s: %w: first vector claims dimension %d (want 1..%d)", path, ErrFormat, d, maxVecsDim)
	}
	rec := 4 + int64(d)*int64(elem)
	if size%rec != 0 {
		f.Close()
		return nil, 0, 0, fmt.Errorf("%s: %w: truncated or not %d-dimensional: %d bytes is not a whole number of %d-byte records", path, ErrFormat, d, size, rec)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, 0, 0, err
	}
	return f, int(d), int(size / rec), nil
}

// readVecs reads up to limit vectors (all when limit <= 0) of a TEXMEX file,
// calling put for each element of row i.
func readVecs(path string, elem, limit int, progress func(done, total int64), put func(dst []float32, raw []byte)) (*npy.Matrix, error) {
	f, d, n, err := vecsFile(path, elem)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if limit > 0 && limit < n {
		n = limit
	}
	m := &npy.Matrix{Rows: n, Cols: d, Data: make([]float32, n*d)}
	br := bufio.NewReaderSize(f, 1<<16)
	rec := make([]byte, 4+d*elem)
	total := int64(n) * int64(len(rec))
	for i := 0; i < n; i++ {
		if _, err := io.ReadFull(br, rec); err != nil {
			return nil, fmt.Errorf("%s: %w: truncated at vector %d: %v", path, ErrFormat, i, err)
		}
		if got := int32(binary.LittleEndian.Uint32(rec)); int(got) != d {
			return nil, fmt.Errorf("%s: %w: vector %d has dimension %d, the first has %d", path, ErrFormat, i, got, d)
		}
		put(m.Data[i*d:(i+1)*d], rec[4:])
		if progress != nil && (i%4096 == 4095 || i == n-1) {
			progress(int64(i+1)*int64(len(rec)), total)
		}
	}
	if err := npy.CheckFinite(m.Data, d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ReadFvecs reads a TEXMEX .fvecs file (float32 vectors). limit > 0 reads
// only the first limit vectors.
func ReadFvecs(path string, limit int, progress func(done, total int64)) (*npy.Matrix, error) {
	return readVecs(path, 4, limit, progress, func(dst []float32, raw []byte) {
		for j := range dst {
			dst[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
		}
	})
}

// ReadBvecs reads a TEXMEX .bvecs file (uint8 vectors, as SIFT1B) as
// float32. limit > 0 reads only the first limit vectors.
func ReadBvecs(path string, limit int, progress func(done, total int64)) (*npy.Matrix, error) {
	return readVecs(path, 1, limit, progress, func(dst []float32, raw []byte) {
		for j := range dst {
			dst[j] = float32(raw[j])
		}
	})
}

// ReadIvecs reads a TEXMEX .ivecs file (int32 vectors, as ground-truth
// files): n rows of d ids.
func ReadIvecs(path string) (ids []int32, n, d int, err error) {
	f, d, n, err := vecsFile(path, 4)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	ids = make([]int32, n*d)
	br := bufio.NewReaderSize(f, 1<<16)
	rec := make([]byte, 4+4*d)
	for i := 0; i < n; i++ {
		if _, err := io.ReadFull(br, rec); err != nil {
			return nil, 0, 0, fmt.Errorf("%s: %w: truncated at vector %d", path, ErrFormat, i)
		}
		if got := int32(binary.LittleEndian.Uint32(rec)); int(got) != d {
			return nil, 0, 0, fmt.Errorf("%s: %w: vector %d has dimension %d, the first has %d", path, ErrFormat, i, got, d)
		}
		for j := 0; j < d; j++ {
			ids[i*d+j] = int32(binary.LittleEndian.Uint32(rec[4+4*j:]))
		}
	}
	return ids, n, d, nil
}

// WriteFvecs writes n vectors of dimension d as a TEXMEX .fvecs stream.
func WriteFvecs(w io.Writer, data []float32, d int) error {
	if d <= 0 || len(data)%d != 0 {
		return fmt.Errorf("vecio: %w: %d numbers are not whole %d-dimensional vectors", kume.ErrInvalidArgument, len(data), d)
	}
	bw := bufio.NewWriter(w)
	var b [4]byte
	for i := 0; i < len(data); i += d {
		binary.LittleEndian.PutUint32(b[:], uint32(d))
		bw.Write(b[:])
		for _, v := range data[i : i+d] {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			bw.Write(b[:])
		}
	}
	return bw.Flush()
}

// WriteIvecs writes n rows of d int32 numbers as a TEXMEX .ivecs stream.
func WriteIvecs(w io.Writer, data []int32, d int) error {
	if d <= 0 || len(data)%d != 0 {
		return fmt.Errorf("vecio: %w: %d numbers are not whole rows of %d", kume.ErrInvalidArgument, len(data), d)
	}
	bw := bufio.NewWriter(w)
	var b [4]byte
	for i := 0; i < len(data); i += d {
		binary.LittleEndian.PutUint32(b[:], uint32(d))
		bw.Write(b[:])
		for _, v := range data[i : i+d] {
			binary.LittleEndian.PutUint32(b[:], uint32(v))
			bw.Write(b[:])
		}
	}
	return bw.Flush()
}

// WriteBvecs writes n vectors of dimension d of bytes as a TEXMEX .bvecs
// stream.
func WriteBvecs(w io.Writer, data []uint8, d int) error {
	if d <= 0 || len(data)%d != 0 {
		return fmt.Errorf("vecio: %w: %d numbers are not whole %d-dimensional vectors", kume.ErrInvalidArgument, len(data), d)
	}
	bw := bufio.NewWriter(w)
	var b [4]byte
	for i := 0; i < len(data); i += d {
		binary.LittleEndian.PutUint32(b[:], uint32(d))
		bw.Write(b[:])
		bw.Write(data[i : i+d])
	}
	return bw.Flush()
}
