// Package atomicfile writes output files so that a reader never sees half of
// one: the bytes go to a temporary file beside the target, which is synced
// and renamed over the target only once complete. A failed write leaves the
// previous file as it was.
//
// The replacement behaves like writing the file in place in the ways that
// matter to a user: a symbolic link is followed and its target replaced (the
// link stays a link), an existing file keeps its permission bits (and, where
// the process may set them, its owner and group), and a path that names
// something other than a regular file (a FIFO, /dev/null, a terminal) is
// opened and written directly, since it cannot be replaced. Errors name the
// path the caller gave, never the temporary file.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// maxLinks bounds how many symbolic links are followed, as the kernel's
// ELOOP limit does.
const maxLinks = 40

// Write creates or replaces the file at path with the bytes fn writes to w.
// If fn fails, nothing at path changes (for a regular file) and fn's error
// is returned.
func Write(path string, fn func(w io.Writer) error) error {
	target, err := resolve(path)
	if err != nil {
		return err
	}
	st, err := os.Stat(target)
	switch {
	case err == nil && st.IsDir():
		return &fs.PathError{Op: "open", Path: path, Err: syscall.EISDIR}
	case err == nil && !st.Mode().IsRegular():
		return writeDirect(path, target, fn)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return rename(err, path)
	}
	return writeReplace(path, target, st, fn)
}

// resolve follows symbolic links from path to the name that is to be
// written: an existing non-link, or a name that does not exist yet (the
// target of a dangling link is created, as open(2) would).
func resolve(path string) (string, error) {
	p := path
	for i := 0; ; i++ {
		st, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", rename(err, path)
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		if i == maxLinks {
			return "", &fs.PathError{Op: "open", Path: path, Err: syscall.ELOOP}
		}
		link, err := os.Readlink(p)
		if err != nil {
			return "", rename(err, path)
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(p), link)
		}
		p = link
	}
}

// writeDirect writes to something that is not a regular file (a FIFO, a
// device): it cannot be replaced, only written.
func writeDirect(path, target string, fn func(w io.Writer) error) error {
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return rename(err, path)
	}
	if err := fn(namedWriter{f, path}); err != nil {
		f.Close()
		return err
	}
	return rename(f.Close(), path)
}

// writeReplace writes a temporary file in target's directory and renames it
// over target. old describes the file being replaced (nil when there is
// none).
func writeReplace(path, target string, old fs.FileInfo, fn func(w io.Writer) error) (err error) {
	f, tmp, err := createTemp(target)
	if err != nil {
		return rename(err, path)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if old != nil {
		// The new file takes the old one's place, so it takes its
		// permissions (and owner, where allowed) as well.
		// Owner first: changing it may clear the set-id bits.
		keepOwner(f, old)
		if err := f.Chmod(old.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)); err != nil {
			return rename(err, path)
		}
	}
	if err := fn(namedWriter{f, path}); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return rename(err, path)
	}
	if err := f.Close(); err != nil {
		return rename(err, path)
	}
	if err := os.Rename(tmp, target); err != nil {
		return rename(err, path)
	}
	syncDir(filepath.Dir(target))
	return nil
}

// createTemp creates a new file beside target. Its permissions are 0666 less
// the umask, those a file created by os.Create gets.
func createTemp(target string) (*os.File, string, error) {
	dir, base := filepath.Split(target)
	var b [6]byte
	for try := 0; ; try++ {
		rand.Read(b[:])
		name := filepath.Join(dir, "."+base+".tmp"+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			return f, name, nil
		}
		if !errors.Is(err, fs.ErrExist) || try == 100 {
			return nil, "", err
		}
	}
}

// syncDir makes a rename in dir durable. Failure is not reported: the data
// itself was synced, and some file systems cannot sync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// rename returns err with any file name in it replaced by path, the name the
// caller knows. It keeps the error's cause, so errors.Is still sees
// fs.ErrNotExist, fs.ErrPermission and so on.
func rename(err error, path string) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: path, Err: pe.Err}
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return &fs.PathError{Op: le.Op, Path: path, Err: le.Err}
	}
	return fmt.Errorf("%s: %w", path, err)
}

// namedWriter is the file handed to the caller's function: its errors name
// the caller's path, not the temporary file.
type namedWriter struct {
	f    *os.File
	path string
}

func (w namedWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	return n, rename(err, w.path)
}
