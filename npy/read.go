package npy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"unsafe"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
)

// Matrix is Rows row vectors of Cols numbers, row-major.
type Matrix struct {
	Rows, Cols int
	Data       []float32
}

// Row returns row i of m (sharing m's memory).
func (m *Matrix) Row(i int) []float32 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// Options controls how arrays are read. The zero value reads floating-point
// arrays and refuses NaN and infinite values.
type Options struct {
	// ConvertIntegers accepts integer and boolean arrays, converting each
	// element to the nearest float32.
	ConvertIntegers bool
	// AllowNonFinite accepts NaN and infinite values; by default the first
	// one is an error that names its row and column.
	AllowNonFinite bool
	// Progress, when set, is called as the data is read with the number of
	// bytes of array data read so far and the total.
	Progress func(done, total int64)
}

// hostLittle reports whether the machine stores numbers little-endian.
var hostLittle = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// chunkBytes is how much array data is decoded at a time (and how often
// progress is reported).
const chunkBytes = 4 << 20

// ReadFile reads the .npy file at path as a float32 matrix.
func ReadFile(path string, opts *Options) (*Matrix, error) {
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
		return nil, fmt.Errorf("%s: %w: is a folder, not a .npy file", path, kume.ErrInvalidArgument)
	}
	m, err := Decode(bufio.NewReaderSize(f, 1<<16), st.Size(), opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Decode reads a .npy array from r as a float32 matrix. size is the number
// of bytes r holds, or -1 when it is not known; with an unknown size the
// array grows as data arrives, so a header that claims more than r holds
// still allocates no more than was read.
func Decode(r io.Reader, size int64, opts *Options) (*Matrix, error) {
	if opts == nil {
		opts = &Options{}
	}
	h, err := ReadHeader(r, size)
	if err != nil {
		return nil, err
	}
	m := &Matrix{Rows: h.Rows(), Cols: h.Cols()}
	if m.Data, err = decodeData(r, h, size >= 0, opts); err != nil {
		return nil, err
	}
	if !opts.AllowNonFinite {
		if err := CheckFinite(m.Data, m.Cols); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// DecodeInto reads the data of an array whose header h has already been
// read from r into dst, which must hold h.Len() numbers; it is what ReadDir
// uses to fill one matrix from many files.
func DecodeInto(dst []float32, r io.Reader, h *Header, opts *Options) error {
	if opts == nil {
		opts = &Options{}
	}
	if int64(len(dst)) != h.Len() {
		return fmt.Errorf("npy: %w: %d numbers of room for a %v array", kume.ErrInvalidArgument, len(dst), h.Shape)
	}
	if err := checkKind(h, opts); err != nil {
		return err
	}
	if err := decodeChunks(dst, r, h.DType, h.DataSize(), opts.Progress); err != nil {
		return err
	}
	if h.Fortran && len(h.Shape) == 2 {
		transpose(dst, h.Shape[0], h.Shape[1])
	}
	if !opts.AllowNonFinite {
		return CheckFinite(dst, h.Cols())
	}
	return nil
}

func checkKind(h *Header, opts *Options) error {
	if !h.DType.IsFloat() && !opts.ConvertIntegers {
		what := "integers"
		if h.DType.Kind == 'b' {
			what = "booleans"
		}
		return fmt.Errorf("%w: %w: dtype %q: holds %s, not float vectors (convert with x.astype('float32'), or ask for the conversion)", ErrFormat, kume.ErrUnsupported, h.DType, what)
	}
	return nil
}

func decodeData(r io.Reader, h *Header, sized bool, opts *Options) ([]float32, error) {
	if err := checkKind(h, opts); err != nil {
		return nil, err
	}
	n := h.Len()
	if int64(int(n)) != n {
		return nil, fmt.Errorf("%w: shape %v is too large for this machine", ErrFormat, h.Shape)
	}
	var out []float32
	if sized {
		out = make([]float32, n)
		if err := decodeChunks(out, r, h.DType, h.DataSize(), opts.Progress); err != nil {
			return nil, err
		}
	} else {
		// Grow with the data actually read.
		step := int64(chunkBytes / 4)
		for done := int64(0); done < n; {
			c := min(step, n-done)
			out = append(out, make([]float32, c)...)
			if err := decodeChunks(out[done:done+c], r, h.DType, c*int64(h.DType.Size), nil); err != nil {
				return nil, err
			}
			done += c
			if opts.Progress != nil {
				opts.Progress(done*int64(h.DType.Size), h.DataSize())
			}
		}
		var one [1]byte
		if k, _ := r.Read(one[:]); k > 0 {
			return nil, fmt.Errorf("%w: bytes after the %v array (a concatenation of arrays? save one array per file)", ErrFormat, h.Shape)
		}
	}
	if h.Fortran && len(h.Shape) == 2 {
		transpose(out, h.Shape[0], h.Shape[1])
	}
	return out, nil
}

// transpose turns the column-major rows x cols data of x into row-major.
func transpose(x []float32, rows, cols int) {
	if rows <= 1 || cols <= 1 {
		return
	}
	t := make([]float32, len(x))
	const blk = 32
	for j0 := 0; j0 < cols; j0 += blk {
		for i0 := 0; i0 < rows; i0 += blk {
			for j := j0; j < min(j0+blk, cols); j++ {
				col := x[j*rows : (j+1)*rows]
				for i := i0; i < min(i0+blk, rows); i++ {
					t[i*cols+j] = col[i]
				}
			}
		}
	}
	copy(x, t)
}

// decodeChunks reads total bytes of elements of type t from r into dst,
// converting to float32.
func decodeChunks(dst []float32, r io.Reader, t DType, total int64, progress func(done, total int64)) error {
	if len(dst) == 0 {
		return nil
	}
	if t.Kind == 'f' && t.Size == 4 && t.BigEndian != hostLittle {
		// Native float32: read straight into dst.
		b := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), len(dst)*4)
		for done := 0; done < len(b); {
			n := min(chunkBytes, len(b)-done)
			if _, err := io.ReadFull(r, b[done:done+n]); err != nil {
				return fmt.Errorf("%w: truncated data: %v", ErrFormat, err)
			}
			done += n
			if progress != nil {
				progress(int64(done), total)
			}
		}
		return nil
	}
	per := chunkBytes / t.Size
	buf := make([]byte, min(per, len(dst))*t.Size)
	var order binary.ByteOrder = binary.LittleEndian
	if t.BigEndian {
		order = binary.BigEndian
	}
	for i := 0; i < len(dst); {
		n := min(per, len(dst)-i)
		b := buf[:n*t.Size]
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("%w: truncated data: %v", ErrFormat, err)
		}
		convert(dst[i:i+n], b, t, order)
		i += n
		if progress != nil {
			progress(int64(i*t.Size), total)
		}
	}
	return nil
}

