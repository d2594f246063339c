package contract

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"sort"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/ivf/ivfpqfs"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

// relTol is the relative tolerance of distances compared with their float64
// value, and of approximate distances compared between a batch and a single
// query.
const relTol = 1e-4

// metrics are the two metrics every property is checked with.
var metrics = []metric.Metric{metric.L2, metric.InnerProduct}

// descriptions returns every factory string kume builds, over nlist lists
// and m sub-quantizers: each core alone, with ",RFlat", with an "L2norm,"
// prefix and with both. With -short, of the L2norm compositions only those
// over flat codes and one over re-ranked PQ codes are kept.
func descriptions(nlist, m int) []string {
	all := allDescriptions(nlist, m)
	if !testing.Short() {
		return all
	}
	var out []string
	for _, d := range all {
		if !strings.HasPrefix(d, "L2norm,") || !strings.Contains(d, "PQ") || d == all[len(all)-1] {
			out = append(out, d)
		}
	}
	return out
}

// allDescriptions is descriptions without the -short selection.
func allDescriptions(nlist, m int) []string {
	cores := []string{
		"Flat",
		fmt.Sprintf("IVF%d,Flat", nlist),
		fmt.Sprintf("PQ%dx4fs", m),
		fmt.Sprintf("IVF%d,PQ%dx4fs", nlist, m),
		fmt.Sprintf("IVF%d,PQ%dx4fsr", nlist, m),
		fmt.Sprintf("IVF%d_HNSW8,Flat", nlist),
	}
	var out []string
	for _, c := range cores {
		out = append(out, c, c+",RFlat", "L2norm,"+c, "L2norm,"+c+",RFlat")
	}
	return out
}

// kind is what a factory string promises about its answers.
type kind struct {
	spec factory.Spec
	// flatCode: the lists (or the whole index) hold raw vectors, so the
	// distances are exact and a batch must match a single query bit for bit.
	flatCode bool
	// exactDist: every distance returned is the exact distance to the id
	// returned (flat codes, or re-ranked by RFlat).
	exactDist bool
}

// kindOf parses desc.
func kindOf(t testing.TB, d int, desc string) kind {
	t.Helper()
	s, err := factory.Parse(d, desc)
	if err != nil {
		t.Fatalf("factory.Parse(%d, %q): %v", d, desc, err)
	}
	flatCode := s.Code == factory.CodeFlat
	return kind{spec: s, flatCode: flatCode, exactDist: flatCode || s.Refine}
}

// exactWith reports whether searching with p returns the true nearest
// neighbours: flat codes visiting every list, re-ranked or not.
func (k kind) exactWith(p *kume.SearchParams) bool {
	if !k.flatCode {
		return false
	}
	return k.spec.NList == 0 || (p != nil && p.NProbe >= k.spec.NList)
}

// gaussian returns n*d values mean + std*N(0,1).
func gaussian(rng *rand.Rand, n, d int, mean, std float64) []float32 {
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(mean + std*rng.NormFloat64())
	}
	return x
}

// perturbed returns copies of rows of base (chosen by rows) with noise of
// standard deviation eps added to every coordinate.
func perturbed(rng *rand.Rand, base []float32, d int, rows []int, eps float64) []float32 {
	out := make([]float32, 0, len(rows)*d)
	for _, r := range rows {
		for _, v := range base[r*d : (r+1)*d] {
			out = append(out, float32(float64(v)+eps*rng.NormFloat64()))
		}
	}
	return out
}

// build makes the index desc over base, trained on train.
func build(t testing.TB, d int, desc string, m metric.Metric, train, base []float32) kume.Index {
	t.Helper()
	idx, err := factory.New(d, desc, m)
	if err != nil {
		t.Fatalf("factory.New(%d, %q, %v): %v", d, desc, m, err)
	}
	quiet(idx)
	ctx := context.Background()
	if err := idx.Train(ctx, train); err != nil {
		t.Fatalf("%s %v: Train: %v", desc, m, err)
	}
	if err := idx.Add(ctx, base); err != nil {
		t.Fatalf("%s %v: Add: %v", desc, m, err)
	}
	return idx
}

