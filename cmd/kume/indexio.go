package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/faissio"
	"github.com/kume-ann/kume/internal/atomicfile"
)

// saveIndex writes idx to path in FAISS's index format (faiss.read_index
// reads it), replacing any file there atomically.
func saveIndex(path string, idx kume.Index) error {
	return faissio.WriteFile(path, idx)
}

// loadIndex reads an index in FAISS's index format (as faiss.write_index
// writes it).
func loadIndex(path string) (kume.Index, error) {
	idx, err := faissio.ReadFile(path)
	if err != nil {
		return nil, notIndex(path, err)
	}
	return idx, nil
}

// writeOutput writes an output file (-ids, -dist, export's files) with fn.
// A regular file is replaced atomically, keeping its permissions, so a
// failed or interrupted run leaves the previous file whole; symbolic links
// are followed, and FIFOs and devices are written directly. Errors name
// path.
func writeOutput(path string, fn func(w io.Writer) error) error {
	err := atomicfile.Write(path, fn)
	var pe *fs.PathError
	if err != nil && !errors.As(err, &pe) {
		err = fmt.Errorf("%s: %w", path, err)
	}
	return err
}
