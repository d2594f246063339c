// Package factory builds indexes from FAISS index-factory strings such as
// "IVF1024,PQ128x4fs,RFlat", so that a string that works in Python works
// unchanged in Go.
//
// The dimension and metric are arguments, as in FAISS's index_factory(d,
// description, metric). The grammar kume implements:
//
//	[L2norm,] core [,RFlat | ,Refine(Flat)]
//	core = Flat | PQ{M}x4fs[_bbs] | IVF{n}[k|M][_HNSW{M}],Flat | IVF{n}[k|M][_HNSW{M}],PQ{M}x4fs[r][_bbs]
//
// {M} must divide the dimension; a k or M suffix on the number of lists
// multiplies it by 1024 or 1048576, as in FAISS. "_HNSW{M}" after IVF{n}
// makes the coarse quantizer an HNSW graph over the centroids (FAISS's
// IndexHNSWFlat, M = 32 when omitted) instead of an exact one; its efSearch
// is the search parameter "quantizer_efSearch". Strings naming pieces FAISS has
// and kume does not (HNSW, OPQ, PCA, SQ8, 8-bit PQ, IDMap, ...) fail with an
// error wrapping kume.ErrUnsupported that names the piece; malformed strings
// fail with an error wrapping kume.ErrFactory that says what is wrong and where.
package factory

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/kume-ann/kume"
)

// Limits on sizes a factory string may ask for, checked before anything is
// allocated.
const (
	// MaxDim is the largest dimension accepted (FAISS's readers use the same).
	MaxDim = 1 << 20
	// MaxLists is the largest number of inverted lists accepted.
	MaxLists = 1 << 24
)

// CodeKind says how an index stores its vectors.
type CodeKind int

const (
	// CodeFlat stores raw float32 vectors.
	CodeFlat CodeKind = iota
	// CodePQ4FastScan stores 4-bit product-quantized codes in fast-scan
	// blocks of 32.
	CodePQ4FastScan
)

// Spec is a parsed factory string.
type Spec struct {
	// Normalize is set by an "L2norm" prefix: vectors are L2-normalised on
	// add and search (cosine similarity with the inner-product metric).
	Normalize bool
	// NList is the number of inverted lists of an "IVF{n}" index, or 0 for a
	// flat (non-IVF) index.
	NList int
	// QuantizerM is the M of an HNSW coarse quantizer ("IVF{n}_HNSW{M}"), or
	// 0 for the exact (flat) one.
	QuantizerM int
	// Code is how vectors are stored.
	Code CodeKind
	// M is the number of PQ sub-quantizers (CodePQ4FastScan only).
	M int
	// ByResidual is set by the "r" of "PQ{M}x4fsr": IVF codes encode the
	// vector minus its list's centroid.
	ByResidual bool
	// Refine is set by ",RFlat" or ",Refine(Flat)": the raw vectors are kept
	// and candidates re-ranked exactly.
	Refine bool
}

// String gives the canonical factory string of s.
func (s Spec) String() string {
	var parts []string
	if s.Normalize {
		parts = append(parts, "L2norm")
	}
	if s.NList > 0 && s.QuantizerM > 0 {
		parts = append(parts, fmt.Sprintf("IVF%d_HNSW%d", s.NList, s.QuantizerM))
	} else if s.NList > 0 {
		parts = append(parts, fmt.Sprintf("IVF%d", s.NList))
	}
	switch s.Code {
	case CodeFlat:
		parts = append(parts, "Flat")
	case CodePQ4FastScan:
		code := fmt.Sprintf("PQ%dx4fs", s.M)
		if s.ByResidual {
			code += "r"
		}
		parts = append(parts, code)
	}
	if s.Refine {
		parts = append(parts, "RFlat")
	}
	return strings.Join(parts, ",")
}

var (
	reIVF      = regexp.MustCompile(`^IVF([0-9]+)([kM]?)$`)
	reIVFOther = regexp.MustCompile(`^IVF([0-9]+)([kM]?)_(.+)$`)
	reHNSWQ    = regexp.MustCompile(`^HNSW([0-9]*)$`)
	rePQfs     = regexp.MustCompile(`^PQ([0-9]+)x([0-9]+)fs(r?)(?:_([0-9]+))?$`)
	rePQ       = regexp.MustCompile(`^PQ([0-9]+)(?:x([0-9]+))?(np)?$`)
)

