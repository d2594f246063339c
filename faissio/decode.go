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
//
// The first error sticks, as the encoder's does: once err is set, reads do
// nothing and return zero values (vectors: what was read), and every error
// the decoder makes (fail, corrupt, ...) returns the first one instead, so
// that a check made on the zero value of a failed read cannot hide why it
// failed. Callers test d.err where they must stop: before building an index
// from what was read, and in loops whose bound came from the file.
type decoder struct {
	r     *bufio.Reader
	pos   int64 // bytes consumed
	size  int64 // total size of the input, -1 when unknown
	limit int64 // largest vector, in bytes, the caller allows
	depth int   // nesting of index records
	err   error // the first error
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

// fail records err unless an error is already recorded, and returns the
// recorded one.
func (d *decoder) fail(err error) error {
	if d.err == nil {
		d.err = err
	}
	return d.err
}

// corrupt records and returns an error wrapping kume.ErrCorrupt, with the
// offset (or the error already recorded).
func (d *decoder) corrupt(format string, args ...any) error {
	if d.err != nil {
		return d.err
	}
	return d.fail(fmt.Errorf("faissio: %w: at byte %d: %s", kume.ErrCorrupt, d.pos, fmt.Sprintf(format, args...)))
}

// remaining returns the number of unread bytes, or -1 when unknown.
func (d *decoder) remaining() int64 {
	if d.size < 0 {
		return -1
	}
	return d.size - d.pos
}

// full reads exactly len(p) bytes, and reports whether it did.
func (d *decoder) full(p []byte) bool {
	if d.err != nil {
		return false
	}
	n, err := io.ReadFull(d.r, p)
	d.pos += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			d.fail(fmt.Errorf("faissio: %w: truncated at byte %d (wanted %d more bytes)", kume.ErrCorrupt, d.pos, len(p)-n))
		} else {
			d.fail(fmt.Errorf("faissio: reading at byte %d: %w", d.pos, err))
		}
		return false
	}
	return true
}

func (d *decoder) u8() uint8 {
	if !d.full(d.buf[:1]) {
		return 0
	}
	return d.buf[0]
}

// boolean reads a byte that must be 0 or 1.
func (d *decoder) boolean(what string) bool {
	b := d.u8()
	if b > 1 {
		d.corrupt("%s: bool byte is %#x", what, b)
	}
	return b == 1
}

func (d *decoder) u32() uint32 {
	if !d.full(d.buf[:4]) {
		return 0
	}
	return binary.LittleEndian.Uint32(d.buf[:4])
}

func (d *decoder) u64() uint64 {
	if !d.full(d.buf[:8]) {
		return 0
	}
	return binary.LittleEndian.Uint64(d.buf[:8])
}

func (d *decoder) i32() int32     { return int32(d.u32()) }
func (d *decoder) i64() int64     { return int64(d.u64()) }
func (d *decoder) f32() float32   { return math.Float32frombits(d.u32()) }
func (d *decoder) fourcc() fourcc { return fourcc(d.u32()) }

// checkBytes checks that a field of n elements of size elem can be present:
// the byte count must not overflow, must respect the caller's limit and must
// fit in what remains of the input when that is known. It returns the byte
// count (0 after an error).
func (d *decoder) checkBytes(what string, n uint64, elem int) int64 {
	if d.err != nil {
		return 0
	}
	if n > uint64(math.MaxInt64)/uint64(elem) {
		d.corrupt("%s: %d elements of %d bytes overflow", what, n, elem)
		return 0
	}
	b := int64(n) * int64(elem)
	if b > math.MaxInt {
		d.fail(fmt.Errorf("faissio: %w: %s: %d bytes do not fit in memory on this platform", kume.ErrUnsupported, what, b))
		return 0
	}
	if d.limit > 0 && b > d.limit {
		d.fail(fmt.Errorf("faissio: %w: %s: %d bytes exceed the limit of %d (see MaxBytes)", kume.ErrCorrupt, what, b, d.limit))
		return 0
	}
	if rem := d.remaining(); rem >= 0 && b > rem {
		d.corrupt("%s claims %d bytes, only %d remain", what, b, rem)
		return 0
	}
	return b
}

// count reads a u64 element count of a vector whose elements are elem bytes
// and checks it with checkBytes; it is 0 after an error.
func (d *decoder) count(what string, elem int) int {
	n := d.u64()
	d.checkBytes(what, n, elem)
	if d.err != nil {
		return 0
	}
	return int(n)
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

// readVec reads n elements of elem bytes each, appending them to dst: all
// at once when the input's size is known (and the count was checked
// against it), else in chunks that grow only as their bytes arrive. raw
// views elements as their bytes; fix turns file bytes into native values in
// place (nil: they are native already).
func readVec[T any](d *decoder, dst []T, n, elem int, raw func([]T) []byte, fix func([]T)) []T {
	for n > 0 && d.err == nil {
		c := d.growStep(n, elem)
		dst = grow(dst, c)
		part := dst[len(dst) : len(dst)+c]
		if !d.full(raw(part)) {
			break
		}
		if fix != nil {
			fix(part)
		}
		dst = dst[:len(dst)+c]
		n -= c
	}
	return dst
}

// float32s reads n float32 values, appending to dst.
func (d *decoder) float32s(dst []float32, n int) []float32 {
	return readVec(d, dst, n, 4, float32Bytes, fixFloat32s)
}

// int32s reads n int32 values, appending to dst.
func (d *decoder) int32s(dst []int32, n int) []int32 {
	return readVec(d, dst, n, 4, int32Bytes, fixInt32s)
}

// int64s reads n int64 values, appending to dst.
func (d *decoder) int64s(dst []int64, n int) []int64 {
	return readVec(d, dst, n, 8, int64Bytes, fixInt64s)
}

// bytes reads n bytes, appending to dst.
func (d *decoder) bytes(dst []byte, n int) []byte {
	return readVec(d, dst, n, 1, func(b []byte) []byte { return b }, nil)
}

// skip discards n bytes (already checked against the input size).
func (d *decoder) skip(n int64) {
	if d.err != nil {
		return
	}
	m, err := d.r.Discard(int(min(n, math.MaxInt)))
	d.pos += int64(m)
	if err != nil {
		if errors.Is(err, io.EOF) {
			d.fail(fmt.Errorf("faissio: %w: truncated at byte %d", kume.ErrCorrupt, d.pos))
		} else {
			d.fail(fmt.Errorf("faissio: reading at byte %d: %w", d.pos, err))
		}
	}
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
func (d *decoder) f32Vector(what string) []float32 {
	return d.float32s(nil, d.count(what, 4))
}

// i32Vector reads a vector<int32>.
func (d *decoder) i32Vector(what string) []int32 {
	return d.int32s(nil, d.count(what, 4))
}

// i64Vector reads a vector<int64>.
func (d *decoder) i64Vector(what string) []int64 {
	return d.int64s(nil, d.count(what, 8))
}

// u64Vector reads a vector<uint64> (sizes); the values are returned as they
// are and must be checked by the caller.
func (d *decoder) u64Vector(what string) []uint64 {
	v := d.int64s(nil, d.count(what, 8))
	if d.err != nil {
		return nil
	}
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = uint64(x)
	}
	return out
}

// skipVector reads the count of a vector of elem-byte elements and skips its
// contents.
func (d *decoder) skipVector(what string, elem int) {
	n := d.count(what, elem)
	d.skip(int64(n) * int64(elem))
}
