package faissio

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
)

// TestWriteFileInPlace checks that WriteFile replaces a file the way writing
// it in place would look to a user: a 0600 file stays 0600, a symbolic link
// stays a link and its target gets the index, a FIFO is written through, and
// errors name the path given.
func TestWriteFileInPlace(t *testing.T) {
	idx := builtIndexes(t)["ivf-ids/L2"]
	dir := t.TempDir()

	t.Run("mode", func(t *testing.T) { writeFileMode(t, idx, dir) })
	t.Run("symlink", func(t *testing.T) { writeFileSymlink(t, idx, dir) })
	t.Run("fifo", func(t *testing.T) { writeFileFIFO(t, idx, dir) })
	t.Run("error", func(t *testing.T) { writeFileError(t, idx, dir) })
}

func writeFileMode(t *testing.T, idx kume.Index, dir string) {
	private := filepath.Join(dir, "private.index")
	if err := os.WriteFile(private, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(private, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(private, idx); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(private); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("after WriteFile the 0600 file has mode %v (%v)", st.Mode().Perm(), err)
	}
	if back, err := ReadFile(private); err != nil || back.Len() != idx.Len() {
		t.Fatalf("reading it back: %v", err)
	}

}

func writeFileSymlink(t *testing.T, idx kume.Index, dir string) {
	if err := os.Mkdir(filepath.Join(dir, "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "store", "real.index")
	link := filepath.Join(dir, "link.index")
	if err := os.Symlink(filepath.Join("store", "real.index"), link); err != nil {
		t.Skip("no symbolic links:", err)
	}
	if err := WriteFile(link, idx); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a symbolic link (%v)", link, err)
	}
	if back, err := ReadFile(target); err != nil || back.Len() != idx.Len() {
		t.Fatalf("the link's target does not hold the index: %v", err)
	}

}

func writeFileError(t *testing.T, idx kume.Index, dir string) {

	missing := filepath.Join(dir, "no", "such", "x.index")
	err := WriteFile(missing, idx)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) || strings.Contains(err.Error(), ".tmp") {
		t.Fatalf("writing into a missing directory: %v; want an error naming %s", err, missing)
	}
}
