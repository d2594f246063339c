package faissio

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
)

// encoder writes FAISS's primitives. The first error sticks: later writes do
// nothing, and err reports it.
type encoder struct {
	w   *bufio.Writer
	n   int64 // bytes written
	err error
	buf [8]byte
	tmp []byte // scratch for big-endian conversion

	plan  *plan
	remap func(id int64) int64 // ids as written, inside a renumbered refining index; nil: as they are
	idBuf []int64
}

func newEncoder(w io.Writer) *encoder {
	return &encoder{w: bufio.NewWriterSize(w, 1<<16)}
}

func (e *encoder) write(p []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(p)
	e.n += int64(n)
	e.err = err
}

func (e *encoder) flush() error {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.err
}

func (e *encoder) u8(v uint8) {
	e.buf[0] = v
	e.write(e.buf[:1])
}

func (e *encoder) boolean(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.write(e.buf[:4])
}

func (e *encoder) i32(v int32)     { e.u32(uint32(v)) }
func (e *encoder) u64(v uint64)    { binary.LittleEndian.PutUint64(e.buf[:8], v); e.write(e.buf[:8]) }
func (e *encoder) i64(v int64)     { e.u64(uint64(v)) }
func (e *encoder) f32(v float32)   { e.u32(math.Float32bits(v)) }
func (e *encoder) fourcc(h fourcc) { e.u32(uint32(h)) }

// writeVec writes the values without a count: on a little-endian machine
// straight from their memory (raw views them as bytes), else converted by
// put through the scratch buffer.
func writeVec[T any](e *encoder, v []T, raw func([]T) []byte, put func([]byte, T) []byte) {
	if littleEndian {
		e.write(raw(v))
		return
	}
	for len(v) > 0 {
		c := min(len(v), 4096)
		e.tmp = e.tmp[:0]
		for _, x := range v[:c] {
			e.tmp = put(e.tmp, x)
		}
		e.write(e.tmp)
		v = v[c:]
	}
}

// float32s writes the values without a count.
func (e *encoder) float32s(f []float32) {
	writeVec(e, f, float32Bytes, func(b []byte, x float32) []byte { return binary.LittleEndian.AppendUint32(b, math.Float32bits(x)) })
}

// int64s writes the values without a count.
func (e *encoder) int64s(v []int64) {
	writeVec(e, v, int64Bytes, func(b []byte, x int64) []byte { return binary.LittleEndian.AppendUint64(b, uint64(x)) })
}

// f32Vector writes a vector<float>: a u64 count, then the floats.
func (e *encoder) f32Vector(f []float32) {
	e.u64(uint64(len(f)))
	e.float32s(f)
}

// i64Vector writes a vector<int64>.
func (e *encoder) i64Vector(v []int64) {
	e.u64(uint64(len(v)))
	e.int64s(v)
}

// u64Vector writes a vector<uint64>.
func (e *encoder) u64Vector(v []uint64) {
	e.u64(uint64(len(v)))
	for _, x := range v {
		e.u64(x)
	}
}

// byteVector writes a vector<uint8>.
func (e *encoder) byteVector(b []byte) {
	e.u64(uint64(len(b)))
	e.write(b)
}
