package faissio

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

// Option configures Read and ReadFile.
type Option func(*options)

type options struct {
	maxBytes int64
	size     int64
}

// MaxBytes bounds the size of any single array in the file (the stored
// vectors of a flat index, one inverted list, ...). Larger arrays fail with
// ErrCorrupt before anything is allocated for them. Zero, the default, means
// no bound beyond the size of the input.
func MaxBytes(n int64) Option { return func(o *options) { o.maxBytes = n } }

// InputSize tells Read how many bytes the input holds, for readers that
// cannot say so themselves (a pipe, a network stream). Counts in the file are
// then checked against it before anything is allocated. Without it, and
// without a file, seeker or bytes.Reader to ask, arrays are read in chunks
// that grow only as their bytes arrive.
func InputSize(n int64) Option { return func(o *options) { o.size = n } }

func collect(opts []Option) *options {
	o := &options{size: -1}
	for _, f := range opts {
		f(o)
	}
	return o
}

// Read decodes one index written by FAISS's write_index (or by Write) from
// r. The result is a *flat.Index, *ivf.Index, *refine.Index or
// *l2norm.Index, or a composition of them, with the stored search parameters
// (nprobe, k_factor) as its defaults.
//
// The input is untrusted: a truncated or inconsistent file fails with an
// error wrapping kume.ErrCorrupt, a valid record kume cannot represent with
// one wrapping kume.ErrUnsupported. Read buffers its input, so it may consume
// bytes beyond the end of the index.
func Read(r io.Reader, opts ...Option) (kume.Index, error) {
	d := newDecoder(r, collect(opts))
	idx, err := d.index()
	if err != nil {
		return nil, err
	}
	if idx == nil {
		return nil, fmt.Errorf("faissio: %w: the file holds a null index", kume.ErrUnsupported)
	}
	return idx, nil
}

// ReadFile reads the index stored in the named file, as faiss.read_index
// does.
func ReadFile(path string, opts ...Option) (kume.Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("faissio: %w", err)
	}
	defer f.Close()
	idx, err := Read(f, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w (reading %s)", err, path)
	}
	return idx, nil
}

// header is the common index header.
type header struct {
	d       int
	ntotal  int64
	trained bool
	metric  metric.Metric
}

// metricFromFAISS maps FAISS's metric enum (0 inner product, 1 L2) to kume's.
func metricFromFAISS(v int32) (metric.Metric, bool) {
	switch v {
	case 0:
		return metric.InnerProduct, true
	case 1:
		return metric.L2, true
	}
	return 0, false
}

// metricToFAISS is the inverse of metricFromFAISS.
func metricToFAISS(m metric.Metric) int32 {
	if m == metric.InnerProduct {
		return 0
	}
	return 1
}

// faissMetricNames names FAISS's other metrics, for error messages.
var faissMetricNames = map[int32]string{
	2: "L1", 3: "Linf", 4: "Lp", 20: "Canberra", 21: "BrayCurtis",
	22: "JensenShannon", 23: "Jaccard", 24: "NaNEuclidean", 25: "GOWER",
}

func (d *decoder) header(what string) (header, error) {
	var h header
	dim := d.i32()
	if dim < 0 || dim > maxDim {
		return h, d.corrupt("%s: dimension %d out of range 0..%d", what, dim, maxDim)
	}
	if h.ntotal = d.i64(); h.ntotal < 0 {
		return h, d.corrupt("%s: ntotal %d is negative", what, h.ntotal)
	}
	d.i64() // two unused int64 fields
	d.i64()
	h.trained = d.boolean(what + " is_trained")
	mt := d.i32()
	if d.err != nil {
		return h, d.err
	}
	m, ok := metricFromFAISS(mt)
	if !ok {
		name, known := faissMetricNames[mt]
		if !known {
			return h, d.corrupt("%s: unknown metric %d", what, mt)
		}
		return h, d.fail(fmt.Errorf("faissio: %w: %s uses the %s metric; kume has L2 and inner product", kume.ErrUnsupported, what, name))
	}
	if dim == 0 {
		return h, d.fail(fmt.Errorf("faissio: %w: %s has dimension 0", kume.ErrUnsupported, what))
	}
	h.d, h.metric = int(dim), m
	return h, nil
}

