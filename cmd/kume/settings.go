package main

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/bench"
	"github.com/kume-ann/kume/factory"
)

// setting is one factory string and the parameter strings to search it with.
type setting struct {
	factory string
	params  []string
}

// rvcNList is RVC's number of lists for N vectors: min(16*sqrt(N), N/39),
// at least 1.
func rvcNList(n int) int {
	return max(1, min(int(16*math.Sqrt(float64(n))), n/39))
}

// builtinMaxNList caps the number of lists of bench's default strings on the
// built-in data sets, so that training takes seconds: RVC's rule gives 5128
// lists for the 200,000 vectors of synth256.
const builtinMaxNList = 1024

// isBuiltin reports whether a -data spec names a built-in data set
// (synth256, fashion-mnist, ...) rather than files.
func isBuiltin(spec string) bool {
	name, _, _ := strings.Cut(spec, ":")
	if name == "synth" {
		return true
	}
	for _, n := range bench.Names {
		if name == n {
			return true
		}
	}
	return false
}

// defaultNList is the number of lists of the default IVF strings: RVC's
// rule, as kume build uses, capped at builtinMaxNList for built-in data.
func defaultNList(n int, builtin bool) int {
	nlist := rvcNList(n)
	if builtin {
		nlist = min(nlist, builtinMaxNList)
	}
	return nlist
}

// defaultSettings are what `kume bench` measures when no -factory is given:
// RVC's IVF{n},Flat over a range of nprobe, and the fast-scan index RVC's
// documentation recommends with exact re-ranking, with n = defaultNList (the
// index kume build makes from the same files).
func defaultSettings(n, d int, builtin bool) []setting {
	nlist := defaultNList(n, builtin)
	m := d
	if d%2 == 0 {
		m = d / 2
	}
	return []setting{
		{fmt.Sprintf("IVF%d,Flat", nlist), []string{"nprobe=1", "nprobe=2", "nprobe=4", "nprobe=8", "nprobe=16", "nprobe=32"}},
		{fmt.Sprintf("IVF%d,PQ%dx4fs,RFlat", nlist, m), []string{
			"nprobe=1,k_factor_rf=1", "nprobe=1,k_factor_rf=4",
			"nprobe=4,k_factor_rf=1", "nprobe=4,k_factor_rf=4",
			"nprobe=16,k_factor_rf=1", "nprobe=16,k_factor_rf=4",
		}},
	}
}

// probeDim is a dimension that every PQ{M} of a factory string divides (the
// least common multiple of the M's), so that the string's grammar can be
// checked before the data, and with it the real dimension, is loaded. It
// returns 0 when that multiple exceeds factory.MaxDim.
func probeDim(description string) int {
	d := 1
	for _, m := range rePQM.FindAllStringSubmatch(description, -1) {
		v, err := strconv.Atoi(m[1])
		if err != nil || v < 1 {
			continue
		}
		d = d / gcd(d, v) * v
		if d > factory.MaxDim {
			return 0
		}
	}
	return d
}

var rePQM = regexp.MustCompile(`PQ([0-9]+)`)

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// axis is one parameter and the values to try.
type axis struct {
	name   string
	values []string
}

// parseGrid reads a parameter grid: "nprobe=1,4,16 k_factor_rf=1,4" is
// every combination of the listed values (a token without '=' adds a value
// to the parameter before it, so "nprobe=1,4,k_factor_rf=1,4" is the same
// grid). Several grids can be joined with ';'. Each value is checked.
func parseGrid(s string) ([][]axis, error) {
	var grids [][]axis
	for _, g := range strings.Split(s, ";") {
		var axes []axis
		for _, tok := range strings.FieldsFunc(g, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			name, val, ok := strings.Cut(tok, "=")
			if ok {
				if name == "" {
					return nil, fmt.Errorf("parameter %q has no name", tok)
				}
				axes = append(axes, axis{name: name})
			} else {
				if len(axes) == 0 {
					return nil, fmt.Errorf("value %q comes before any name=", tok)
				}
				val = tok
			}
			a := &axes[len(axes)-1]
			v, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return nil, fmt.Errorf("parameter %s has a bad value %q", a.name, val)
			}
			var p kume.SearchParams
			if err := p.Set(a.name, v); err != nil {
				return nil, err
			}
			a.values = append(a.values, val)
		}
		if len(axes) > 0 {
			grids = append(grids, axes)
		}
	}
	return grids, nil
}

// expand gives the parameter strings of grids that apply to a factory
// string: names the index has no use for (nprobe without IVF, k_factor_rf
// without RFlat) are dropped, and repeats removed. With no grids, or none
// that applies, it returns the index's defaults ("").
func expand(grids [][]axis, spec factory.Spec) []string {
	uses := func(name string) bool {
		switch name {
		case "nprobe":
			return spec.NList > 0
		case "k_factor_rf", "k_factor":
			return spec.Refine
		case "quantizer_efSearch":
			return spec.QuantizerM > 0
		case "efSearch":
			return false // kume builds no stand-alone HNSW index
		}
		return true
	}
	var out []string
	seen := map[string]bool{}
	for _, axes := range grids {
		combos := []string{""}
		for _, a := range axes {
			if !uses(a.name) {
				continue
			}
			var next []string
			for _, c := range combos {
				for _, v := range a.values {
					p := a.name + "=" + v
					if c != "" {
						p = c + "," + p
					}
					next = append(next, p)
				}
			}
			combos = next
		}
		for _, c := range combos {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}
