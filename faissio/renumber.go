package faissio

import (
	"context"
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/hnsw"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/ivf/ivfpqfs"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/refine"
)

// FAISS's IndexRefineFlat takes the labels its base returns as row numbers
// in its refine index, the raw vectors in the order they were added. kume's
// refine.Index keeps ids instead, which after RemoveIDs or AddWithIDs are not
// the rows of its store. Such an index is written the way FAISS stores an
// IndexIDMap built over an IndexRefineFlat: inside, the base's entries carry
// their store row as label (so the refine step finds their vectors), and the
// id map outside turns rows back into the caller's ids. Read undoes it,
// giving back a refine.Index with the caller's ids in both halves.

// plan is what Write works out about an index before writing a byte.
type plan struct {
	// rows holds, for each refining index written as an IndexIDMap over an
	// IndexRefineFlat, the store row of each id. A base entry whose id is
	// stored more than once gets the later row, the vector the store
	// re-ranks it with.
	rows map[*refine.Index]map[int64]int64
}

// makePlan checks that every part of idx has a FAISS record kume can
// produce, and how it is to be written.
func makePlan(idx kume.Index) (*plan, error) {
	p := &plan{rows: map[*refine.Index]map[int64]int64{}}
	return p, p.walk(idx, false)
}

// walk plans idx. renumbered tells that idx lies inside a refining index
// written with store rows as labels, so that its ids are written through
// that index's row map.
func (p *plan) walk(idx kume.Index, renumbered bool) error {
	switch x := idx.(type) {
	case *flat.Index, *fastscan.Index, *hnsw.Index:
		return nil
	case *ivf.Index:
		switch x.Codec().(type) {
		case *ivf.FlatCodec, *ivfpqfs.Codec:
			return nil
		}
		return fmt.Errorf("faissio: %w: writing an IVF index with a %T list codec", kume.ErrUnsupported, x.Codec())
	case *refine.Index:
		return p.refine(x, renumbered)
	case *l2norm.Index:
		return p.walk(x.Sub(), renumbered)
	case nil:
		return fmt.Errorf("faissio: %w: nil index", kume.ErrInvalidArgument)
	}
	return fmt.Errorf("faissio: %w: writing a %T", kume.ErrUnsupported, idx)
}

