// Package vecio reads the vector files kume's command and benchmarks take:
// numpy .npy files and folders of them (through package npy), and TEXMEX
// .fvecs, .bvecs and .ivecs files (SIFT1M's format).
package vecio

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/npy"
)

// ErrFormat is wrapped by every error about the contents of a TEXMEX file
// (a bad dimension, a truncated record) and by Read's refusal of a file
// type it does not know. It wraps kume.ErrCorrupt. Errors about .npy files
// wrap npy.ErrFormat instead.
var ErrFormat error = formatError{}

type formatError struct{}

func (formatError) Error() string { return "bad vectors file" }
func (formatError) Unwrap() error { return kume.ErrCorrupt }

// Progress is told how far reading has come: done out of total units
// (bytes of one file, or files of a folder) under a stage name such as
// "reading base.npy".
type Progress func(stage string, done, total int64)

func (p Progress) stage(name string) func(done, total int64) {
	if p == nil {
		return nil
	}
	return func(done, total int64) { p(name, done, total) }
}

// Read reads vectors from a .npy, .fvecs or .bvecs file, or from a folder
// of .npy files (such as an RVC feature folder, 3_feature256), which are
// concatenated in sorted name order (npy.ReadDir). Floating-point .npy data
// of any precision is converted to float32; integer .npy data is refused,
// as are NaN and infinite values and arrays without a single vector.
func Read(path string, progress Progress) (*npy.Matrix, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var m *npy.Matrix
	if st.IsDir() {
		m, _, err = npy.ReadDir(path, &npy.DirOptions{Options: npy.Options{Progress: progress.stage("reading " + filepath.Base(path))}})
	} else {
		p := progress.stage("reading " + filepath.Base(path))
		switch strings.ToLower(filepath.Ext(path)) {
		case ".npy":
			m, err = npy.ReadFile(path, &npy.Options{Progress: p})
		case ".fvecs":
			m, err = ReadFvecs(path, 0, p)
		case ".bvecs":
			m, err = ReadBvecs(path, 0, p)
		default:
			return nil, fmt.Errorf("%s: %w: unknown file type %q (want .npy, .fvecs or .bvecs, or a folder of .npy)", path, ErrFormat, filepath.Ext(path))
		}
	}
	if err != nil {
		return nil, err
	}
	if m.Rows == 0 || m.Cols == 0 {
		return nil, fmt.Errorf("%s: %w: empty array (%d x %d): no vectors", path, kume.ErrInvalidArgument, m.Rows, m.Cols)
	}
	return m, nil
}
