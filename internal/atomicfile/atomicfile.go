// Package atomicfile writes output files so that a reader never sees half of
// one: the bytes go to a temporary file beside the target, which is synced
// and renamed over the target only once complete. A failed write leaves the
// previous file as it was.
//
// The replacement behaves like writing the file in place in the ways that
// matter to a user: a symbolic link is followed and its target replaced (the
// link stays a link), and an existing file keeps its permission bits (and,
// where the process may set them, its owner and group). A path that names
// something other than a regular file (a FIFO, /dev/null, a terminal), or
// an open descriptor (/dev/stdout, /proc/self/fd/N), is opened and written
// directly, since it cannot be replaced without cutting off whoever shares
// it. Replacing does break hard links: other names keep the old contents.
// Errors name the path the caller gave, never the temporary file.
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
	"strings"
	"syscall"
)

// maxLinks bounds how many symbolic links are followed, as the kernel's
// ELOOP limit does.
const maxLinks = 40

// Write creates or replaces the file at path with the bytes fn writes to w.
// If fn fails, nothing at path changes (for a regular file) and fn's error
// is returned.
func Write(path string, fn func(w io.Writer) error) error {
	st, err := os.Stat(path) // through any links, as open(2) goes
	switch {
	case err == nil && st.IsDir():
		return &fs.PathError{Op: "open", Path: path, Err: syscall.EISDIR}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return rename(err, path)
	case err != nil:
		st = nil
	}
	target, direct, fdName, err := resolve(path)
	if err != nil {
		return err
	}
	if st != nil && (direct || !st.Mode().IsRegular()) {
		return writeDirect(path, fn, fdName)
	}
	return writeReplace(path, target, st, fn)
}

// isDescriptorLink reports whether p names an open file descriptor
// (/dev/stdout leads to /proc/self/fd/1): writing there means writing to
// what the descriptor has open, a stream that may be shared, so it is
// written in place and never replaced.
func isDescriptorLink(p string) bool {
	p = filepath.Clean(p)
	return strings.HasPrefix(p, "/proc/") || strings.HasPrefix(p, "/dev/fd/")
}

// resolve follows symbolic links from path to the name that is to be
// written: an existing non-link, or a name that does not exist yet (the
// target of a dangling link is created, as open(2) would). direct reports
// that the way leads through an open file descriptor (see
// isDescriptorLink), and fdName the first such name on it.
func resolve(path string) (target string, direct bool, fdName string, err error) {
	p := path
	for i := 0; ; i++ {
		if !direct && isDescriptorLink(p) {
			direct, fdName = true, p
		}
		st, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, direct, fdName, nil
		}
		if err != nil {
			return "", false, "", rename(err, path)
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return p, direct, fdName, nil
		}
		if i == maxLinks {
			return "", false, "", &fs.PathError{Op: "open", Path: path, Err: syscall.ELOOP}
		}
		link, err := os.Readlink(p)
		if err != nil {
			return "", false, "", rename(err, path)
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(p), link)
		}
		p = link
	}
}

// writeDirect writes to something that cannot be replaced, only written: a
// FIFO, a device, or an open descriptor. It appends, so that through a
// descriptor of a regular file (standard output sent to a file) the bytes
// follow whatever was written to it before, as they would on the stream.
func writeDirect(path string, fn func(w io.Writer) error, fdName string) error {
	// A descriptor of this process is written through a duplicate, at
	// its own offset; anything else is opened by the name given.
	f, ok := openDescriptor(fdName)
	if !ok {
		var err error
		if f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err != nil {
			return rename(err, path)
		}
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
