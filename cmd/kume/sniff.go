package main

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/kume-ann/kume"
)

// notIndex turns a read error of a file that cannot be a FAISS index at all
// into one that says so. Every FAISS index file starts with the four-letter
// tag of an index record, and all of those begin with 'I' (IxF2, IwFl,
// IPfs, IHNf, ...); a file that does not (a text file, a .npy file) gets
// "not a FAISS index file" instead of the reader's complaint about its first
// record. Other errors are returned as they are.
func notIndex(path string, err error) error {
	f, oerr := os.Open(path)
	if oerr != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if n >= 4 && head[0] == 'I' {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s is not a FAISS index file (it is empty)", kume.ErrCorrupt, path)
	}
	return fmt.Errorf("%w: %s is not a FAISS index file (it starts with %s)", kume.ErrCorrupt, path, strconv.Quote(string(head)))
}
