package bench

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kume-ann/kume/internal/vecio"
	"github.com/kume-ann/kume/npy"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs
// the Fashion-MNIST files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// maxIDXBytes bounds the size of an IDX image file (Fashion-MNIST's
// training images are 47 MB).
const maxIDXBytes = 1 << 32

// ReadIDXImages reads an IDX3 image file (the MNIST format: magic 0x803,
// then the number of images, rows and columns as big-endian uint32, then one
// byte per pixel), gzip-compressed when its name ends in .gz. Each image is
// one row of rows*cols float32 pixel values 0..255. limit > 0 reads only the
// first limit images.
func ReadIDXImages(path string, limit int) (*npy.Matrix, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: not gzip data: %v", path, vecio.ErrFormat, err)
		}
		defer zr.Close()
		r = zr
	}
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%s: %w: too short for an IDX header", path, vecio.ErrFormat)
	}
	if magic := binary.BigEndian.Uint32(hdr[0:]); magic != 0x803 {
		return nil, fmt.Errorf("%s: %w: IDX magic %#x, want 0x803 (unsigned bytes, 3 dimensions)", path, vecio.ErrFormat, magic)
	}
	n := int64(binary.BigEndian.Uint32(hdr[4:]))
	rows := int64(binary.BigEndian.Uint32(hdr[8:]))
	cols := int64(binary.BigEndian.Uint32(hdr[12:]))
	d := rows * cols
	if n == 0 || d == 0 || n*d > maxIDXBytes {
		return nil, fmt.Errorf("%s: %w: header claims %d images of %d x %d", path, vecio.ErrFormat, n, rows, cols)
	}
	if limit > 0 && int64(limit) < n {
		n = int64(limit)
	}
	// Read what is there before converting, so a header that lies about the
	// count cannot make us allocate more than the file holds.
	raw, err := io.ReadAll(io.LimitReader(r, n*d))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, vecio.ErrFormat, err)
	}
	if int64(len(raw)) != n*d {
		return nil, fmt.Errorf("%s: %w: truncated: %d of %d pixel bytes", path, vecio.ErrFormat, len(raw), n*d)
	}
	m := &npy.Matrix{Rows: int(n), Cols: int(d), Data: make([]float32, len(raw))}
	for i, b := range raw {
		m.Data[i] = float32(b)
	}
	return m, nil
}
