//go:build unix

package faissio

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/kume-ann/kume"
)

// writeFileFIFO writes an index into a FIFO, as into /dev/stdout or a
// process substitution: the bytes must go through it, and it must stay a
// FIFO.
func writeFileFIFO(t *testing.T, idx kume.Index, dir string) {
	p := filepath.Join(dir, "pipe.index")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("no FIFOs:", err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(p)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	if err := WriteFile(p, idx); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(p); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced (%v)", err)
	}
	b := <-got
	var want bytes.Buffer
	if err := Write(&want, idx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("the FIFO's reader got %d bytes, want the %d of the index", len(b), want.Len())
	}
}
