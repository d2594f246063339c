//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// openDescriptor returns a duplicate of this process's descriptor N when p
// names it as /proc/self/fd/N or /dev/fd/N, so that writes through it share
// the descriptor's offset with everything else the process writes there.
func openDescriptor(p string) (*os.File, bool) {
	p = filepath.Clean(p)
	var rest string
	switch {
	case strings.HasPrefix(p, "/proc/self/fd/"):
		rest = p[len("/proc/self/fd/"):]
	case strings.HasPrefix(p, "/dev/fd/"):
		rest = p[len("/dev/fd/"):]
	default:
		return nil, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return nil, false
	}
	fd, err := syscall.Dup(n)
	if err != nil {
		return nil, false
	}
	return os.NewFile(uintptr(fd), p), true
}
