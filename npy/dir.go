package npy

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kume-ann/kume"
)

// FileProgress reports one file of a folder being read.
type FileProgress struct {
	// Index is the file's position in name order (0-based), of Count files.
	Index, Count int
	// Name is the file's name inside the folder.
	Name string
	// Rows is the number of rows the file holds.
	Rows int
	// Done is set once the file has been read; a report with Done unset
	// comes before it is read.
	Done bool
}

// DirOptions controls ReadDir.
type DirOptions struct {
	Options
	// FileProgress, when set, is called before and after each file is read.
	FileProgress func(FileProgress)
}

// DirFile is one file ReadDir read: its name and the rows of the result it
// filled.
type DirFile struct {
	Name       string
	Start, End int
}

// ListDir returns the names of the .npy files of a folder (the extension in
// any case, sub-folders and other files left out) in sorted order: the
// order of Python's sorted(os.listdir(dir)), which RVC and Applio read their
// feature folders in.
func ListDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".npy") {
			names = append(names, e.Name())
		}
	}
	// Byte order of UTF-8 names is code-point order, as Python sorts str.
	sort.Strings(names)
	return names, nil
}

// ReadDir reads every .npy file of a folder, in sorted name order (see
// ListDir), and stacks their rows into one matrix, as numpy.concatenate
// does. It reads all the headers first, so that a file of another width, a
// non-float file or a truncated one is reported, naming it, before the
// result is allocated once at its full size. A 1-d file counts as one row;
// a file of zero rows adds nothing but must still agree on the width.
func ReadDir(dir string, opts *DirOptions) (*Matrix, []DirFile, error) {
	if opts == nil {
		opts = &DirOptions{}
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, err
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("%s: %w: not a folder", dir, kume.ErrInvalidArgument)
	}
	names, err := ListDir(dir)
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("%s: %w: folder has no .npy files", dir, kume.ErrInvalidArgument)
	}
	files := make([]DirFile, len(names))
	rows, cols := 0, -1
	first := ""
	for i, name := range names {
		h, err := headerOf(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, err
		}
		if err := checkKind(h, &opts.Options); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
		}
		if cols < 0 {
			cols, first = h.Cols(), name
		} else if h.Cols() != cols {
			return nil, nil, fmt.Errorf("%s: %w: %d-dimensional vectors, but %s has %d", filepath.Join(dir, name), kume.ErrDimension, h.Cols(), first, cols)
		}
		files[i] = DirFile{Name: name, Start: rows, End: rows + h.Rows()}
		rows += h.Rows()
		if int64(rows)*int64(cols) > maxElements/4 {
			return nil, nil, fmt.Errorf("%s: %w: the folder holds too many numbers", dir, kume.ErrInvalidArgument)
		}
	}
	m := &Matrix{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
	fo := opts.Options
	fo.Progress = nil
	for i, f := range files {
		if opts.FileProgress != nil {
			opts.FileProgress(FileProgress{Index: i, Count: len(files), Name: f.Name, Rows: f.End - f.Start})
		}
		if err := readInto(filepath.Join(dir, f.Name), m.Data[f.Start*cols:f.End*cols], &fo); err != nil {
			return nil, nil, err
		}
		if opts.FileProgress != nil {
			opts.FileProgress(FileProgress{Index: i, Count: len(files), Name: f.Name, Rows: f.End - f.Start, Done: true})
		}
		if opts.Progress != nil {
			opts.Progress(int64(i+1), int64(len(files)))
		}
	}
	return m, files, nil
}

// ReadFileHeader reads the header of the .npy file at path, checked against
// the file's size, without reading the data.
func ReadFileHeader(path string) (*Header, error) { return headerOf(path) }

// headerOf reads the header of the file at path, checked against its size.
func headerOf(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h, err := ReadHeader(bufio.NewReader(f), st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

// readInto decodes the file at path into dst, checking again that its
// header is the one seen before (the file may have changed in between).
func readInto(path string, dst []float32, opts *Options) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	h, err := ReadHeader(br, st.Size())
	if err == nil {
		err = DecodeInto(dst, br, h, opts)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