// product returns a*b, failing when it overflows int (0 after an error).
func (d *decoder) product(what string, a, b int64) int {
	if a < 0 || b < 0 || (b != 0 && a > math.MaxInt/b) {
		d.corrupt("%s: %d x %d overflows", what, a, b)
		return 0
	}
	return int(a * b)
}

// index reads one index record, starting with its tag. A "null" record gives
// a nil index.
func (d *decoder) index() (kume.Index, error) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		return nil, d.corrupt("index records nested more than %d deep", maxDepth)
	}
	h := d.fourcc()
	if d.err != nil {
		return nil, d.err
	}
	switch h {
	case tagNull:
		return nil, nil
	case tagFlatL2, tagFlatIP, tagFlat:
		r, err := d.flatRecord(h)
		if err != nil {
			return nil, err
		}
		return r.build(nil)
	case tagIDMap, tagIDMap2:
		return d.idMap(h)
	case tagHNSWFlat:
		r, err := d.hnswFlat()
		if err != nil {
			return nil, err
		}
		return r.build(nil)
	case tagIVFFlat:
		return d.ivfFlat()
	case tagIVFPQ, tagIVFPQOld:
		return d.ivfPQ(h)
	case tagRefine:
		return d.refine()
	case tagPreTrans:
		return d.preTransform()
	}
	if fs := fastScanReaders[h]; fs != nil {
		return fs(d)
	}
	return nil, d.unsupportedTag(h, "index record")
}

// unsupportedTag reports a tag just read that kume cannot handle where it
// stands: ErrUnsupported for a plausible FAISS tag, ErrCorrupt for bytes
// that are no tag at all.
func (d *decoder) unsupportedTag(h fourcc, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if d.err != nil {
		return d.err
	}
	if !h.plausible() {
		return d.fail(fmt.Errorf("faissio: %w: at byte %d: %s: %s is not a FAISS record tag", kume.ErrCorrupt, d.pos-4, what, describe(h)))
	}
	return d.fail(fmt.Errorf("faissio: %w: at byte %d: %s %s", kume.ErrUnsupported, d.pos-4, what, describe(h)))
}

// fastScanReaders holds the readers of the fast-scan records, keyed by tag.
var fastScanReaders = map[fourcc]func(*decoder) (kume.Index, error){}

// flatData is a decoded IndexFlat record, not yet turned into an index.
type flatData struct {
	h    header
	data []float32
}

func (d *decoder) flatRecord(tag fourcc) (*flatData, error) {
	h, err := d.header("IndexFlat")
	if err != nil {
		return nil, err
	}
	if (tag == tagFlatL2 && h.metric != metric.L2) || (tag == tagFlatIP && h.metric != metric.InnerProduct) {
		return nil, d.corrupt("record '%s' has metric %v", tag, h.metric)
	}
	want := d.product("IndexFlat ntotal x d", h.ntotal, int64(h.d))
	if n := d.u64(); n != uint64(want) {
		return nil, d.corrupt("IndexFlat holds %d floats, want ntotal %d x d %d", n, h.ntotal, h.d)
	}
	d.checkBytes("IndexFlat vectors", uint64(want), 4)
	data := d.float32s(nil, want)
	if d.err != nil {
		return nil, d.err
	}
	return &flatData{h: h, data: data}, nil
}

// build turns the record into a flat index, with the given ids (nil: ids
// 0..n-1).
func (f *flatData) build(ids []int64) (*flat.Index, error) {
	x, err := flat.New(f.h.d, f.h.metric)
	if err != nil {
		return nil, fmt.Errorf("faissio: %w", err)
	}
	if len(f.data) == 0 {
		return x, nil
	}
	ctx := context.Background()
	if ids != nil {
		err = x.AddWithIDs(ctx, f.data, ids)
	} else {
		err = x.Add(ctx, f.data)
	}
	if err != nil {
		// NaN or infinite components: FAISS stores them, kume refuses them.
		return nil, fmt.Errorf("faissio: %w: IndexFlat vectors: %w", kume.ErrUnsupported, err)
	}
	return x, nil
}

