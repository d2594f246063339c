package faissio

import (
	"fmt"
	"io"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/atomicfile"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

// Write encodes idx in FAISS's binary format, the bytes faiss.write_index
// would produce for the equivalent FAISS index, so that faiss.read_index (and
// Read) can load it. It supports the indexes kume builds: *flat.Index,
// *ivf.Index with the Flat codec, *refine.Index and *l2norm.Index, nested in
// any way FAISS can represent. Other types fail with kume.ErrUnsupported
// before anything is written.
//
// idx must not be modified (Add, RemoveIDs, Reset) while it is written.
func Write(w io.Writer, idx kume.Index) error {
	_, err := writeTo(w, idx)
	return err
}

func writeTo(w io.Writer, idx kume.Index) (int64, error) {
	if err := writable(idx); err != nil {
		return 0, err
	}
	e := newEncoder(w)
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
// followed and its target replaced; a FIFO or device (such as /dev/null) is
// written directly. Errors name path.
func WriteFile(path string, idx kume.Index) error {
	if err := writable(idx); err != nil {
		return err
	}
	var encErr error // the encoder's own error, already worded
	err := atomicfile.Write(path, func(w io.Writer) error {
		encErr = Write(w, idx)
		return encErr
	})
	if err != nil && err != encErr {
		err = fmt.Errorf("faissio: %w", err)
	}
	return err
}

// writable checks, before any byte is written, that every part of idx has a
// FAISS record kume can produce.
func writable(idx kume.Index) error {
	switch x := idx.(type) {
	case *flat.Index:
		return nil
	case *ivf.Index:
		if _, ok := x.Codec().(*ivf.FlatCodec); ok {
			return nil
		}
		if _, ok := x.Codec().(*fastscan.IVFCodec); ok {
			return nil
		}
		return fmt.Errorf("faissio: %w: writing an IVF index with a %T list codec", kume.ErrUnsupported, x.Codec())
	case *refine.Index:
		if _, ids := x.Store().Vectors(); ids != nil {
			return fmt.Errorf("faissio: %w: writing a refining index whose vectors were added with their own ids (FAISS's IndexRefineFlat numbers them 0..n-1)", kume.ErrUnsupported)
		}
		return writable(x.Base())
	case *l2norm.Index:
		return writable(x.Sub())
	case *fastscan.Index:
		return nil
	case nil:
		return fmt.Errorf("faissio: %w: nil index", kume.ErrInvalidArgument)
	}
	return fmt.Errorf("faissio: %w: writing a %T", kume.ErrUnsupported, idx)
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
	}
	return fmt.Errorf("faissio: %w: writing a %T", kume.ErrUnsupported, idx)
}

// flat writes IndexFlatL2 / IndexFlatIP, wrapped in an IndexIDMap when the
// vectors have ids other than 0..n-1.
func (e *encoder) flat(x *flat.Index) error {
	data, ids := x.Vectors()
	n := int64(len(data) / x.Dim())
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
// IndexFlat, then k_factor.
func (e *encoder) refine(x *refine.Index) error {
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