// discard is a logger for the k-means warnings about small training sets,
// which the small data sets of these tests would print by the hundred.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// quiet silences the k-means logging of idx and of the indexes it wraps.
func quiet(idx kume.Index) {
	switch x := idx.(type) {
	case *l2norm.Index:
		quiet(x.Sub())
	case *refine.Index:
		quiet(x.Base())
	case *ivf.Index:
		x.KMeans.Logger = discard
		if c, ok := x.Codec().(*ivfpqfs.Codec); ok {
			c.KMeans.Logger = discard
		}
	case *fastscan.Index:
		x.KMeans.Logger = discard
	}
}

// call runs f and turns a panic into an error that says so, so that a
// panicking index fails the test instead of ending the test binary.
func call(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("PANIC: %v\n%s", r, debug.Stack())
		}
	}()
	return f()
}

// search runs idx.Search inside call.
func search(idx kume.Index, q []float32, k int, p *kume.SearchParams) (*kume.Results, error) {
	var res *kume.Results
	err := call(func() error {
		var err error
		res, err = idx.Search(context.Background(), q, k, p)
		return err
	})
	return res, err
}

// mustSearch is search failing the test on error.
func mustSearch(t testing.TB, label string, idx kume.Index, q []float32, k int, p *kume.SearchParams) *kume.Results {
	t.Helper()
	res, err := search(idx, q, k, p)
	if err != nil {
		t.Fatalf("%s: Search(nq = %d, k = %d): %v", label, len(q)/idx.Dim(), k, err)
	}
	if res == nil || res.NQ != len(q)/idx.Dim() || res.K != k || len(res.IDs) != res.NQ*k || len(res.Distances) != res.NQ*k {
		t.Fatalf("%s: Search(nq = %d, k = %d) returned a malformed result %+v", label, len(q)/idx.Dim(), k, shape(res))
	}
	return res
}

// shape describes the sizes of res.
func shape(res *kume.Results) string {
	if res == nil {
		return "<nil>"
	}
	return fmt.Sprintf("NQ = %d, K = %d, %d distances, %d ids", res.NQ, res.K, len(res.Distances), len(res.IDs))
}

// singles answers every query of q alone.
func singles(t testing.TB, label string, idx kume.Index, q []float32, k int, p *kume.SearchParams) *kume.Results {
	t.Helper()
	d := idx.Dim()
	nq := len(q) / d
	out := &kume.Results{NQ: nq, K: k, Distances: make([]float32, 0, nq*k), IDs: make([]int64, 0, nq*k)}
	for i := 0; i < nq; i++ {
		r := mustSearch(t, label, idx, q[i*d:(i+1)*d], k, p)
		out.Distances = append(out.Distances, r.Distances...)
		out.IDs = append(out.IDs, r.IDs...)
	}
	return out
}

// rowDiff compares two answers to the same query. With bitwise set the
// distances must be equal; otherwise within relTol relative. It returns ""
// when they agree, else the first difference.
func rowDiff(gd []float32, gi []int64, wd []float32, wi []int64, bitwise bool) string {
	if len(gd) != len(wd) || len(gi) != len(wi) {
		return fmt.Sprintf("lengths %d/%d vs %d/%d", len(gd), len(gi), len(wd), len(wi))
	}
	for j := range gi {
		if gi[j] != wi[j] {
			return fmt.Sprintf("rank %d: id %d (distance %v) vs id %d (distance %v); ids %v vs %v", j, gi[j], gd[j], wi[j], wd[j], gi, wi)
		}
		if bitwise {
			if math.Float32bits(gd[j]) != math.Float32bits(wd[j]) {
				return fmt.Sprintf("rank %d, id %d: distance %v vs %v (bits %08x vs %08x)", j, gi[j], gd[j], wd[j], math.Float32bits(gd[j]), math.Float32bits(wd[j]))
			}
			continue
		}
		if !closeRel(float64(gd[j]), float64(wd[j]), 0) {
			return fmt.Sprintf("rank %d, id %d: distance %v vs %v (relative difference %.3g)", j, gi[j], gd[j], wd[j], relDiff(float64(gd[j]), float64(wd[j])))
		}
	}
	return ""
}

