package faissio

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/hnsw"
	"github.com/kume-ann/kume/metric"
)

// The IndexHNSWFlat record ('IHNf'): the index header; FAISS's HNSW
// structure (assign_probas as vector<double>, cum_nneighbor_per_level,
// levels as vector<int32>, offsets as vector<uint64>, neighbors as
// vector<int32>, then entry_point, max_level, efConstruction, efSearch and
// the retired upper_beam as int32); then the storage, an IndexFlat record.
// FAISS 1.7.3 searched with upper_beam when it was not 1; current FAISS
// ignores it, and so does kume.

// hnswData is a decoded IndexHNSWFlat record, not yet an index.
type hnswData struct {
	h    header
	g    *hnsw.Graph
	data []float32
}

// build makes the index, with the given ids (nil: the rows).
func (r *hnswData) build(ids []int64) (*hnsw.Index, error) {
	x, err := hnsw.FromGraph(r.h.d, r.h.metric, r.g, r.data, ids)
	if err != nil {
		return nil, fmt.Errorf("faissio: %w", err)
	}
	return x, nil
}

// hnswFlat reads an IndexHNSWFlat record whose tag was just read.
func (d *decoder) hnswFlat() (*hnswData, error) {
	h, err := d.header("IndexHNSWFlat")
	if err != nil {
		return nil, err
	}
	g := &hnsw.Graph{}
	g.AssignProbas = d.f64Vector("HNSW assign_probas")
	g.CumNeighbors = d.i32Vector("HNSW cum_nneighbor_per_level")
	if g.Levels = d.i32Vector("HNSW levels"); int64(len(g.Levels)) != h.ntotal {
		return nil, d.corrupt("HNSW has %d levels entries for %d vectors", len(g.Levels), h.ntotal)
	}
	g.Offsets = d.u64Vector("HNSW offsets")
	g.Neighbors = d.i32Vector("HNSW neighbors")
	g.EntryPoint, g.MaxLevel, g.EfConstruction, g.EfSearch = d.i32(), d.i32(), d.i32(), d.i32()
	d.i32() // upper_beam
	if d.err != nil {
		return nil, d.err
	}
	if err := g.Check(); err != nil {
		return nil, d.fail(fmt.Errorf("faissio: at byte %d: IndexHNSWFlat: %w", d.pos, err))
	}
	st := d.fourcc()
	if st != tagFlatL2 && st != tagFlatIP && st != tagFlat {
		return nil, d.unsupportedTag(st, "IndexHNSWFlat (kume reads it over IndexFlat storage) with storage")
	}
	d.depth++
	f, err := d.flatRecord(st)
	d.depth--
	if err != nil {
		return nil, err
	}
	if f.h.d != h.d || f.h.metric != h.metric || f.h.ntotal != h.ntotal {
		return nil, d.corrupt("IndexHNSWFlat is %d-d %v with %d vectors, its storage %d-d %v with %d", h.d, h.metric, h.ntotal, f.h.d, f.h.metric, f.h.ntotal)
	}
	if err := checkStored("IndexHNSWFlat storage", f.data, h.d); err != nil {
		return nil, d.fail(err)
	}
	return &hnswData{h: h, g: g, data: f.data}, nil
}

// f64Vector reads a vector<double>.
func (d *decoder) f64Vector(what string) []float64 {
	v := d.int64s(nil, d.count(what, 8))
	if d.err != nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Float64frombits(uint64(x))
		if !(out[i] >= 0 && out[i] <= 1) {
			d.corrupt("%s[%d] = %v is not a probability", what, i, out[i])
			return nil
		}
	}
	return out
}

// hnswFlat writes an IndexHNSWFlat record with its storage; an IndexIDMap
// around it when the ids are not the rows. withIDs false writes the record
// alone (as an IVF's quantizer, whose ids are the list numbers).
func (e *encoder) hnswFlat(x *hnsw.Index, withIDs bool) error {
	g := x.Graph()
	data, ids := x.Vectors()
	n := int64(g.Len())
	if withIDs {
		ids = e.mapIDs(ids, int(n))
		if ids != nil {
			e.fourcc(tagIDMap)
			e.header(x.Dim(), n, true, x.Metric())
		}
	} else {
		ids = nil
	}
	e.fourcc(tagHNSWFlat)
	e.header(x.Dim(), n, true, x.Metric())
	e.u64(uint64(len(g.AssignProbas)))
	for _, p := range g.AssignProbas {
		e.u64(math.Float64bits(p))
	}
	e.i32s(g.CumNeighbors)
	e.i32s(g.Levels)
	e.u64Vector(g.Offsets)
	e.i32s(g.Neighbors)
	e.i32(g.EntryPoint)
	e.i32(g.MaxLevel)
	e.i32(g.EfConstruction)
	e.i32(g.EfSearch)
	e.i32(1) // upper_beam, retired
	e.flatNoIDs(x.Dim(), x.Metric(), data[:len(data):len(data)])
	if ids != nil {
		e.i64Vector(ids)
	}
	return e.err
}

// i32s writes a vector<int32>.
func (e *encoder) i32s(v []int32) {
	e.u64(uint64(len(v)))
	writeVec(e, v, int32Bytes, func(b []byte, x int32) []byte { return binary.LittleEndian.AppendUint32(b, uint32(x)) })
}

// hnswMetricOK reports whether an IVF's HNSW quantizer agrees with it.
func hnswMetricOK(q *hnsw.Index, d int, m metric.Metric) error {
	if q.Dim() != d || q.Metric() != m {
		return fmt.Errorf("faissio: %w: an IVF index is %d-d %v, its HNSW quantizer %d-d %v", kume.ErrCorrupt, d, m, q.Dim(), q.Metric())
	}
	return nil
}

// idMapHNSW reads an IndexIDMap over an IndexHNSWFlat, whose tag was just
// read.
func (d *decoder) idMapHNSW(h header) (kume.Index, error) {
	d.depth++
	r, err := d.hnswFlat()
	d.depth--
	if err != nil {
		return nil, err
	}
	ids, err := d.idMapIDs(h, "its IndexHNSWFlat", "its IndexHNSWFlat", r.h.ntotal, r.h.d, r.h.metric)
	if err != nil {
		return nil, err
	}
	return r.build(ids)
}