// unsupportedPieces maps a prefix of a component to the FAISS piece it names.
var unsupportedPieces = []struct{ prefix, name string }{
	{"IDMap2", "IDMap2 (kume indexes take ids directly: use AddWithIDs)"},
	{"IDMap", "IDMap (kume indexes take ids directly: use AddWithIDs)"},
	{"OPQ", "OPQ rotation"},
	{"PCA", "PCA transform"},
	{"RR", "random rotation"},
	{"ITQ", "ITQ transform"},
	{"Pad", "padding transform"},
	{"HNSW", "stand-alone HNSW graph index (use IVF{n}_HNSW{M}, or package hnsw)"},
	{"NSG", "NSG graph index"},
	{"IMI", "multi-index quantizer (IMI)"},
	{"SQ", "scalar quantizer"},
	{"RQ", "residual quantizer"},
	{"LSQ", "local search quantizer"},
	{"PRQ", "product residual quantizer"},
	{"PLSQ", "product local search quantizer"},
	{"LSH", "LSH index"},
	{"RaBitQ", "RaBitQ quantizer"},
	{"Refine", "refinement with a non-flat index"},
	{"RefinePanorama", "Panorama refinement"},
	{"BinaryHash", "binary hash index"},
	{"Residual", "residual coarse quantizer"},
}

// Parse parses a factory string for d-dimensional vectors.
func Parse(d int, description string) (Spec, error) {
	var s Spec
	if d < 1 || d > MaxDim {
		return s, fmt.Errorf("factory: %w: dimension %d is outside 1..%d", kume.ErrInvalidArgument, d, MaxDim)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("factory: %w %q: %s", kume.ErrFactory, description, fmt.Sprintf(format, args...))
	}
	if description == "" {
		return s, bad("empty string")
	}
	parts, err := splitTop(description)
	if err != nil {
		return s, bad("%v", err)
	}
	for i, p := range parts {
		if p == "" {
			return s, bad("component %d is empty (a stray comma?)", i+1)
		}
		if strings.TrimSpace(p) != p {
			return s, bad("component %d %q has surrounding spaces", i+1, p)
		}
	}
	// The refinement suffix.
	last := parts[len(parts)-1]
	if len(parts) > 1 {
		switch {
		case last == "RFlat":
			s.Refine = true
			parts = parts[:len(parts)-1]
		case strings.HasPrefix(last, "Refine(") && strings.HasSuffix(last, ")"):
			inner := last[len("Refine(") : len(last)-1]
			if inner != "Flat" {
				return s, unsupported(description, fmt.Sprintf("Refine(%s): refinement with anything but Flat", inner))
			}
			s.Refine = true
			parts = parts[:len(parts)-1]
		}
	}
	// Transforms.
	for len(parts) > 1 && isTransform(parts[0]) {
		if parts[0] != "L2norm" && parts[0] != "L2Norm" {
			return s, unsupported(description, pieceName(parts[0]))
		}
		if s.Normalize {
			return s, bad("L2norm given twice")
		}
		s.Normalize = true
		parts = parts[1:]
	}
	switch len(parts) {
	case 1:
		return s, parseCore(d, description, parts[0], &s)
	case 2:
		coarse, code := parts[0], parts[1]
		if m := reIVF.FindStringSubmatch(coarse); m != nil {
			n, err := listCount(m[1], m[2])
			if err != nil {
				return s, bad("%s: %v", coarse, err)
			}
			if n > MaxLists || int64(n)*int64(d) > 1<<32 {
				return s, bad("%s: %d lists of %d floats is too large (at most %d lists and 2^32 floats of centroids)", coarse, n, d, MaxLists)
			}
			s.NList = n
			return s, parseCode(d, description, code, &s)
		}
		if m := reIVFOther.FindStringSubmatch(coarse); m != nil {
			hm := reHNSWQ.FindStringSubmatch(m[3])
			if hm == nil {
				return s, unsupported(description, fmt.Sprintf("coarse quantizer %q (kume has the flat one, IVF{n}, and HNSW, IVF{n}_HNSW{M})", coarse))
			}
			n, err := listCount(m[1], m[2])
			if err != nil {
				return s, bad("%s: %v", coarse, err)
			}
			if n > MaxLists || int64(n)*int64(d) > 1<<32 {
				return s, bad("%s: %d lists of %d floats is too large (at most %d lists and 2^32 floats of centroids)", coarse, n, d, MaxLists)
			}
			M := 32 // FAISS's default when HNSW has no number
			if hm[1] != "" {
				if M, err = strconv.Atoi(hm[1]); err != nil || M < 2 || M > 4096 {
					return s, bad("%s: HNSW's M must be 2..4096", coarse)
				}
			}
			s.NList, s.QuantizerM = n, M
			return s, parseCode(d, description, code, &s)
		}
		if isTransform(coarse) || pieceName(coarse) != "" {
			return s, unsupported(description, pieceName(coarse))
		}
		return s, bad("component 1 %q: want IVF{n} before %q", coarse, code)
	default:
		for _, p := range parts {
			if name := pieceName(p); name != "" && !reIVF.MatchString(p) {
				return s, unsupported(description, name)
			}
		}
		return s, bad("%d components where at most [L2norm,]IVF{n},code[,RFlat] is understood", len(parts))
	}
}

