package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// entries returns the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestNewAndReplace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.bin")
	if err := Write(p, writeString("one")); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, p); got != "one" {
		t.Fatalf("read %q", got)
	}
	if err := Write(p, writeString("two")); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, p); got != "two" {
		t.Fatalf("read %q after replacing", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("directory holds %v", names)
	}
}

func TestFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.bin")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want the writer's", err)
	}
	if got := readString(t, p); got != "old" {
		t.Fatalf("old file now holds %q", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("temporary file left behind: %v", names)
	}
}

func TestModeKept(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "secret.bin")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, writeString("new")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v after replacing a 0600 file", st.Mode().Perm())
	}
	if got := readString(t, p); got != "new" {
		t.Fatalf("read %q", got)
	}
}

func TestNewFileMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "new.bin")
	if err := Write(p, writeString("x")); err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join(dir, "ref.bin")
	f, err := os.Create(ref)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	a, _ := os.Stat(p)
	b, _ := os.Stat(ref)
	if a.Mode().Perm() != b.Mode().Perm() {
		t.Fatalf("new file has mode %v, os.Create gives %v", a.Mode().Perm(), b.Mode().Perm())
	}
}

func TestSymlinkFollowed(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "real", "data.bin")
	if err := os.WriteFile(target, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(target, 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.bin")
	if err := os.Symlink(filepath.Join("real", "data.bin"), link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	chain := filepath.Join(dir, "chain.bin")
	if err := os.Symlink("link.bin", chain); err != nil {
		t.Fatal(err)
	}
	if err := Write(chain, writeString("new")); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{link, chain} {
		st, err := os.Lstat(l)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("%s is no longer a symbolic link (%v)", l, err)
		}
	}
	if got := readString(t, target); got != "new" {
		t.Fatalf("target holds %q", got)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o640 {
		t.Fatalf("target mode %v", st.Mode().Perm())
	}
	if names := entries(t, filepath.Join(dir, "real")); len(names) != 1 {
		t.Fatalf("target directory holds %v", names)
	}

	// A dangling link creates its target.
	dangling := filepath.Join(dir, "dangling.bin")
	if err := os.Symlink(filepath.Join("real", "later.bin"), dangling); err != nil {
		t.Fatal(err)
	}
	if err := Write(dangling, writeString("later")); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(dir, "real", "later.bin")); got != "later" {
		t.Fatalf("dangling link's target holds %q", got)
	}

	// A loop of links fails, naming the path.
	loop := filepath.Join(dir, "loop.bin")
	if err := os.Symlink("loop.bin", loop); err != nil {
		t.Fatal(err)
	}
	if err := Write(loop, writeString("x")); err == nil || !strings.Contains(err.Error(), loop) {
		t.Fatalf("loop: %v", err)
	}
}

func TestErrorNamesPath(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "missing", "x.index")
	err := Write(p, writeString("x"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing directory: %v, want ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), p) || strings.Contains(err.Error(), ".tmp") {
		t.Fatalf("error %q does not name %s alone", err, p)
	}
	// A write error from inside the writer names the path too.
	var seen error
	err = Write(filepath.Join(dir, "ok.bin"), func(w io.Writer) error {
		f := w.(namedWriter).f
		f.Close() // make the next write fail
		_, seen = w.Write([]byte("x"))
		return seen
	})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "ok.bin")) || strings.Contains(err.Error(), ".tmp") {
		t.Fatalf("write error %q", err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Fatalf("directory holds %v", names)
	}
	// A directory cannot be written.
	if err := Write(dir, writeString("x")); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("writing a directory: %v", err)
	}
}