// convert decodes the elements of b into out.
func convert(out []float32, b []byte, t DType, order binary.ByteOrder) {
	switch {
	case t.Kind == 'f' && t.Size == 2:
		for j := range out {
			out[j] = Float16(order.Uint16(b[2*j:]))
		}
	case t.Kind == 'f' && t.Size == 4:
		for j := range out {
			out[j] = math.Float32frombits(order.Uint32(b[4*j:]))
		}
	case t.Kind == 'f' && t.Size == 8:
		for j := range out {
			out[j] = float32(math.Float64frombits(order.Uint64(b[8*j:])))
		}
	case t.Kind == 'b' || (t.Kind == 'u' && t.Size == 1):
		for j := range out {
			out[j] = float32(b[j])
		}
	case t.Kind == 'i' && t.Size == 1:
		for j := range out {
			out[j] = float32(int8(b[j]))
		}
	case t.Kind == 'i' && t.Size == 2:
		for j := range out {
			out[j] = float32(int16(order.Uint16(b[2*j:])))
		}
	case t.Kind == 'u' && t.Size == 2:
		for j := range out {
			out[j] = float32(order.Uint16(b[2*j:]))
		}
	case t.Kind == 'i' && t.Size == 4:
		for j := range out {
			out[j] = float32(int32(order.Uint32(b[4*j:])))
		}
	case t.Kind == 'u' && t.Size == 4:
		for j := range out {
			out[j] = float32(order.Uint32(b[4*j:]))
		}
	case t.Kind == 'i' && t.Size == 8:
		for j := range out {
			out[j] = float32(int64(order.Uint64(b[8*j:])))
		}
	case t.Kind == 'u' && t.Size == 8:
		for j := range out {
			out[j] = float32(order.Uint64(b[8*j:]))
		}
	}
}

