package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/npy"
)

// writeBytes writes b to dir/name and returns the path.
func writeBytes(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func TestReadIDXImages(t *testing.T) {
	dir := t.TempDir()
	var raw bytes.Buffer
	binary.Write(&raw, binary.BigEndian, []uint32{0x803, 3, 2, 2})
	raw.Write([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255})
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}
	m, err := ReadIDXImages(writeBytes(t, dir, "img.gz", gz(raw.Bytes())), 2)
	if err != nil || m.Rows != 2 || m.Cols != 4 || m.Data[7] != 7 {
		t.Fatalf("IDX: %+v, %v", m, err)
	}
	_, err = ReadIDXImages(writeBytes(t, dir, "cut.gz", gz(raw.Bytes()[:20])), 0)
	wantErr(t, err, "cut.gz", "truncated")
	_, err = ReadIDXImages(writeBytes(t, dir, "plain", raw.Bytes()[4:]), 0)
	wantErr(t, err, "plain", "magic")
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(path string, x []float32, d int) {
		if err := npy.WriteFile(path, x, len(x)/d, d); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "base.npy"), []float32{1, 2, 3, 4}, 2)
	write(filepath.Join(dir, "q3.npy"), []float32{1, 2, 3}, 3)
	_, err := Load(t.Context(), filepath.Join(dir, "base.npy")+","+filepath.Join(dir, "q3.npy"), Options{})
	wantErr(t, err, "base.npy has 2-dimensional", "q3.npy have 3")
	if !errors.Is(err, kume.ErrDimension) {
		t.Errorf("base and queries of different widths: %v does not wrap kume.ErrDimension", err)
	}

	write(filepath.Join(dir, "q2.npy"), []float32{1, 2}, 2)
	ds, err := Load(t.Context(), filepath.Join(dir, "base.npy")+","+filepath.Join(dir, "q2.npy"), Options{})
	if err != nil || ds.N() != 2 || ds.NQ() != 1 || ds.GTDir != dir || ds.GTStem != "q2" {
		t.Fatalf("Load files: %+v, %v", ds, err)
	}
	_, err = Load(t.Context(), filepath.Join(dir, "base.npy"), Options{})
	wantErr(t, err, "base,queries")
	_, err = Load(t.Context(), "nosuchset", Options{})
	wantErr(t, err, "unknown data set", "synth256")
	_, err = Load(t.Context(), "synth256:n=abc", Options{})
	wantErr(t, err, "n=abc")
	_, err = Load(t.Context(), "synth256:size=3", Options{})
	wantErr(t, err, "unknown data set setting")
}
