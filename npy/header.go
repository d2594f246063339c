// Package npy reads and writes numpy's .npy files: the arrays RVC and
// Applio keep their HuBERT feature frames in (one file per utterance, T rows
// of 256 or 768 numbers), the frames a voice conversion blends, and the
// results kume writes back.
//
// Reading accepts format versions 1.0, 2.0 and 3.0, little- and big-endian
// data, C and Fortran order, and arrays of one or two dimensions (a 1-d
// array is one row). Floating-point data (float16, float32, float64) is
// returned as float32; integer and boolean data is converted to float32 only
// when Options.ConvertIntegers asks for it, and read as it is by ReadInt64.
// A header's claims are checked against the size of the file before the
// array is allocated, so a file that lies about its shape costs no memory.
//
// Writing produces version 1.0 files that numpy.load reads: float32 ('<f4')
// and int64 ('<i8'), C order.
//
// Errors about a file's contents wrap ErrFormat (which wraps
// kume.ErrCorrupt); well-formed arrays kume cannot use (a 3-d array, a
// structured or complex dtype) also wrap kume.ErrUnsupported; NaN or
// infinite values wrap kume.ErrNonFinite; files of a folder that disagree on
// their number of columns wrap kume.ErrDimension.
package npy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/kume-ann/kume"
)

// ErrFormat is wrapped by every error about the contents of a .npy file (as
// opposed to the file system): a bad magic or header, a truncated body, a
// dtype that cannot be read, sizes that do not add up. It wraps
// kume.ErrCorrupt.
var ErrFormat error = formatError{}

type formatError struct{}

func (formatError) Error() string { return "bad .npy file" }
func (formatError) Unwrap() error { return kume.ErrCorrupt }

// Magic starts every .npy file.
const Magic = "\x93NUMPY"

// MaxHeaderLen bounds the header length a file may claim. numpy writes a
// few hundred bytes and refuses more than 10,000 by default.
const MaxHeaderLen = 1 << 20

// DType is an element type of a .npy array, as numpy's descr string names
// it: "<f4" is little-endian float32.
type DType struct {
	// Kind is 'f' (floating point), 'i' (signed integer), 'u' (unsigned
	// integer) or 'b' (boolean).
	Kind byte
	// Size is the number of bytes of one element.
	Size int
	// BigEndian is set for '>' descr strings.
	BigEndian bool
}

// String returns numpy's descr string of t, such as "<f4" or "|u1".
func (t DType) String() string {
	order := "<"
	if t.Size == 1 {
		order = "|"
	} else if t.BigEndian {
		order = ">"
	}
	return fmt.Sprintf("%s%c%d", order, t.Kind, t.Size)
}

// IsFloat reports whether t is a floating-point type.
func (t DType) IsFloat() bool { return t.Kind == 'f' }

// Header is what the header of a .npy file says about its array.
type Header struct {
	// Version is the format's major version: 1, 2 or 3.
	Version int
	// DType is the element type.
	DType DType
	// Fortran is set when the data is stored in column-major order.
	Fortran bool
	// Shape is the array's shape: one or two dimensions.
	Shape []int
	// Offset is where the data starts, in bytes from the start of the file.
	Offset int64
}

// Rows is the number of rows the array makes as a matrix: its first
// dimension for a 2-d array, 1 for a 1-d array.
func (h *Header) Rows() int {
	if len(h.Shape) == 1 {
		return 1
	}
	return h.Shape[0]
}

// Cols is the number of columns: the last dimension.
func (h *Header) Cols() int { return h.Shape[len(h.Shape)-1] }

// Len is the number of elements.
func (h *Header) Len() int64 {
	n := int64(1)
	for _, s := range h.Shape {
		n *= int64(s)
	}
	return n
}

// DataSize is the number of bytes of array data the header announces.
func (h *Header) DataSize() int64 { return h.Len() * int64(h.DType.Size) }

// maxElements bounds the number of elements of an array, so that sizes in
// bytes never overflow an int64.
const maxElements = math.MaxInt64 / 16

