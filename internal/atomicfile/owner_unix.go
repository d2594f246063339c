//go:build unix

package atomicfile

import (
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives f the owner and group of old when they differ from the
// new file's. Only a privileged process may give a file away, so failure is
// ignored: the file then belongs to the writer, as a newly created one would.
func keepOwner(f *os.File, old fs.FileInfo) {
	o, ok := old.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	st, err := f.Stat()
	if err != nil {
		return
	}
	if n, ok := st.Sys().(*syscall.Stat_t); ok && (n.Uid != o.Uid || n.Gid != o.Gid) {
		f.Chown(int(o.Uid), int(o.Gid))
	}
}
