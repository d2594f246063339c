package asm

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// The implementation levels, from slowest to fastest. A kernel family uses the
// fastest implementation it has at or below the selected level.
var levelRank = map[string]int{
	"generic": 0,
	"avx2":    1,
	"neon":    1,
	"avx512":  2,
}

// chunkFloats bounds the floats one assembly call of the one-to-one,
// one-to-many and element-wise kernels reads (256 KiB), so that a goroutine
// running them can be preempted between calls.
const chunkFloats = 1 << 16

// floatKernels is one implementation of the float32 distance kernels.
type floatKernels struct {
	dot     func(x, y []float32) float32
	l2Sqr   func(x, y []float32) float32
	dotMany func(dst, q, ys []float32)
	l2Many  func(dst, q, ys []float32)
	// dotMany4 and l2Many4, when set, are DotMany4 and L2SqrMany4 with
	// their lengths checked: four queries against the rows, each row read
	// once, the values dotMany's and l2Many's bit for bit. nil: four calls
	// of dotMany or l2Many.
	dotMany4, l2Many4 func(dst []float32, q0, q1, q2, q3, ys []float32)
	// dotTile writes dst[i*ny+j] = <xs_i, ys_j> for nx = len(xs)/d rows of xs
	// and ny = len(ys)/d rows of ys.
	dotTile func(dst, xs, ys []float32, d int)
	// packer, when set, returns the tiled kernel dotTile uses for ny rows
	// of ys, for PackedTile; nil: PackedTile does not pack.
	packer func(ny int) tilePacker
	// The selection kernels (select.go), for lengths that are multiples
	// of 8.
	minValue   func(x []float32) float32
	firstEqual func(x []float32, v float32) int
	atMost     func(dst []int32, x []float32, thr float32) int
	// The element-wise kernels (elementwise.go), for lengths that are
	// multiples of 8.
	sub        func(dst, x, y []float32)
	anyAtLeast func(x []float32, off uint32) bool
	// dot32 is Dot32.
	dot32 func(x, y *[32]float32) float32
}

// tableKernels is one implementation of the look-up table kernels: they
// work on rows of 16 floats, so a level may reuse a lower level's.
type tableKernels struct {
	// rowRanges and quantizeRows quantize look-up tables (quant.go).
	rowRanges    func(lo, hi, t []float32)
	quantizeRows func(dst []byte, t, lo []float32, a float32)
	// l2SubTables and dotSubTables build PQ tables (subtables.go).
	l2SubTables  func(dst, x, ct []float32, dsub int)
	dotSubTables func(dst, x, ct []float32, dsub int)
	// l2Candidates is L2Candidates for 32 rows (candidates.go).
	l2Candidates func(dots, norms []float32, t float32) uint32
}

// lut4Kernels is one implementation of the 4-bit LUT scan.
type lut4Kernels struct {
	scan func(sums []uint16, masks []uint32, codes []byte, m2 int, lut []byte, threshold uint16)
	// scanMulti is LUT4ScanMulti for len(thresholds) >= 1 queries and
	// len(masks)/len(thresholds) >= 1 blocks, lengths checked. It may be
	// nil: the multi-query scan then uses a lower implementation's.
	scanMulti func(sums []uint16, masks []uint32, codes []byte, m2 int, luts []byte, thresholds []uint16)
}

// impl is one implementation of a kernel family K, at the level name.
type impl[K any] struct {
	name      string
	available bool
	k         K
}

// best returns the fastest implementation in impls that is available, at or
// below rank, and has what the family needs (has).
func best[K any](impls []impl[K], rank int, has func(K) bool) impl[K] {
	b := impls[0]
	for _, f := range impls {
		if f.available && has(f.k) && levelRank[f.name] <= rank && levelRank[f.name] >= levelRank[b.name] {
			b = f
		}
	}
	return b
}

func always[K any](K) bool { return true }

var (
	registryMu sync.Mutex
	floatImpls = []impl[floatKernels]{{name: "generic", available: true, k: genericFloat}}
	tableImpls = []impl[tableKernels]{{name: "generic", available: true, k: genericTables}}
	lut4Impls  = []impl[lut4Kernels]{{name: "generic", available: true, k: genericLUT4}}
	selected   = "generic"

	// The kernels in use. They are replaced only by Use, which callers must
	// not run concurrently with searches.
	fk, fkName = genericFloat, "generic"
	tk, tkName = genericTables, "generic"
	lk, lkName = genericLUT4, "generic"
	// The multi-query LUT scan, chosen apart from lk: an implementation may
	// lack it.
	lmk, lmkName = genericLUT4.scanMulti, "generic"
)

