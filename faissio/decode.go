package faissio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/kume-ann/kume"
)

// maxDim is the largest dimension FAISS's readers accept.
const maxDim = 1 << 20

// chunkBytes is how much a vector of unknown trustworthiness may grow by
// before the bytes that justify it have arrived.
const chunkBytes = 1 << 20

// decoder reads FAISS's primitives from a byte stream. It knows how many
// bytes remain when the input can tell (a file, a seeker, a bytes.Reader), so
// that a count is checked against the data actually present before anything
// is allocated; when it cannot, large vectors are read in chunks and grow
// only as their bytes arrive.
type decoder struct {
	r     *bufio.Reader
	pos   int64 // bytes consumed
	size  int64 // total size of the input, -1 when unknown
	limit int64 // largest vector, in bytes, the caller allows
	depth int   // nesting of index records
	buf   [8]byte
}

// maxDepth bounds the nesting of index records (IxRF in IxPT in ...), so that
// a crafted file cannot recurse without end.
const maxDepth = 16

// inputSize returns the number of bytes left in r, or -1 when r cannot tell.
func inputSize(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }: // bytes.Reader, strings.Reader, bytes.Buffer
		return int64(v.Len())
	case *os.File:
		st, err := v.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return -1
		}
		cur, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return st.Size() - cur
	case io.Seeker:
		cur, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		end, err := v.Seek(0, io.SeekEnd)
		if err != nil {
			return -1
		}
		if _, err := v.Seek(cur, io.SeekStart); err != nil {
			return -1
		}
		return end - cur
	}
	return -1
}

func newDecoder(r io.Reader, o *options) *decoder {
	size := o.size
	if size < 0 {
		size = inputSize(r)
	}
	bufSize := 1 << 16
	if size >= 0 && size < int64(bufSize) {
		bufSize = max(16, int(size)) // a small input gets a small buffer
	}
	return &decoder{r: bufio.NewReaderSize(r, bufSize), size: size, limit: o.maxBytes}
}

// corrupt returns an error wrapping kume.ErrCorrupt, with the offset.
func (d *decoder) corrupt(format string, args ...any) error {
	return fmt.Errorf("faissio: %w: at byte %d: %s", kume.ErrCorrupt, d.pos, fmt.Sprintf(format, args...))
}

// remaining returns the number of unread bytes, or -1 when unknown.
func (d *decoder) remaining() int64 {
	if d.size < 0 {
		return -1
	}
	return d.size - d.pos
}

// full reads exactly len(p) bytes.
func (d *decoder) full(p []byte) error {
	n, err := io.ReadFull(d.r, p)
	d.pos += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("faissio: %w: truncated at byte %d (wanted %d more bytes)", kume.ErrCorrupt, d.pos, len(p)-n)
		}
		return fmt.Errorf("faissio: reading at byte %d: %w", d.pos, err)
	}
	return nil
}

func (d *decoder) u8() (uint8, error) {
	if err := d.full(d.buf[:1]); err != nil {
		return 0, err
	}
	return d.buf[0], nil
}

// boolean reads a byte that must be 0 or 1.
func (d *decoder) boolean(what string) (bool, error) {
	b, err := d.u8()
	if err != nil {
		return false, err
	}
	if b > 1 {
		return false, d.corrupt("%s: bool byte is %#x", what, b)
	}
	return b == 1, nil
}