// idMap reads IndexIDMap / IndexIDMap2 over a flat index: the ids become the
// flat index's ids.
func (d *decoder) idMap(tag fourcc) (kume.Index, error) {
	h, err := d.header("IndexIDMap")
	if err != nil {
		return nil, err
	}
	sub := d.fourcc()
	if d.err != nil {
		return nil, d.err
	}
	if sub == tagRefine {
		return d.idMapRefine(h)
	}
	if sub == tagHNSWFlat {
		return d.idMapHNSW(h)
	}
	if sub != tagFlatL2 && sub != tagFlatIP && sub != tagFlat && sub != tagPQFastScan {
		return nil, d.unsupportedTag(sub, "IndexIDMap (kume reads it over IndexFlat, IndexPQFastScan, IndexHNSWFlat and IndexRefineFlat) over")
	}
	d.depth++
	var sh header
	var f *flatData
	var fs *pqFastScanData
	if sub == tagPQFastScan {
		fs, err = d.pqFastScan()
		if fs != nil {
			sh = fs.h
		}
	} else {
		f, err = d.flatRecord(sub)
		if f != nil {
			sh = f.h
		}
	}
	d.depth--
	if err != nil {
		return nil, err
	}
	ids, err := d.idMapIDs(h, "sub-index", "its sub-index", sh.ntotal, sh.d, sh.metric)
	if err != nil {
		return nil, err
	}
	if fs != nil {
		return fs.build(ids)
	}
	return f.build(ids)
}

// idMapRefine reads an IndexIDMap over an IndexRefineFlat, whose tag was
// just read: inside, the labels are the refine index's rows; the id map
// gives each row its id. The result is a refine.Index with those ids in its
// base and its store.
func (d *decoder) idMapRefine(h header) (kume.Index, error) {
	d.depth++
	r, err := d.refine()
	d.depth--
	if err != nil {
		return nil, err
	}
	ids, err := d.idMapIDs(h, "its IndexRefineFlat", "its IndexRefineFlat", int64(r.Len()), r.Dim(), r.Metric())
	if err != nil {
		return nil, err
	}
	// refine checked that every label inside is a row, below len(ids).
	return withIDs(r, ids)
}

// idMapIDs reads the ids of an IndexIDMap with header h, whose sub-index
// (called holder and name in messages) was just read and holds n vectors of
// dimension dim and metric m: one non-negative id per vector.
func (d *decoder) idMapIDs(h header, holder, name string, n int64, dim int, m metric.Metric) ([]int64, error) {
	ids := d.i64Vector("IndexIDMap ids")
	if d.err != nil {
		return nil, d.err
	}
	if int64(len(ids)) != h.ntotal || n != h.ntotal {
		return nil, d.corrupt("IndexIDMap: ntotal %d, %d ids, %s holds %d", h.ntotal, len(ids), holder, n)
	}
	if dim != h.d || m != h.metric {
		return nil, d.corrupt("IndexIDMap is %d-d %v, %s %d-d %v", h.d, h.metric, name, dim, m)
	}
	if err := checkIDs(ids); err != nil {
		return nil, d.corrupt("IndexIDMap: %v", err)
	}
	return ids, nil
}

func checkIDs(ids []int64) error {
	for i, id := range ids {
		if id < 0 {
			return fmt.Errorf("id %d at position %d is negative", id, i)
		}
	}
	return nil
}

