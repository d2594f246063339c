package faissio

import (
	"fmt"
	"io"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/hnsw"
	"github.com/kume-ann/kume/internal/atomicfile"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

// Write encodes idx in FAISS's binary format, the bytes faiss.write_index
// would produce for the equivalent FAISS index, so that faiss.read_index (and
// Read) can load it. It supports the indexes kume builds: *flat.Index,
// *fastscan.Index, *ivf.Index with the Flat or fast-scan codec,
// *refine.Index and *l2norm.Index, nested in any way FAISS can represent.
// Other types fail with kume.ErrUnsupported before anything is written.
//
// A refining index whose ids are not 0..n-1 in the order its vectors were
// stored (after RemoveIDs, or vectors added with AddWithIDs) is written as
// FAISS stores an IndexIDMap over an IndexRefineFlat, which FAISS searches
// with the same answers, and which Read turns back into the same
// refine.Index.
//
// idx must not be modified (Add, RemoveIDs, Reset) while it is written.
func Write(w io.Writer, idx kume.Index) error {
	_, err := writeTo(w, idx)
	return err
}

func writeTo(w io.Writer, idx kume.Index) (int64, error) {
	p, err := makePlan(idx)
	if err != nil {
		return 0, err
	}
	return writePlanned(w, idx, p)
}

func writePlanned(w io.Writer, idx kume.Index, p *plan) (int64, error) {
	e := newEncoder(w)
	e.plan = p
	if err := e.index(idx); err != nil {
		return e.n, err
	}
	err := e.flush()
	if err != nil {
		err = fmt.Errorf("faissio: writing: %w", err)
	}
	return e.n, err
}

// WriterTo returns an io.WriterTo that writes idx in FAISS's format, for
// code that saves values through that interface. Index packages do not
// depend on faissio, so the method lives on this wrapper.
func WriterTo(idx kume.Index) io.WriterTo { return writerTo{idx} }

type writerTo struct{ idx kume.Index }

// WriteTo writes the index and returns the number of bytes written.
func (w writerTo) WriteTo(out io.Writer) (int64, error) { return writeTo(out, w.idx) }

// WriteFile writes idx to the named file, as faiss.write_index does. A
// regular file is replaced atomically: the bytes go to a temporary file in
// the same directory, which is synced and renamed over path only when
// complete, so a failed or interrupted write leaves any previous file in
// place. The new file keeps the old one's permissions; a symbolic link is
// followed and its target replaced; a FIFO, a device (such as /dev/null) or
// an open descriptor (/dev/stdout) is written directly. Errors name path.
func WriteFile(path string, idx kume.Index) error {
	p, err := makePlan(idx)
	if err != nil {
		return err
	}
	var encErr error // the encoder's own error, already worded
	err = atomicfile.Write(path, func(w io.Writer) error {
		_, encErr = writePlanned(w, idx, p)
		return encErr
	})
	if err != nil && err != encErr {
		err = fmt.Errorf("faissio: %w", err)
	}
	return err
}

func (e *encoder) header(d int, ntotal int64, trained bool, m metric.Metric) {
	e.i32(int32(d))
	e.i64(ntotal)
	e.i64(1 << 20) // two fields FAISS no longer uses, written as 2^20
	e.i64(1 << 20)
	e.boolean(trained)
	e.i32(metricToFAISS(m))
}

func (e *encoder) index(idx kume.Index) error {
	switch x := idx.(type) {
	case *flat.Index:
		return e.flat(x)
	case *ivf.Index:
		return e.ivf(x)
	case *refine.Index:
		return e.refine(x)
	case *l2norm.Index:
		return e.l2norm(x)
	case *fastscan.Index:
		return e.fastScan(x)
	case *hnsw.Index:
		return e.hnswFlat(x, true)
	}
	return fmt.Errorf("faissio: %w: writing a %T", kume.ErrUnsupported, idx)
}

// flat writes IndexFlatL2 / IndexFlatIP, wrapped in an IndexIDMap when the
// vectors have ids other than 0..n-1.
func (e *encoder) flat(x *flat.Index) error {
	data, ids := x.Vectors()
	n := int64(len(data) / x.Dim())
	ids = e.mapIDs(ids, int(n))
	if ids != nil {
		e.fourcc(tagIDMap)
		e.header(x.Dim(), n, true, x.Metric())
	}
	e.flatNoIDs(x.Dim(), x.Metric(), data)
	if ids != nil {
		e.i64Vector(ids)
	}
	return e.err
}

func (e *encoder) flatNoIDs(d int, m metric.Metric, data []float32) {
	if m == metric.InnerProduct {
		e.fourcc(tagFlatIP)
	} else {
		e.fourcc(tagFlatL2)
	}
	e.header(d, int64(len(data)/d), true, m)
	e.f32Vector(data)
}

// refine writes IndexRefineFlat: the base, then the raw vectors as an
// IndexFlat, then k_factor; wrapped in an IndexIDMap when the ids are not
// the store's rows (see renumber.go).
func (e *encoder) refine(x *refine.Index) error {
	if rows := e.plan.rows[x]; rows != nil {
		return e.refineWithIDs(x, rows)
	}
	e.fourcc(tagRefine)
	e.header(x.Dim(), int64(x.Len()), x.IsTrained(), x.Metric())
	if err := e.index(x.Base()); err != nil {
		return err
	}
	data, _ := x.Store().Vectors()
	e.flatNoIDs(x.Dim(), x.Metric(), data)
	e.f32(x.KFactor())
	return e.err
}

// l2norm writes an IndexPreTransform with one NormalizationTransform.
func (e *encoder) l2norm(x *l2norm.Index) error {
	e.fourcc(tagPreTrans)
	e.header(x.Dim(), int64(x.Len()), x.IsTrained(), x.Metric())
	e.i32(1)
	e.fourcc(tagNormalize)
	e.f32(2)
	e.i32(int32(x.Dim()))
	e.i32(int32(x.Dim()))
	e.boolean(true)
	return e.index(x.Sub())
}
