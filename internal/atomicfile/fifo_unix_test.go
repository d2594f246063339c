//go:build unix

package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

func TestFIFOWrittenThrough(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(p)
		if err != nil {
			got <- "open: " + err.Error()
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- string(b)
	}()
	if err := Write(p, writeString("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Fatalf("reader got %q", s)
	}
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced: mode %v", st.Mode())
	}
}

// TestDescriptorWrittenThrough writes through /proc/self/fd/N of an open
// regular file, as kume search -ids /dev/stdout > out.npy does: the bytes
// must go to the descriptor's file at its offset, not replace the file, so
// what the process writes to the descriptor before and after stays.
func TestDescriptorWrittenThrough(t *testing.T) {
	p := filepath.Join(t.TempDir(), "stream.out")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fdPath := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if _, err := os.Stat(fdPath); err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	io.WriteString(f, "before;")
	if err := Write(fdPath, writeString("middle;")); err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "after")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "before;middle;after" {
		t.Fatalf("the file holds %q", b)
	}
}
