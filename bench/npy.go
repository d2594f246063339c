package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// maxNPYHeader bounds the header length a file may claim; numpy writes a few
// hundred bytes.
const maxNPYHeader = 1 << 20

// ErrFormat is wrapped by every loader error that is about a file's contents
// (as opposed to the file system): a bad header, a truncated body, an
// unsupported element type, inconsistent sizes.
var ErrFormat = errors.New("bad data file")

// npyHeader is what the header of a .npy file says about its array.
type npyHeader struct {
	kind     byte // 'f' or 'i'
	size     int  // bytes per element
	big      bool // big-endian elements
	fortran  bool // column-major
	shape    []int
	dataSize int64 // bytes of array data, product(shape)*size
	offset   int64 // where the data starts
}

// rows and cols view the shape as a matrix: a 1-d array is one row.
func (h *npyHeader) rowsCols() (int, int) {
	switch len(h.shape) {
	case 1:
		return 1, h.shape[0]
	default:
		return h.shape[0], h.shape[1]
	}
}

// readNPYHeader parses the magic, version and header dictionary of a .npy
// file. It checks the claimed data size against fileSize before anything of
// that size is allocated.
func readNPYHeader(r io.Reader, fileSize int64) (*npyHeader, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, fmt.Errorf("%w: too short for a .npy header (%d bytes)", ErrFormat, fileSize)
	}
	if string(pre[:6]) != npyMagic {
		return nil, fmt.Errorf("%w: not a .npy file (no \\x93NUMPY magic)", ErrFormat)
	}
	major := pre[6]
	var hlen, off int64
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, fmt.Errorf("%w: truncated .npy header", ErrFormat)
		}
		hlen, off = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: truncated .npy header", ErrFormat)
		}
		hlen, off = int64(binary.LittleEndian.Uint32(b[:])), 12
	default:
		return nil, fmt.Errorf("%w: .npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", ErrFormat, major, pre[7])
	}
	if hlen > maxNPYHeader || off+hlen > fileSize {
		return nil, fmt.Errorf("%w: .npy header claims %d bytes, the file has %d", ErrFormat, hlen, fileSize)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("%w: truncated .npy header", ErrFormat)
	}
	h, err := parseNPYDict(string(hb))
	if err != nil {
		return nil, err
	}
	h.offset = off + hlen
	n := int64(h.size)
	for _, s := range h.shape {
		if s < 0 || (s > 0 && n > math.MaxInt64/int64(s)) {
			return nil, fmt.Errorf("%w: shape %v is too large", ErrFormat, h.shape)
		}
		n *= int64(s)
	}
	h.dataSize = n
	if have := fileSize - h.offset; have != n {
		if have < n {
			return nil, fmt.Errorf("%w: truncated: shape %v needs %d bytes of data, the file has %d", ErrFormat, h.shape, n, have)
		}
		return nil, fmt.Errorf("%w: %d bytes after the %v array (a concatenation of arrays? save one array per file)", ErrFormat, have-n, h.shape)
	}
	return h, nil
}

