package npy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/kume-ann/kume"
)

func checkShape(n int, shape []int) error {
	if len(shape) == 0 || len(shape) > 2 {
		return fmt.Errorf("npy: %w: shape %v: want one or two dimensions", kume.ErrInvalidArgument, shape)
	}
	p := 1
	for _, s := range shape {
		if s < 0 {
			return fmt.Errorf("npy: %w: shape %v has a negative dimension", kume.ErrInvalidArgument, shape)
		}
		p *= s
	}
	if p != n {
		return fmt.Errorf("npy: %w: %d numbers for shape %v", kume.ErrDimension, n, shape)
	}
	return nil
}

// Write writes data as a C-order float32 ('<f4') array of the given shape
// (one or two dimensions), as numpy.save does.
func Write(w io.Writer, data []float32, shape ...int) error {
	if err := checkShape(len(data), shape); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(headerBytes("<f4", shape))
	if hostLittle && len(data) > 0 {
		bw.Write(unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), len(data)*4))
	} else {
		var b [4]byte
		for _, v := range data {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			bw.Write(b[:])
		}
	}
	return bw.Flush()
}

// WriteInt64 writes data as a C-order int64 ('<i8') array of the given
// shape.
func WriteInt64(w io.Writer, data []int64, shape ...int) error {
	if err := checkShape(len(data), shape); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(headerBytes("<i8", shape))
	var b [8]byte
	for _, v := range data {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		bw.Write(b[:])
	}
	return bw.Flush()
}

// WriteFile writes data as a float32 array of the given shape to path. It
// writes a temporary file beside path and renames it, so path never holds
// half an array.
func WriteFile(path string, data []float32, shape ...int) error {
	return writeAtomic(path, func(w io.Writer) error { return Write(w, data, shape...) })
}

// WriteInt64File writes data as an int64 array of the given shape to path,
// as WriteFile does.
func WriteInt64File(path string, data []int64, shape ...int) error {
	return writeAtomic(path, func(w io.Writer) error { return WriteInt64(w, data, shape...) })
}

func writeAtomic(path string, fn func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := fn(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