func (d *decoder) refine() (kume.Index, error) {
	h, err := d.header("IndexRefine")
	if err != nil {
		return nil, err
	}
	base, err := d.index()
	if err != nil {
		return nil, err
	}
	storeTag := d.fourcc()
	if storeTag != tagFlatL2 && storeTag != tagFlatIP && storeTag != tagFlat {
		return nil, d.unsupportedTag(storeTag, "IndexRefine (kume reads IndexRefineFlat, with a flat refine index) with refine index")
	}
	if base == nil {
		return nil, d.corrupt("IndexRefine base index is null")
	}
	d.depth++
	sf, err := d.flatRecord(storeTag)
	d.depth--
	if err != nil {
		return nil, err
	}
	kf := d.f32()
	if d.err != nil {
		return nil, d.err
	}
	if kume.CheckKFactor(kf) != nil {
		return nil, d.corrupt("IndexRefine k_factor %v out of range 1..%d", kf, refine.MaxKFactor)
	}
	if base.Dim() != h.d || sf.h.d != h.d || base.Metric() != h.metric || sf.h.metric != h.metric {
		return nil, d.corrupt("IndexRefine is %d-d %v, base %d-d %v, refine index %d-d %v",
			h.d, h.metric, base.Dim(), base.Metric(), sf.h.d, sf.h.metric)
	}
	if int64(base.Len()) != h.ntotal || sf.h.ntotal != h.ntotal {
		return nil, d.corrupt("IndexRefine ntotal %d, base holds %d, refine index %d", h.ntotal, base.Len(), sf.h.ntotal)
	}
	// FAISS takes the base's labels as row numbers in the refine index: a
	// label outside 0..ntotal-1 names no stored vector.
	err = eachID(base, func(id int64) error {
		if id < 0 || id >= h.ntotal {
			return d.corrupt("IndexRefine base holds id %d, but the refine index has rows 0..%d only", id, h.ntotal-1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	store, err := sf.build(nil)
	if err != nil {
		return nil, err
	}
	x, err := refine.NewWithStore(base, store, kf)
	if err != nil {
		return nil, fmt.Errorf("faissio: %w", err)
	}
	return x, nil
}

// preTransform reads IndexPreTransform. kume reads the L2 normalisation
// transform ("L2norm" in a factory string) and an empty chain.
func (d *decoder) preTransform() (kume.Index, error) {
	h, err := d.header("IndexPreTransform")
	if err != nil {
		return nil, err
	}
	nt := d.i32()
	if nt < 0 {
		return nil, d.corrupt("IndexPreTransform chain length %d", nt)
	}
	if nt > 1 {
		return nil, d.fail(fmt.Errorf("faissio: %w: IndexPreTransform with %d transforms; kume reads one L2 normalisation", kume.ErrUnsupported, nt))
	}
	if nt == 1 {
		if vt := d.fourcc(); vt != tagNormalize {
			return nil, d.unsupportedTag(vt, "vector transform (kume reads the L2 normalisation 'VNrm' only)")
		}
		norm := d.f32()
		din := d.i32()
		dout := d.i32()
		d.boolean("VNrm is_trained")
		if d.err != nil {
			return nil, d.err
		}
		if norm != 2 {
			return nil, d.fail(fmt.Errorf("faissio: %w: NormalizationTransform with norm %v (kume normalises to unit L2 norm, norm 2)", kume.ErrUnsupported, norm))
		}
		if int(din) != h.d || int(dout) != h.d {
			return nil, d.corrupt("NormalizationTransform maps %d to %d dimensions in a %d-d index", din, dout, h.d)
		}
	}
	sub, err := d.index()
	if err != nil {
		return nil, err
	}
	if sub == nil {
		return nil, d.corrupt("IndexPreTransform sub-index is null")
	}
	if sub.Dim() != h.d || sub.Metric() != h.metric || int64(sub.Len()) != h.ntotal {
		return nil, d.corrupt("IndexPreTransform is %d-d %v with %d vectors, its sub-index %d-d %v with %d",
			h.d, h.metric, h.ntotal, sub.Dim(), sub.Metric(), sub.Len())
	}
	if nt == 0 {
		return sub, nil
	}
	return l2norm.New(sub), nil
}