// parseCore parses a non-IVF index: Flat or PQ{M}x4fs.
func parseCore(d int, description, p string, s *Spec) error {
	if p == "Flat" {
		s.Code = CodeFlat
		return nil
	}
	if p == "RFlat" {
		return fmt.Errorf("factory: %w %q: RFlat refines an index and needs one before it, such as PQ32x4fs,RFlat", kume.ErrFactory, description)
	}
	if reIVF.MatchString(p) {
		return fmt.Errorf("factory: %w %q: %s needs a code after it, such as %s,Flat", kume.ErrFactory, description, p, p)
	}
	if m := rePQfs.FindStringSubmatch(p); m != nil && m[3] == "r" {
		return fmt.Errorf("factory: %w %q: the residual form %s only exists inside an IVF index", kume.ErrFactory, description, p)
	}
	return parseCode(d, description, p, s)
}

// parseCode parses the code part: Flat or PQ{M}x4fs[r][_bbs].
func parseCode(d int, description, p string, s *Spec) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("factory: %w %q: %s", kume.ErrFactory, description, fmt.Sprintf(format, args...))
	}
	if p == "Flat" {
		s.Code = CodeFlat
		return nil
	}
	if m := rePQfs.FindStringSubmatch(p); m != nil {
		M, err := strconv.Atoi(m[1])
		if err != nil || M < 1 {
			return bad("%s: the number of sub-quantizers must be at least 1", p)
		}
		if m[2] != "4" {
			return unsupported(description, fmt.Sprintf("%s: fast scan with %s-bit codes (fast scan codes have 4 bits)", p, m[2]))
		}
		if m[4] != "" {
			// FAISS's block size only groups its scan; the answers do not
			// depend on it. kume scans blocks of 32 whatever is asked.
			if bbs, err := strconv.Atoi(m[4]); err != nil || bbs <= 0 || bbs%32 != 0 {
				return bad("%s: the fast-scan block size %s must be a positive multiple of 32", p, m[4])
			}
		}
		if M > d || d%M != 0 {
			return bad("%s: M = %d sub-quantizers must divide the dimension d = %d", p, M, d)
		}
		if s.NList == 0 && m[3] == "r" {
			return bad("%s: the residual form only exists inside an IVF index", p)
		}
		s.Code, s.M, s.ByResidual = CodePQ4FastScan, M, m[3] == "r"
		return nil
	}
	if rePQ.MatchString(p) {
		return unsupported(description, fmt.Sprintf("%s: PQ with 8-bit (or non-fast-scan) codes; use PQ{M}x4fs", p))
	}
	if name := pieceName(p); name != "" {
		return unsupported(description, name)
	}
	return bad("unknown component %q", p)
}

func unsupported(description, piece string) error {
	return fmt.Errorf("factory: %w in %q: %s", kume.ErrUnsupported, description, piece)
}

func isTransform(p string) bool {
	for _, pre := range []string{"L2norm", "L2Norm", "OPQ", "PCA", "RR", "ITQ", "Pad"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// pieceName names the FAISS piece a component refers to, or "" when it is
// not one kume knows of.
func pieceName(p string) string {
	best := ""
	for _, u := range unsupportedPieces {
		if strings.HasPrefix(p, u.prefix) && len(u.prefix) > len(best) {
			best = u.prefix
		}
	}
	for _, u := range unsupportedPieces {
		if u.prefix == best {
			return fmt.Sprintf("%s: %s is not supported", p, u.name)
		}
	}
	return ""
}

func listCount(digits, suffix string) (int, error) {
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > MaxLists {
		return 0, fmt.Errorf("the number of lists %s%s is too large (at most %d)", digits, suffix, MaxLists)
	}
	switch suffix {
	case "k":
		n *= 1024
	case "M":
		n *= 1024 * 1024
	}
	if n < 1 {
		return 0, fmt.Errorf("the number of lists must be at least 1")
	}
	if n > MaxLists {
		return 0, fmt.Errorf("%d lists is too many (at most %d)", n, MaxLists)
	}
	return int(n), nil
}

// splitTop splits on commas outside parentheses and checks that parentheses
// balance.
func splitTop(s string) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced parentheses: ')' at offset %d has no '('", i)
			}
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced parentheses: %d '(' not closed", depth)
	}
	return append(parts, s[start:]), nil
}