// closeRel reports whether got is within relTol of want, relative to
// max(|want|, scale).
func closeRel(got, want, scale float64) bool {
	if math.IsInf(want, 0) || math.IsInf(got, 0) {
		return got == want
	}
	return math.Abs(got-want) <= relTol*math.Max(math.Abs(want), scale)
}

func relDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

// compareBatchSingle fails t for every query whose batch row differs from its
// single-query row.
func compareBatchSingle(t testing.TB, label string, batch, single *kume.Results, bitwise bool) {
	t.Helper()
	bad := 0
	for i := 0; i < batch.NQ; i++ {
		bd, bi := batch.Row(i)
		sd, si := single.Row(i)
		if diff := rowDiff(bd, bi, sd, si, bitwise); diff != "" {
			if bad < 3 {
				t.Errorf("%s: query %d of %d: batch vs alone: %s", label, i, batch.NQ, diff)
			}
			bad++
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d of %d queries differ between the batch and alone", label, bad, batch.NQ)
	}
}

// exact64 is the float64 distance (squared L2, or inner product) between two
// float32 vectors, and the scale its float32 computation is measured
// against: the distance itself for L2 (a sum of squares), and sum |q_i x_i|
// for the inner product, whose terms may cancel.
func exact64(m metric.Metric, q, x []float32) (dist, scale float64) {
	var s, a float64
	for i := range q {
		if m == metric.InnerProduct {
			p := float64(q[i]) * float64(x[i])
			s += p
			a += math.Abs(p)
		} else {
			t := float64(q[i]) - float64(x[i])
			s += t * t
		}
	}
	if m == metric.InnerProduct {
		return s, a
	}
	return s, s
}

// truth is a float64 brute-force search over a stored set.
type truth struct {
	m    metric.Metric
	d    int
	data []float32 // the vectors as the index stores them
	ids  []int64
	pos  map[int64]int
	// memo holds the answers of top by query and n: the same queries are
	// checked in a batch, alone and under every kernel implementation.
	memo map[string][]scored
}

func newTruth(m metric.Metric, d int, data []float32, ids []int64) *truth {
	if ids == nil {
		ids = make([]int64, len(data)/d)
		for i := range ids {
			ids[i] = int64(i)
		}
	}
	pos := make(map[int64]int, len(ids))
	for i, id := range ids {
		pos[id] = i
	}
	return &truth{m: m, d: d, data: data, ids: ids, pos: pos, memo: map[string][]scored{}}
}

// vector returns the stored vector with the given id.
func (tr *truth) vector(id int64) ([]float32, bool) {
	r, ok := tr.pos[id]
	if !ok {
		return nil, false
	}
	return tr.data[r*tr.d : (r+1)*tr.d], true
}

type scored struct {
	id          int64
	dist, scale float64
}

// top returns the n stored vectors nearest to q (all of them when fewer are
// stored), best first, equal distances by smaller id.
func (tr *truth) top(q []float32, n int) []scored {
	n = min(n, len(tr.ids))
	key := make([]byte, 0, 4*len(q)+8)
	key = binary.LittleEndian.AppendUint64(key, uint64(n))
	for _, v := range q {
		key = binary.LittleEndian.AppendUint32(key, math.Float32bits(v))
	}
	if s, ok := tr.memo[string(key)]; ok {
		return s
	}
	s := tr.scan(q, n)
	tr.memo[string(key)] = s
	return s
}

// scan is top without the memo.
func (tr *truth) scan(q []float32, n int) []scored {
	ip := tr.m == metric.InnerProduct
	better := func(a, b scored) bool {
		if a.dist != b.dist {
			if ip {
				return a.dist > b.dist
			}
			return a.dist < b.dist
		}
		return a.id < b.id
	}
	out := make([]scored, 0, n+1)
	for r, id := range tr.ids {
		dist, scale := exact64(tr.m, q, tr.data[r*tr.d:(r+1)*tr.d])
		c := scored{id, dist, scale}
		if len(out) == n && !better(c, out[n-1]) {
			continue
		}
		// Insert c in order; the buffer is short, so a linear shift is
		// cheaper than a heap.
		i := sort.Search(len(out), func(i int) bool { return better(c, out[i]) })
		out = append(out, scored{})
		copy(out[i+1:], out[i:])
		out[i] = c
		if len(out) > n {
			out = out[:n]
		}
	}
	return out
}

// checkExact fails t unless the row (gd, gi) is the true top k of q: the true
// ids, ties by smaller id, and distances within relTol of the float64 value.
// Where two different true distances are within relTol of each other the
// float32 computation may rank them either way, and either id is accepted at
// that rank. Slots past the stored count must be empty (id -1, worst
// distance). It returns false after the first failure.
func checkExact(t testing.TB, label string, tr *truth, q []float32, gd []float32, gi []int64) bool {
	t.Helper()
	k := len(gi)
	want := tr.top(q, k)
	seen := map[int64]bool{}
	for j := 0; j < k; j++ {
		if j >= len(want) {
			if gi[j] != -1 || gd[j] != tr.m.Worst() {
				t.Errorf("%s: rank %d of %d with %d stored: got id %d distance %v, want the empty slot -1, %v", label, j, k, len(want), gi[j], gd[j], tr.m.Worst())
				return false
			}
			continue
		}
		id := gi[j]
		if seen[id] {
			t.Errorf("%s: rank %d: id %d returned twice; ids %v", label, j, id, gi)
			return false
		}
		seen[id] = true
		v, ok := tr.vector(id)
		if !ok {
			t.Errorf("%s: rank %d: id %d is not stored; ids %v", label, j, id, gi)
			return false
		}
		dist, scale := exact64(tr.m, q, v)
		if id != want[j].id {
			tie := dist != want[j].dist && closeRel(dist, want[j].dist, want[j].scale)
			if !tie {
				t.Errorf("%s: rank %d: got id %d (true distance %.9g), want id %d (true distance %.9g); got ids %v, want %v",
					label, j, id, dist, want[j].id, want[j].dist, gi, ids(want))
				return false
			}
		}
		if !closeRel(float64(gd[j]), dist, scale) {
			t.Errorf("%s: rank %d, id %d: distance %v, float64 value %.9g (relative error %.3g)", label, j, id, gd[j], dist, relDiff(float64(gd[j]), dist))
			return false
		}
	}
	return true
}

func ids(s []scored) []int64 {
	out := make([]int64, len(s))
	for i, x := range s {
		out[i] = x.id
	}
	return out
}

// checkDistances fails t for a distance that is not the exact distance of
// the id it comes with (within relTol of the float64 value), and in
// particular for a zero L2 distance to a vector that is not the query. It is
// for indexes that return exact distances to approximate neighbours (IVF,Flat
// with few probes, RFlat).
func checkDistances(t testing.TB, label string, tr *truth, q []float32, gd []float32, gi []int64) bool {
	t.Helper()
	for j, id := range gi {
		if id < 0 {
			continue
		}
		v, ok := tr.vector(id)
		if !ok {
			t.Errorf("%s: rank %d: id %d is not stored", label, j, id)
			return false
		}
		dist, scale := exact64(tr.m, q, v)
		if tr.m == metric.L2 && gd[j] == 0 && dist != 0 {
			t.Errorf("%s: rank %d, id %d: distance 0 for a true distance of %.9g", label, j, id, dist)
			return false
		}
		if !closeRel(float64(gd[j]), dist, scale) {
			t.Errorf("%s: rank %d, id %d: distance %v, float64 value %.9g (relative error %.3g)", label, j, id, gd[j], dist, relDiff(float64(gd[j]), dist))
			return false
		}
	}
	return true
}

// storedTruth reads the vectors idx stores (normalised ones, for L2norm) back
// with ReconstructN, for indexes with ids 0..Len()-1, and returns the queries
// as the index sees them.
func storedTruth(t testing.TB, label string, idx kume.Index, k kind, q []float32) (*truth, []float32) {
	t.Helper()
	r, ok := idx.(kume.Reconstructor)
	if !ok {
		t.Fatalf("%s: %T does not reconstruct", label, idx)
	}
	data, err := r.ReconstructN(0, int64(idx.Len()), nil)
	if err != nil {
		t.Fatalf("%s: ReconstructN(0, %d): %v", label, idx.Len(), err)
	}
	if k.spec.Normalize {
		q = append([]float32(nil), q...)
		metric.NormalizeL2(q, idx.Dim())
	}
	return newTruth(idx.Metric(), idx.Dim(), data, nil), q
}