func (p *plan) refine(x *refine.Index, renumbered bool) error {
	data, ids := x.Store().Vectors()
	n := len(data) / x.Dim()
	if !renumbered && sequential(ids) {
		// Plain IndexRefineFlat: the base's ids must be the store's rows.
		err := eachID(x.Base(), func(id int64) error {
			if id < 0 || id >= int64(n) {
				return fmt.Errorf("faissio: %w: the refining index's base holds id %d, which its store of %d raw vectors does not", kume.ErrInvalidArgument, id, n)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return p.walk(x.Base(), false)
	}
	rows := make(map[int64]int64, n)
	for r := 0; r < n; r++ {
		id := int64(r)
		if ids != nil {
			id = ids[r]
		}
		rows[id] = int64(r)
	}
	err := eachID(x.Base(), func(id int64) error {
		if _, ok := rows[id]; !ok {
			return fmt.Errorf("faissio: %w: the refining index's base holds id %d, which its store of raw vectors does not", kume.ErrInvalidArgument, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.rows[x] = rows
	return p.walk(x.Base(), true)
}

// sequential reports whether ids, as flat.Index.Vectors returns them, are
// the row numbers 0..n-1.
func sequential(ids []int64) bool {
	for r, id := range ids {
		if id != int64(r) {
			return false
		}
	}
	return true
}

// mapIDs returns the ids to write for n vectors whose ids are ids (nil: row
// numbers), through the current renumbering; nil when they come out as
// 0..n-1.
func (e *encoder) mapIDs(ids []int64, n int) []int64 {
	if e.remap == nil {
		return ids
	}
	out := make([]int64, n)
	for i := range out {
		id := int64(i)
		if ids != nil {
			id = ids[i]
		}
		out[i] = e.remap(id)
	}
	if sequential(out) {
		return nil
	}
	return out
}

// listIDs returns the ids of an inverted list as they are to be written.
// The result is valid until the next call.
func (e *encoder) listIDs(ids []int64) []int64 {
	if e.remap == nil {
		return ids
	}
	e.idBuf = e.idBuf[:0]
	for _, id := range ids {
		e.idBuf = append(e.idBuf, e.remap(id))
	}
	return e.idBuf
}

// refineWithIDs writes x as an IndexIDMap over an IndexRefineFlat whose
// base labels its entries with their store rows.
func (e *encoder) refineWithIDs(x *refine.Index, rows map[int64]int64) error {
	data, ids := x.Store().Vectors()
	n := len(data) / x.Dim()
	e.fourcc(tagIDMap)
	e.header(x.Dim(), int64(n), x.IsTrained(), x.Metric())
	e.fourcc(tagRefine)
	e.header(x.Dim(), int64(n), x.IsTrained(), x.Metric())
	outer := e.remap
	e.remap = func(id int64) int64 { return rows[id] }
	err := e.index(x.Base())
	e.remap = outer
	if err != nil {
		return err
	}
	e.flatNoIDs(x.Dim(), x.Metric(), data)
	e.f32(x.KFactor())
	out := make([]int64, n)
	for r := range out {
		id := int64(r)
		if ids != nil {
			id = ids[r]
		}
		if outer != nil {
			id = outer(id)
		}
		out[r] = id
	}
	e.i64Vector(out)
	return e.err
}

// withIDs returns idx, read with ids 0..n-1 (a record inside an IndexIDMap),
// rebuilt so that the vector with id i has id ids[i]. Every id idx holds
// must be below len(ids).
func withIDs(idx kume.Index, ids []int64) (kume.Index, error) {
	mapAll := func(own []int64, n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			if own != nil {
				out[i] = ids[own[i]]
			} else {
				out[i] = ids[i]
			}
		}
		return out
	}
	mapList := func(own []int64) []int64 {
		out := make([]int64, len(own))
		for i, id := range own {
			out[i] = ids[id]
		}
		return out
	}
	switch x := idx.(type) {
	case *flat.Index:
		data, own := x.Vectors()
		y, err := flat.New(x.Dim(), x.Metric())
		if err != nil {
			return nil, fmt.Errorf("faissio: %w", err)
		}
		if len(data) > 0 {
			if err := y.AddWithIDs(context.Background(), data, mapAll(own, len(data)/x.Dim())); err != nil {
				return nil, fmt.Errorf("faissio: %w", err)
			}
		}
		return y, nil
	case *fastscan.Index:
		n, packed, own := x.Packed()
		if n == 0 {
			return x, nil
		}
		y, err := fastscan.FromParts(x.Quantizer(), x.Metric(), n, packed, mapAll(own, n))
		if err != nil {
			return nil, fmt.Errorf("faissio: %w", err)
		}
		return y, nil
	case *ivf.Index:
		if x.Len() == 0 {
			return x, nil
		}
		var codec ivf.Codec
		var fill func(lists *ivf.Lists, l int, ids []int64) error
		old := x.Lists()
		switch c := x.Codec().(type) {
		case *ivf.FlatCodec:
			codec = ivf.NewFlatCodec(x.Metric())
			fill = func(lists *ivf.Lists, l int, ids []int64) error {
				return lists.Add(l, old.Codes(l).(*ivf.FlatCodes).Vectors(), ids)
			}
		case *ivfpqfs.Codec:
			nc, err := ivfpqfs.New(x.Dim(), c.M(), x.Metric(), c.ByResidual())
			if err != nil {
				return nil, fmt.Errorf("faissio: %w", err)
			}
			if err := nc.SetQuantizer(c.Quantizer()); err != nil {
				return nil, fmt.Errorf("faissio: %w", err)
			}
			codec = nc
			fill = func(lists *ivf.Lists, l int, ids []int64) error {
				codes, err := nc.NewPacked(l, old.Codes(l).(*ivfpqfs.Codes).Packed(), len(ids))
				if err != nil {
					return err
				}
				return lists.Set(l, ids, codes)
			}
		default:
			return nil, fmt.Errorf("faissio: %w: an IVF index with a %T list codec", kume.ErrUnsupported, x.Codec())
		}
		var y *ivf.Index
		var err error
		if q, ok := x.Quantizer().(*hnsw.Index); ok {
			// The graph is kept: the copy shares the quantizer.
			if y, err = ivf.NewWithQuantizer(x.Dim(), x.NList(), x.Metric(), codec, q); err != nil {
				return nil, fmt.Errorf("faissio: %w", err)
			}
		} else {
			if y, err = ivf.New(x.Dim(), x.NList(), x.Metric(), codec); err != nil {
				return nil, fmt.Errorf("faissio: %w", err)
			}
			cent, _ := x.Quantizer().Vectors()
			if err := y.SetCentroids(cent); err != nil {
				return nil, fmt.Errorf("faissio: %w", err)
			}
		}
		if err := y.SetNProbe(x.NProbe()); err != nil {
			return nil, fmt.Errorf("faissio: %w", err)
		}
		err = y.LoadLists(func(lists *ivf.Lists) error {
			for l := 0; l < x.NList(); l++ {
				if old.Len(l) == 0 {
					continue
				}
				if err := fill(lists, l, mapList(old.IDs(l))); err != nil {
					return fmt.Errorf("faissio: list %d: %w", l, err)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return y, nil
	case *l2norm.Index:
		sub, err := withIDs(x.Sub(), ids)
		if err != nil {
			return nil, err
		}
		return l2norm.New(sub), nil
	case *refine.Index:
		base, err := withIDs(x.Base(), ids)
		if err != nil {
			return nil, err
		}
		s, err := withIDs(x.Store(), ids)
		if err != nil {
			return nil, err
		}
		y, err := refine.NewWithStore(base, s.(*flat.Index), x.KFactor())
		if err != nil {
			return nil, fmt.Errorf("faissio: %w", err)
		}
		return y, nil
	}
	return nil, fmt.Errorf("faissio: %w: giving ids to a %T", kume.ErrUnsupported, idx)
}