// ReadHeader reads the magic, the version and the header dictionary at the
// start of r. size is the size of the whole file in bytes, or -1 when it is
// not known (a stream); when it is known, a header whose array would not fit
// in it, or would leave bytes over, is refused before anything of the
// array's size is allocated.
func ReadHeader(r io.Reader, size int64) (*Header, error) {
	var pre [12]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		if size >= 0 {
			return nil, fmt.Errorf("%w: too short for a .npy header (%d bytes)", ErrFormat, size)
		}
		return nil, fmt.Errorf("%w: too short for a .npy header", ErrFormat)
	}
	if string(pre[:6]) != Magic {
		return nil, fmt.Errorf("%w: not a .npy file (no \\x93NUMPY magic)", ErrFormat)
	}
	h := &Header{Version: int(pre[6])}
	var hlen int64
	switch h.Version {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, fmt.Errorf("%w: truncated .npy header", ErrFormat)
		}
		hlen, h.Offset = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		if _, err := io.ReadFull(r, pre[8:12]); err != nil {
			return nil, fmt.Errorf("%w: truncated .npy header", ErrFormat)
		}
		hlen, h.Offset = int64(binary.LittleEndian.Uint32(pre[8:12])), 12
	default:
		return nil, fmt.Errorf("%w: .npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", ErrFormat, pre[6], pre[7])
	}
	if hlen > MaxHeaderLen {
		return nil, fmt.Errorf("%w: .npy header claims %d bytes (at most %d are accepted)", ErrFormat, hlen, MaxHeaderLen)
	}
	if size >= 0 && h.Offset+hlen > size {
		return nil, fmt.Errorf("%w: .npy header claims %d bytes, the file has %d", ErrFormat, hlen, size)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("%w: truncated .npy header", ErrFormat)
	}
	h.Offset += hlen
	if err := parseDict(h, string(hb)); err != nil {
		return nil, err
	}
	n := int64(h.DType.Size)
	for _, s := range h.Shape {
		if s > 0 && n > maxElements/int64(s) {
			return nil, fmt.Errorf("%w: shape %v is too large", ErrFormat, h.Shape)
		}
		n *= int64(s)
	}
	if size >= 0 {
		if have := size - h.Offset; have != n {
			if have < n {
				return nil, fmt.Errorf("%w: truncated: shape %v of %s needs %d bytes of data, the file has %d", ErrFormat, h.Shape, h.DType, n, have)
			}
			return nil, fmt.Errorf("%w: %d bytes after the %v array (a concatenation of arrays? save one array per file)", ErrFormat, have-n, h.Shape)
		}
	}
	return h, nil
}

// parseDict parses the Python dictionary literal of a header, such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (100, 256), }, into h.
func parseDict(h *Header, s string) error {
	p := &lexer{s: strings.TrimRight(s, " \n\x00")}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: .npy header %q: %s", ErrFormat, truncate(s, 200), fmt.Sprintf(format, a...))
	}
	if !p.eat('{') {
		return bad("not a dictionary")
	}
	seen := map[string]bool{}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, ok := p.str()
		if !ok {
			return bad("expected a quoted key at offset %d", p.i)
		}
		if seen[key] {
			return bad("key %q given twice", key)
		}
		seen[key] = true
		p.space()
		if !p.eat(':') {
			return bad("no ':' after %q", key)
		}
		p.space()
		switch key {
		case "descr":
			d, ok := p.str()
			if !ok {
				return fmt.Errorf("%w: %w: descr of %q is not a plain dtype string (structured and sub-array dtypes are not supported)", ErrFormat, kume.ErrUnsupported, truncate(s, 200))
			}
			t, err := ParseDType(d)
			if err != nil {
				return err
			}
			h.DType = t
		case "fortran_order":
			switch {
			case p.word("False"):
				h.Fortran = false
			case p.word("True"):
				h.Fortran = true
			default:
				return bad("fortran_order is not True or False")
			}
		case "shape":
			shape, err := p.tuple()
			if err != nil {
				return bad("shape: %v", err)
			}
			h.Shape = shape
		default:
			return bad("unknown key %q", key)
		}
		p.space()
		if p.eat('}') {
			break
		}
		if !p.eat(',') {
			return bad("expected ',' or '}' at offset %d", p.i)
		}
	}
	if p.space(); p.i != len(p.s) {
		return bad("text after the dictionary")
	}
	if !seen["descr"] || !seen["fortran_order"] || !seen["shape"] {
		return bad("lacks descr, fortran_order or shape")
	}
	if len(h.Shape) == 0 || len(h.Shape) > 2 {
		return fmt.Errorf("%w: %w: array has shape %v; want a matrix (n, d) of vectors, or one vector (d,)", ErrFormat, kume.ErrUnsupported, h.Shape)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// lexer reads the few Python literals a header dictionary holds.
type lexer struct {
	s string
	i int
}

func (p *lexer) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *lexer) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *lexer) word(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

// str reads a quoted string without escapes (dtype strings and keys have
// none).
func (p *lexer) str() (string, bool) {
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", false
	}
	p.i += end + 2
	return v, true
}

