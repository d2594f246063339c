package kume

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SearchParams overrides an index's search-time defaults for one call. The
// zero value of each field means "use the index's default"; a nil
// *SearchParams means all defaults. Fields that an index does not use are
// ignored by it.
type SearchParams struct {
	// NProbe is the number of inverted lists an IVF index visits per query.
	// Values above the number of lists visit every list.
	NProbe int
	// KFactor makes a refining index ask its base index for K*KFactor
	// candidates before re-ranking them exactly. It must be >= 1.
	KFactor float32
	// EfSearch is the beam width of an HNSW index's search ("efSearch"):
	// the candidates kept while walking the graph's bottom level.
	EfSearch int
	// QuantizerEfSearch is the efSearch of an IVF index's HNSW coarse
	// quantizer ("quantizer_efSearch", as in "IVF65536_HNSW32,Flat").
	QuantizerEfSearch int
	// Filter, when set, restricts the search to the ids it contains: no
	// other id is returned, and a k-NN search returns k of the allowed ids
	// when the probed part of the index holds that many. Every kume index
	// honours it on every path; the coarse quantizer of an IVF index is
	// searched without it (it restricts the vectors, not the lists).
	Filter IDFilter
}

// The bounds of the search parameters, in one place: the ParameterSpace
// parser, the indexes' setters, SearchParams.Check and the file readers
// check against these.
const (
	// MaxNProbe bounds nprobe.
	MaxNProbe = math.MaxInt32
	// MaxKFactor bounds k_factor, as FAISS's readers do.
	MaxKFactor = 1000
	// MaxEf bounds efSearch (and an HNSW index's efConstruction).
	MaxEf = 1 << 20
)

// CheckNProbe fails with ErrInvalidArgument unless 1 <= n <= MaxNProbe.
func CheckNProbe(n int) error {
	if n < 1 || n > MaxNProbe {
		return fmt.Errorf("%w: nprobe = %d, want 1..%d", ErrInvalidArgument, n, MaxNProbe)
	}
	return nil
}

// CheckKFactor fails with ErrInvalidArgument unless 1 <= f <= MaxKFactor.
func CheckKFactor(f float32) error {
	if !(f >= 1 && f <= MaxKFactor) {
		return fmt.Errorf("%w: k_factor = %v, want 1..%d", ErrInvalidArgument, f, MaxKFactor)
	}
	return nil
}

// CheckEf fails with ErrInvalidArgument unless 1 <= ef <= MaxEf; name is the
// parameter's name in the message (efSearch, efConstruction, ...).
func CheckEf(name string, ef int) error {
	if ef < 1 || ef > MaxEf {
		return fmt.Errorf("%w: %s = %d, want 1..%d", ErrInvalidArgument, name, ef, MaxEf)
	}
	return nil
}

// Check checks every field of p that is set (not zero) against its bound;
// a nil p has none set. A search checks its parameters with it once, at the
// public call, so that the parts of a composite index take them as they are.
func (p *SearchParams) Check() error {
	if p == nil {
		return nil
	}
	if p.NProbe != 0 {
		if err := CheckNProbe(p.NProbe); err != nil {
			return err
		}
	}
	if p.KFactor != 0 {
		if err := CheckKFactor(p.KFactor); err != nil {
			return err
		}
	}
	if p.EfSearch != 0 {
		if err := CheckEf("efSearch", p.EfSearch); err != nil {
			return err
		}
	}
	if p.QuantizerEfSearch != 0 {
		return CheckEf("quantizer_efSearch", p.QuantizerEfSearch)
	}
	return nil
}

// clampInt converts a parameter's value to an int for its check: values
// beyond the int32 range become one past it, so that no bound above is
// passed by wrapping around, and truncation toward zero is FAISS's.
func clampInt(v float64) int {
	if v != v {
		return -1 // NaN
	}
	return int(max(min(v, math.MaxInt32+1), -1))
}

// ParamNames are the ParameterSpace names kume understands, as FAISS spells
// them. "k_factor" is accepted as another name for "k_factor_rf".
var ParamNames = []string{"nprobe", "k_factor_rf", "k_factor", "efSearch", "quantizer_efSearch"}

// ParseSearchParams parses a FAISS ParameterSpace string such as
// "nprobe=16,k_factor_rf=4" (pairs separated by commas or spaces) into
// SearchParams, so that a setting tuned in Python works unchanged. Unknown
// names and bad values fail with ErrInvalidArgument.
func ParseSearchParams(s string) (SearchParams, error) {
	var p SearchParams
	err := EachParam(s, func(name string, v float64) error {
		return p.Set(name, v)
	})
	return p, err
}

// Set sets the field named by a ParameterSpace name. As FAISS does, integer
// parameters (nprobe, and k_factor_rf) are truncated toward zero.
func (p *SearchParams) Set(name string, v float64) error {
	switch name {
	case "nprobe":
		n := clampInt(v)
		if err := CheckNProbe(n); err != nil {
			return err
		}
		p.NProbe = n
	case "k_factor_rf", "k_factor":
		if name == "k_factor_rf" {
			v = math.Trunc(v)
		}
		f := float32(max(min(v, MaxKFactor+1), 0))
		if err := CheckKFactor(f); err != nil {
			return err
		}
		p.KFactor = f
	case "efSearch", "quantizer_efSearch":
		n := clampInt(v)
		if err := CheckEf(name, n); err != nil {
			return err
		}
		if name == "efSearch" {
			p.EfSearch = n
		} else {
			p.QuantizerEfSearch = n
		}
	default:
		return fmt.Errorf("%w: unknown search parameter %q (known: %s)", ErrInvalidArgument, name, strings.Join(ParamNames, ", "))
	}
	return nil
}

// EachParam splits a ParameterSpace string into name=value pairs and calls fn
// for each, in order, stopping at the first error. Pairs are separated by
// commas or spaces; an empty pair between commas (a stray comma, as in
// "nprobe=4,,") is an error. An empty or blank string has no pairs.
func EachParam(s string, fn func(name string, value float64) error) error {
	var fields []string
	if strings.TrimSpace(s) != "" {
		for i, part := range strings.Split(s, ",") {
			f := strings.Fields(part)
			if len(f) == 0 {
				return fmt.Errorf("%w: parameter string %q: pair %d is empty (a stray comma?)", ErrInvalidArgument, s, i+1)
			}
			fields = append(fields, f...)
		}
	}
	for _, f := range fields {
		name, val, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return fmt.Errorf("%w: parameter %q is not name=value", ErrInvalidArgument, f)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: parameter %s has a bad value %q", ErrInvalidArgument, name, val)
		}
		if err := fn(name, v); err != nil {
			return err
		}
	}
	return nil
}