// CheckFinite fails on the first NaN or infinite value of x, naming its row
// and column for rows of cols numbers. The error wraps kume.ErrNonFinite.
func CheckFinite(x []float32, cols int) error {
	if !asm.AnyAbsAtLeast(x, float32(math.Inf(1))) { // one vector pass finds none
		return nil
	}
	for i, v := range x {
		if b := math.Float32bits(v); b&0x7f800000 == 0x7f800000 {
			return fmt.Errorf("%w: row %d, column %d is %v (vectors must be finite)", kume.ErrNonFinite, i/max(cols, 1), i%max(cols, 1), v)
		}
	}
	return nil
}

// Float16 converts an IEEE 754 half-precision number to float32, exactly.
func Float16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case 0:
		// Zero or subnormal: frac * 2^-24, exact in float32.
		v := float32(frac) * (1.0 / (1 << 24))
		return math.Float32frombits(math.Float32bits(v) | sign)
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	}
}

// ReadInt64 reads a .npy file of integers (such as ids written by kume
// search) as rows x cols int64 numbers. Any integer dtype is accepted;
// unsigned 64-bit values above the int64 range are refused.
func ReadInt64(path string) (data []int64, rows, cols int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, 0, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	h, err := ReadHeader(br, st.Size())
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	if h.DType.Kind != 'i' && h.DType.Kind != 'u' {
		return nil, 0, 0, fmt.Errorf("%s: %w: %w: dtype %q is not an integer type", path, ErrFormat, kume.ErrUnsupported, h.DType)
	}
	rows, cols = h.Rows(), h.Cols()
	data = make([]int64, h.Len())
	var order binary.ByteOrder = binary.LittleEndian
	if h.DType.BigEndian {
		order = binary.BigEndian
	}
	sz := h.DType.Size
	buf := make([]byte, min(chunkBytes, int(h.DataSize())))
	per := max(len(buf)/sz, 1)
	for i := 0; i < len(data); {
		n := min(per, len(data)-i)
		b := buf[:n*sz]
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, 0, 0, fmt.Errorf("%s: %w: truncated data: %v", path, ErrFormat, err)
		}
		for j := 0; j < n; j++ {
			var v int64
			switch {
			case sz == 1 && h.DType.Kind == 'i':
				v = int64(int8(b[j]))
			case sz == 1:
				v = int64(b[j])
			case sz == 2 && h.DType.Kind == 'i':
				v = int64(int16(order.Uint16(b[2*j:])))
			case sz == 2:
				v = int64(order.Uint16(b[2*j:]))
			case sz == 4 && h.DType.Kind == 'i':
				v = int64(int32(order.Uint32(b[4*j:])))
			case sz == 4:
				v = int64(order.Uint32(b[4*j:]))
			default:
				u := order.Uint64(b[8*j:])
				if h.DType.Kind == 'u' && u > math.MaxInt64 {
					return nil, 0, 0, fmt.Errorf("%s: %w: element %d (%d) does not fit in int64", path, ErrFormat, i+j, u)
				}
				v = int64(u)
			}
			data[i+j] = v
		}
		i += n
	}
	if h.Fortran && len(h.Shape) == 2 && rows > 1 && cols > 1 {
		t := make([]int64, len(data))
		for j := 0; j < cols; j++ {
			for i := 0; i < rows; i++ {
				t[i*cols+j] = data[j*rows+i]
			}
		}
		data = t
	}
	return data, rows, cols, nil
}