// tuple reads a tuple of non-negative integers: (), (5,), (3, 4), (3L, 4L).
func (p *lexer) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, errors.New("not a tuple")
	}
	shape := []int{}
	for {
		p.space()
		if p.eat(')') {
			return shape, nil
		}
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		if j == p.i {
			return nil, fmt.Errorf("expected a dimension at offset %d", p.i)
		}
		v, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil || v > maxElements {
			return nil, fmt.Errorf("dimension %q is too large", p.s[p.i:j])
		}
		if len(shape) == 32 {
			return nil, errors.New("more than 32 dimensions")
		}
		shape = append(shape, int(v))
		p.i = j
		p.eat('L')
		p.space()
		if p.eat(')') {
			return shape, nil
		}
		if !p.eat(',') {
			return nil, fmt.Errorf("expected ',' or ')' at offset %d", p.i)
		}
	}
}

// ParseDType interprets a numpy descr string such as "<f4", ">i8" or "|u1".
// It accepts floats of 2, 4 and 8 bytes, signed and unsigned integers of 1,
// 2, 4 and 8 bytes, and booleans; '=' (native order) is read as little
// endian, which is what numpy writes on every machine kume runs on.
func ParseDType(d string) (DType, error) {
	bad := func(why string) (DType, error) {
		return DType{}, fmt.Errorf("%w: %w: dtype %q %s", ErrFormat, kume.ErrUnsupported, d, why)
	}
	if len(d) < 2 {
		return bad("is not supported")
	}
	var t DType
	body := d
	switch d[0] {
	case '<', '|', '=':
		body = d[1:]
	case '>':
		t.BigEndian, body = true, d[1:]
	}
	if len(body) < 2 {
		return bad("is not supported")
	}
	t.Kind = body[0]
	sz, err := strconv.Atoi(body[1:])
	if err != nil {
		return bad("is not supported")
	}
	t.Size = sz
	ok := false
	switch t.Kind {
	case 'f':
		ok = sz == 2 || sz == 4 || sz == 8
	case 'i', 'u':
		ok = sz == 1 || sz == 2 || sz == 4 || sz == 8
	case 'b':
		ok = sz == 1
	}
	if !ok {
		return bad("is not supported (want float16, float32 or float64 numbers, or integers; convert with x.astype('float32'))")
	}
	if sz == 1 {
		t.BigEndian = false
	}
	return t, nil
}

// headerBytes builds a version 1.0 header for a C-order array of the given
// dtype and shape, padded so the data starts on a 64-byte boundary.
func headerBytes(descr string, shape []int) []byte {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = strconv.Itoa(s)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	total := len(Magic) + 4 + len(dict) + 1
	pad := (64 - total%64) % 64
	hl := len(dict) + pad + 1
	b := make([]byte, 0, total+pad)
	b = append(b, Magic...)
	b = append(b, 1, 0, byte(hl), byte(hl>>8))
	b = append(b, dict...)
	for i := 0; i < pad; i++ {
		b = append(b, ' ')
	}
	return append(b, '\n')
}