func (d *decoder) u32() (uint32, error) {
	if err := d.full(d.buf[:4]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(d.buf[:4]), nil
}

func (d *decoder) i32() (int32, error) {
	v, err := d.u32()
	return int32(v), err
}

func (d *decoder) u64() (uint64, error) {
	if err := d.full(d.buf[:8]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(d.buf[:8]), nil
}

func (d *decoder) i64() (int64, error) {
	v, err := d.u64()
	return int64(v), err
}

func (d *decoder) f32() (float32, error) {
	v, err := d.u32()
	return math.Float32frombits(v), err
}

func (d *decoder) fourcc() (fourcc, error) {
	v, err := d.u32()
	return fourcc(v), err
}

// checkBytes checks that a field of n elements of size elem can be present:
// the byte count must not overflow, must respect the caller's limit and must
// fit in what remains of the input when that is known. It returns the byte
// count.
func (d *decoder) checkBytes(what string, n uint64, elem int) (int64, error) {
	if n > uint64(math.MaxInt64)/uint64(elem) {
		return 0, d.corrupt("%s: %d elements of %d bytes overflow", what, n, elem)
	}
	b := int64(n) * int64(elem)
	if b > math.MaxInt {
		return 0, fmt.Errorf("faissio: %w: %s: %d bytes do not fit in memory on this platform", kume.ErrUnsupported, what, b)
	}
	if d.limit > 0 && b > d.limit {
		return 0, fmt.Errorf("faissio: %w: %s: %d bytes exceed the limit of %d (see MaxBytes)", kume.ErrCorrupt, what, b, d.limit)
	}
	if rem := d.remaining(); rem >= 0 && b > rem {
		return 0, d.corrupt("%s claims %d bytes, only %d remain", what, b, rem)
	}
	return b, nil
}

// count reads a u64 element count of a vector whose elements are elem bytes
// and checks it with checkBytes.
func (d *decoder) count(what string, elem int) (int, error) {
	n, err := d.u64()
	if err != nil {
		return 0, err
	}
	if _, err := d.checkBytes(what, n, elem); err != nil {
		return 0, err
	}
	return int(n), nil
}

// growStep returns how many elements of size elem may be allocated ahead of
// the data: all n when the input size is known (and was checked), else at
// most chunkBytes worth.
func (d *decoder) growStep(n, elem int) int {
	if d.size >= 0 {
		return n
	}
	return max(1, min(n, chunkBytes/elem))
}

// float32s reads n float32 values, appending to dst. Memory grows only as the
// bytes arrive.
func (d *decoder) float32s(dst []float32, n int) ([]float32, error) {
	for n > 0 {
		c := d.growStep(n, 4)
		dst = grow(dst, c)
		part := dst[len(dst) : len(dst)+c]
		if err := d.full(float32Bytes(part)); err != nil {
			return dst, err
		}
		fixFloat32s(part)
		dst = dst[:len(dst)+c]
		n -= c
	}
	return dst, nil
}

// int64s reads n int64 values, appending to dst.
func (d *decoder) int64s(dst []int64, n int) ([]int64, error) {
	for n > 0 {
		c := d.growStep(n, 8)
		dst = grow(dst, c)
		part := dst[len(dst) : len(dst)+c]
		if err := d.full(int64Bytes(part)); err != nil {
			return dst, err
		}
		fixInt64s(part)
		dst = dst[:len(dst)+c]
		n -= c
	}
	return dst, nil
}

// bytes reads n bytes, appending to dst.
func (d *decoder) bytes(dst []byte, n int) ([]byte, error) {
	for n > 0 {
		c := d.growStep(n, 1)
		dst = grow(dst, c)
		if err := d.full(dst[len(dst) : len(dst)+c]); err != nil {
			return dst, err
		}
		dst = dst[:len(dst)+c]
		n -= c
	}
	return dst, nil
}

// skip discards n bytes (already checked against the input size).
func (d *decoder) skip(n int64) error {
	m, err := d.r.Discard(int(min(n, math.MaxInt)))
	d.pos += int64(m)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("faissio: %w: truncated at byte %d", kume.ErrCorrupt, d.pos)
		}
		return fmt.Errorf("faissio: reading at byte %d: %w", d.pos, err)
	}
	return nil
}

// grow returns s with room for at least c more elements, growing
// geometrically so that chunked reads stay linear.
func grow[T any](s []T, c int) []T {
	if cap(s)-len(s) >= c {
		return s
	}
	n := max(len(s)+c, 2*cap(s))
	t := make([]T, len(s), n)
	copy(t, s)
	return t
}

// f32Vector reads a vector<float>: a u64 count, then the floats.
func (d *decoder) f32Vector(what string) ([]float32, error) {
	n, err := d.count(what, 4)
	if err != nil {
		return nil, err
	}
	return d.float32s(nil, n)
}

// i64Vector reads a vector<int64>.
func (d *decoder) i64Vector(what string) ([]int64, error) {
	n, err := d.count(what, 8)
	if err != nil {
		return nil, err
	}
	return d.int64s(nil, n)
}

// u64Vector reads a vector<uint64> (sizes); the values are returned as they
// are and must be checked by the caller.
func (d *decoder) u64Vector(what string) ([]uint64, error) {
	n, err := d.count(what, 8)
	if err != nil {
		return nil, err
	}
	v, err := d.int64s(nil, n)
	if err != nil {
		return nil, err
	}
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = uint64(x)
	}
	return out, nil
}

// byteVector reads a vector<uint8>.
func (d *decoder) byteVector(what string) ([]byte, error) {
	n, err := d.count(what, 1)
	if err != nil {
		return nil, err
	}
	return d.bytes(nil, n)
}

// skipVector reads the count of a vector of elem-byte elements and skips its
// contents, returning the count.
func (d *decoder) skipVector(what string, elem int) (int, error) {
	n, err := d.count(what, elem)
	if err != nil {
		return 0, err
	}
	return n, d.skip(int64(n) * int64(elem))
}