// parseNPYDict parses the Python dictionary literal of a .npy header, such
// as {'descr': '<f4', 'fortran_order': False, 'shape': (100, 256), }.
func parseNPYDict(s string) (*npyHeader, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, fmt.Errorf("%w: .npy header is not a dictionary: %q", ErrFormat, s)
	}
	body := s[1 : len(s)-1]
	h := &npyHeader{}
	var haveDescr, haveShape, haveOrder bool
	for len(strings.TrimSpace(body)) > 0 {
		body = strings.TrimLeft(body, " ,\t\n")
		if body == "" {
			break
		}
		key, rest, err := pyString(body)
		if err != nil {
			return nil, fmt.Errorf("%w: .npy header %q: %v", ErrFormat, s, err)
		}
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, ":") {
			return nil, fmt.Errorf("%w: .npy header %q: no ':' after %q", ErrFormat, s, key)
		}
		rest = strings.TrimLeft(rest[1:], " ")
		switch key {
		case "descr":
			var d string
			d, rest, err = pyString(rest)
			if err != nil {
				return nil, fmt.Errorf("%w: .npy header %q: descr: %v (structured dtypes are not supported)", ErrFormat, s, err)
			}
			if err := h.setDescr(d); err != nil {
				return nil, err
			}
			haveDescr = true
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "False"):
				h.fortran, rest = false, rest[5:]
			case strings.HasPrefix(rest, "True"):
				h.fortran, rest = true, rest[4:]
			default:
				return nil, fmt.Errorf("%w: .npy header %q: fortran_order is not True or False", ErrFormat, s)
			}
			haveOrder = true
		case "shape":
			if !strings.HasPrefix(rest, "(") {
				return nil, fmt.Errorf("%w: .npy header %q: shape is not a tuple", ErrFormat, s)
			}
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return nil, fmt.Errorf("%w: .npy header %q: shape tuple is not closed", ErrFormat, s)
			}
			for _, f := range strings.Split(rest[1:end], ",") {
				f = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "L"))
				if f == "" {
					continue
				}
				v, err := strconv.ParseInt(f, 10, 64)
				if err != nil || v < 0 || v > math.MaxInt32*int64(1<<16) {
					return nil, fmt.Errorf("%w: .npy header %q: bad dimension %q in shape", ErrFormat, s, f)
				}
				h.shape = append(h.shape, int(v))
			}
			rest = rest[end+1:]
			haveShape = true
		default:
			return nil, fmt.Errorf("%w: .npy header %q: unknown key %q", ErrFormat, s, key)
		}
		body = rest
	}
	if !haveDescr || !haveShape || !haveOrder {
		return nil, fmt.Errorf("%w: .npy header %q lacks descr, fortran_order or shape", ErrFormat, s)
	}
	if len(h.shape) == 0 || len(h.shape) > 2 {
		return nil, fmt.Errorf("%w: array has shape %v; want a matrix (n, d) of vectors, or one vector (d,)", ErrFormat, h.shape)
	}
	return h, nil
}

// pyString reads a quoted Python string literal at the start of s.
func pyString(s string) (string, string, error) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", s, fmt.Errorf("expected a quoted string at %q", s)
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", s, fmt.Errorf("unterminated string at %q", s)
	}
	return s[1 : 1+end], s[end+2:], nil
}

// setDescr interprets a numpy type string such as "<f4".
func (h *npyHeader) setDescr(d string) error {
	if len(d) < 3 {
		return fmt.Errorf("%w: unsupported dtype %q", ErrFormat, d)
	}
	switch d[0] {
	case '<', '|':
	case '>':
		h.big = true
	case '=':
		// Native order, which numpy writes as '<' on every machine kume
		// runs on.
	default:
		return fmt.Errorf("%w: unsupported dtype %q", ErrFormat, d)
	}
	switch d[1:] {
	case "f2", "f4", "f8":
		h.kind = 'f'
	case "i8":
		h.kind = 'i'
	default:
		return fmt.Errorf("%w: dtype %q is not supported (want float32 '<f4', float16 '<f2' or float64 '<f8' vectors; convert with x.astype('float32'))", ErrFormat, d)
	}
	h.size = int(d[2] - '0')
	return nil
}

// Matrix is n row vectors of dimension D, row-major.
type Matrix struct {
	N, D int
	Data []float32
}

