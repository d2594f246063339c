//go:build !unix

package atomicfile

import "os"

// openDescriptor reports that p names no descriptor: there are no
// /proc/self/fd or /dev/fd names here.
func openDescriptor(p string) (*os.File, bool) { return nil, false }