// registerFloat adds a float kernel implementation. Architecture files call it
// from init.
func registerFloat(name string, available bool, k floatKernels) {
	floatImpls = append(floatImpls, impl[floatKernels]{name, available, k})
	chooseDefault()
}

// registerTables adds a look-up table kernel implementation. Architecture
// files call it from init.
func registerTables(name string, available bool, k tableKernels) {
	tableImpls = append(tableImpls, impl[tableKernels]{name, available, k})
	chooseDefault()
}

// registerLUT4 adds a LUT scan implementation. Architecture files call it from
// init.
func registerLUT4(name string, available bool, k lut4Kernels) {
	lut4Impls = append(lut4Impls, impl[lut4Kernels]{name, available, k})
	chooseDefault()
}

// chooseDefault selects the fastest level this CPU runs, or the level named
// by $KUME_SIMD when that is lower. It runs again after every registration:
// the init functions of the files that register kernels run in file-name
// order, some before this file's and some after, and each must leave the
// best selection in place.
func chooseDefault() {
	best := "generic"
	for _, name := range Implementations() {
		if levelRank[name] > levelRank[best] {
			best = name
		}
	}
	if env := strings.TrimSpace(os.Getenv("KUME_SIMD")); env != "" {
		if _, ok := levelRank[env]; ok && levelRank[env] < levelRank[best] {
			best = env
		}
	}
	if err := Use(best); err != nil {
		panic(err) // unreachable: best is one of Implementations
	}
}

// Implementations lists the implementation levels this CPU can run, slowest
// first. "generic" (pure Go) is always present.
func Implementations() []string {
	seen := map[string]bool{}
	var out []string
	add := func(name string, ok bool) {
		if ok && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, f := range floatImpls {
		add(f.name, f.available)
	}
	for _, t := range tableImpls {
		add(t.name, t.available)
	}
	for _, l := range lut4Impls {
		add(l.name, l.available)
	}
	// Stable order by rank.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && levelRank[out[j]] < levelRank[out[j-1]]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Selected returns the implementation level in use.
func Selected() string {
	registryMu.Lock()
	defer registryMu.Unlock()
	return selected
}

// Use selects the implementation level name (one of Implementations). Each
// kernel uses its fastest implementation at or below that level. Use is meant
// for start-up and for tests: it must not run while other goroutines call
// kernels.
func Use(name string) error {
	rank, ok := levelRank[name]
	if !ok {
		return fmt.Errorf("asm: unknown implementation %q", name)
	}
	avail := false
	for _, n := range Implementations() {
		avail = avail || n == name
	}
	if !avail {
		return fmt.Errorf("asm: implementation %q is not available on this CPU", name)
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	f := best(floatImpls, rank, always[floatKernels])
	t := best(tableImpls, rank, always[tableKernels])
	l := best(lut4Impls, rank, always[lut4Kernels])
	m := best(lut4Impls, rank, func(k lut4Kernels) bool { return k.scanMulti != nil })
	fk, fkName = f.k, f.name
	tk, tkName = t.k, t.name
	lk, lkName = l.k, l.name
	lmk, lmkName = m.k.scanMulti, m.name
	selected = name
	return nil
}

// FloatImplementation names the float kernel implementation in use. A kernel
// family may lack the selected level and run a lower one.
func FloatImplementation() string {
	registryMu.Lock()
	defer registryMu.Unlock()
	return fkName
}

// TableImplementation names the implementation of the look-up table kernels
// in use (RowRanges, QuantizeRows, L2SubTables, DotSubTables). It may be
// lower than FloatImplementation: the AVX-512 level builds tables with the
// AVX2 kernels, whose registers hold a 16-float row exactly, and arm64 with
// the pure-Go ones.
func TableImplementation() string {
	registryMu.Lock()
	defer registryMu.Unlock()
	return tkName
}

// LUT4Implementation names the LUT scan implementation in use.
func LUT4Implementation() string {
	registryMu.Lock()
	defer registryMu.Unlock()
	return lkName
}

// LUT4MultiImplementation names the implementation of the multi-query LUT
// scan (LUT4ScanMulti) in use. It may be lower than LUT4Implementation when
// the single-query scan's implementation has no multi-query kernel.
func LUT4MultiImplementation() string {
	registryMu.Lock()
	defer registryMu.Unlock()
	return lmkName
}

func init() { chooseDefault() }
