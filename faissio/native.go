package faissio

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// The file format is little-endian. On a little-endian machine float32 and
// int64 slices are read and written through a byte view of their memory, with
// no conversion; on a big-endian one the bytes are swapped in place after a
// read and through a scratch buffer before a write.

// littleEndian reports whether this machine stores numbers little-endian.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

func float32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), 4*len(f))
}

func int64Bytes(v []int64) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 8*len(v))
}

func int32Bytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}

// fixFloat32s turns little-endian file bytes, read into f's memory, into
// native floats.
func fixFloat32s(f []float32) {
	if littleEndian {
		return
	}
	b := float32Bytes(f)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// fixInt32s is fixFloat32s for int32.
func fixInt32s(v []int32) {
	if littleEndian {
		return
	}
	b := int32Bytes(v)
	for i := range v {
		v[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// fixInt64s is fixFloat32s for int64.
func fixInt64s(v []int64) {
	if littleEndian {
		return
	}
	b := int64Bytes(v)
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
}