// ReadNPY reads a .npy file of float32, float16 or float64 numbers as a
// float32 matrix: a 2-d array is N rows of D columns, a 1-d array one row.
// Big-endian and Fortran-order files are converted. NaN and infinite values
// are refused, naming their row. The claimed size is checked against the
// file size before anything is allocated.
func ReadNPY(path string, progress func(done, total int64)) (*Matrix, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a folder, not a .npy file", path)
	}
	br := bufio.NewReaderSize(f, 1<<16)
	h, err := readNPYHeader(br, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if h.kind != 'f' {
		return nil, fmt.Errorf("%s: %w: holds int64 numbers, not float vectors", path, ErrFormat)
	}
	rows, cols := h.rowsCols()
	if rows == 0 || cols == 0 {
		return nil, fmt.Errorf("%s: %w: empty array (shape %v)", path, ErrFormat, h.shape)
	}
	m := &Matrix{N: rows, D: cols, Data: make([]float32, rows*cols)}
	if err := readFloats(br, m.Data, h.size, h.big, h.dataSize, progress); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if h.fortran && rows > 1 {
		t := make([]float32, len(m.Data))
		for j := 0; j < cols; j++ {
			for i := 0; i < rows; i++ {
				t[i*cols+j] = m.Data[j*rows+i]
			}
		}
		m.Data = t
	}
	if err := checkFinite(m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ReadNPYInt64 reads a .npy file of int64 numbers (such as the ids written by
// kume search) as a matrix of rows x cols.
func ReadNPYInt64(path string) (data []int64, rows, cols int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, 0, err
	}
	br := bufio.NewReader(f)
	h, err := readNPYHeader(br, st.Size())
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	if h.kind != 'i' || h.fortran {
		return nil, 0, 0, fmt.Errorf("%s: %w: want a C-order int64 array", path, ErrFormat)
	}
	rows, cols = h.rowsCols()
	data = make([]int64, rows*cols)
	var order binary.ByteOrder = binary.LittleEndian
	if h.big {
		order = binary.BigEndian
	}
	if err := binary.Read(br, order, data); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w: %v", path, ErrFormat, err)
	}
	return data, rows, cols, nil
}

// readFloats decodes len(dst) numbers of the given byte size (2, 4 or 8)
// into dst, in chunks, reporting progress in bytes.
func readFloats(r io.Reader, dst []float32, size int, big bool, total int64, progress func(done, total int64)) error {
	const chunk = 1 << 20
	buf := make([]byte, chunk*size)
	var order binary.ByteOrder = binary.LittleEndian
	if big {
		order = binary.BigEndian
	}
	for i := 0; i < len(dst); {
		n := min(chunk, len(dst)-i)
		b := buf[:n*size]
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("%w: truncated data: %v", ErrFormat, err)
		}
		out := dst[i : i+n]
		switch size {
		case 2:
			for j := range out {
				out[j] = Float16(order.Uint16(b[2*j:]))
			}
		case 4:
			for j := range out {
				out[j] = math.Float32frombits(order.Uint32(b[4*j:]))
			}
		case 8:
			for j := range out {
				out[j] = float32(math.Float64frombits(order.Uint64(b[8*j:])))
			}
		}
		i += n
		if progress != nil {
			progress(int64(i*size), total)
		}
	}
	return nil
}

// checkFinite fails on the first NaN or infinite value, naming its row.
func checkFinite(m *Matrix) error {
	for i, v := range m.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: row %d, column %d is %v (vectors must be finite)", ErrFormat, i/m.D, i%m.D, v)
		}
	}
	return nil
}

// Float16 converts an IEEE 754 half-precision number to float32.
func Float16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0:
		if frac == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value = frac * 2^-24.
		v := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	}
}

// npyHeaderBytes builds a version 1.0 .npy header for a C-order array.
func npyHeaderBytes(descr string, shape ...int) []byte {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = strconv.Itoa(s)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	// Pad with spaces so that the data starts on a 64-byte boundary, and end
	// with a newline, as numpy does.
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.Write([]byte{1, 0})
	hl := len(dict) + pad + 1
	b.Write([]byte{byte(hl), byte(hl >> 8)})
	b.WriteString(dict)
	b.Write(bytes.Repeat([]byte{' '}, pad))
	b.WriteByte('\n')
	return b.Bytes()
}

// WriteNPYFloat32 writes rows x cols float32 numbers as a C-order '<f4' .npy
// file.
func WriteNPYFloat32(w io.Writer, data []float32, rows, cols int) error {
	if len(data) != rows*cols {
		return fmt.Errorf("bench: %d numbers for a %d x %d array", len(data), rows, cols)
	}
	bw := bufio.NewWriter(w)
	bw.Write(npyHeaderBytes("<f4", rows, cols))
	var b [4]byte
	for _, v := range data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
	return bw.Flush()
}

// WriteNPYInt64 writes rows x cols int64 numbers as a C-order '<i8' .npy
// file.
func WriteNPYInt64(w io.Writer, data []int64, rows, cols int) error {
	if len(data) != rows*cols {
		return fmt.Errorf("bench: %d numbers for a %d x %d array", len(data), rows, cols)
	}
	bw := bufio.NewWriter(w)
	bw.Write(npyHeaderBytes("<i8", rows, cols))
	var b [8]byte
	for _, v := range data {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		bw.Write(b[:])
	}
	return bw.Flush()
}

// WriteFile creates path and writes to it with fn, removing the file if fn
// fails.
func WriteFile(path string, fn func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}
