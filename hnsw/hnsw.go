// Package hnsw implements the hierarchical navigable small-world graph index
// ("HNSW{M}" in FAISS's factory grammar; FAISS's IndexHNSWFlat): the vectors
// are kept as they are and linked into a layered graph, each node on levels
// 0 .. L with L drawn at random (geometric, with ratio 1/M), at most 2M
// neighbours on level 0 and M above. A query descends greedily from the
// entry point through the upper levels and ends with a beam search of level
// 0 that keeps the efSearch best candidates.
//
// The graph is stored in FAISS's layout (see Graph), and a search walks it
// by FAISS's rules (greedy descent, FAISS's bounded candidate pool and its
// stopping test, ties resolved as FAISS resolves them), so a graph FAISS
// built answers here as it does in FAISS, up to the rounding of distances.
// Its main use is as the coarse quantizer of an IVF index with tens of
// thousands of lists ("IVF65536_HNSW32,Flat"), where it replaces the
// comparison of each query with every centroid. There (EnablePruning) a
// walk measures only the neighbours a projected lower bound leaves a
// chance of being taken: the same walk, a fraction of the vectors read.
//
// Search is safe from many goroutines, and each query's answer depends on
// that query alone. Add and AddWithIDs take the write lock; an Add that
// fails or is cancelled leaves the graph as it was.
package hnsw

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/batch"
	"github.com/kume-ann/kume/internal/check"
	"github.com/kume-ann/kume/internal/parallel"
	"github.com/kume-ann/kume/internal/pruned"
	"github.com/kume-ann/kume/internal/rows"
	"github.com/kume-ann/kume/metric"
)

// Defaults of FAISS's HNSW.
const (
	// DefaultM is the number of neighbours per node on the upper levels
	// (2M on level 0) when the factory string gives none.
	DefaultM = 32
	// DefaultEfConstruction is the beam width of insertions.
	DefaultEfConstruction = 40
	// DefaultEfSearch is the default beam width of searches.
	DefaultEfSearch = 16
	// MaxM bounds M.
	MaxM = 1 << 12
	// MaxEf bounds efSearch and efConstruction: kume.MaxEf.
	MaxEf = kume.MaxEf
)

// levelSeed seeds the draw of the nodes' levels.
const levelSeed = 12345

// Index is an HNSW index over raw vectors.
type Index struct {
	d int
	m metric.Metric

	mu   sync.RWMutex
	g    *Graph
	data []float32
	ids  []int64 // nil while every id equals its row
	pos  map[int64]int
	next int64
	rule Rule

	// bound, when pruning is on, gives lower bounds of the distances to
	// the stored vectors (L2 only), so that a walk skips the neighbours
	// that cannot enter its candidate pool without measuring them.
	pruning bool
	bound   *pruned.Set
	skipped atomic.Int64 // neighbours the bound spared measuring, for tests
	// expanded, when set (by tests), is told each node a level-0 walk
	// expands, so that two walks can be compared step by step.
	expanded func(int32)

	searchers sync.Pool
}

// EnablePruning turns on or off the walk's bound (L2 indexes of 64 or more
// dimensions and 128 or more vectors; a no-op otherwise): each node's
// projection on the 30 directions its vectors spread most, 32 floats per
// vector, built now and again after every Add (milliseconds for tens of
// thousands of vectors). A walk then measures only the neighbours whose
// bound leaves them a chance to enter its candidate pool: the same walk,
// the same answers bit for bit, a fraction of the vectors read. IVF
// indexes turn it on for their HNSW quantizer, whose few tens of thousands
// of centroids stay fixed after training.
func (x *Index) EnablePruning(on bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pruning = on
	x.rebuildBound()
}

// rebuildBound makes x.bound hold the current vectors when pruning is on;
// the caller holds the write lock.
func (x *Index) rebuildBound() {
	x.bound = nil
	if x.pruning && x.m == metric.L2 {
		x.bound = pruned.New(x.data, x.d)
	}
}

// Rule selects the FAISS release whose search an Index reproduces. The two
// differ in one detail of the level-0 beam search, so that a graph written
// by FAISS gives the answers of the release that searches it.
type Rule int

const (
	// RuleCurrent follows FAISS's current source (and FAISS 1.15): the
	// candidate pool counts the candidates not yet expanded exactly. It is
	// the default.
	RuleCurrent Rule = iota
	// Rule173 follows FAISS 1.7.3 (the python3-faiss of Debian 12 and
	// Ubuntu 24.04), whose candidate pool lowered its count of unexpanded
	// candidates also when a full pool evicted one already expanded, so that
	// some searches stop before the beam is exhausted: fewer distances,
	// somewhat lower recall at the same efSearch.
	Rule173
)

// SetRule selects the FAISS release whose search rules x follows.
func (x *Index) SetRule(r Rule) error {
	if r != RuleCurrent && r != Rule173 {
		return fmt.Errorf("hnsw: %w: rule %d", kume.ErrInvalidArgument, r)
	}
	x.mu.Lock()
	x.rule = r
	x.mu.Unlock()
	return nil
}

// New returns an empty HNSW index for d-dimensional vectors with M
// neighbours per node on the upper levels and 2M on level 0.
func New(d, M int, m metric.Metric) (*Index, error) {
	if d <= 0 {
		return nil, fmt.Errorf("hnsw: %w: dimension %d", kume.ErrInvalidArgument, d)
	}
	if M < 2 || M > MaxM {
		return nil, fmt.Errorf("hnsw: %w: M = %d, want 2..%d", kume.ErrInvalidArgument, M, MaxM)
	}
	if !m.Valid() {
		return nil, fmt.Errorf("hnsw: %w: metric %v", kume.ErrUnsupported, m)
	}
	return &Index{d: d, m: m, g: newGraph(M)}, nil
}

// FromGraph returns an index over the given vectors (row-major, one row per
// node) linked by g, as read from a FAISS file. g is checked (Graph.Check)
// and kept; so is data. Node i gets id ids[i], or i when ids is nil.
func FromGraph(d int, m metric.Metric, g *Graph, data []float32, ids []int64) (*Index, error) {
	if d <= 0 || !m.Valid() {
		return nil, fmt.Errorf("hnsw: %w: dimension %d, metric %v", kume.ErrInvalidArgument, d, m)
	}
	if err := g.Check(); err != nil {
		return nil, err
	}
	n, err := check.Vectors("vectors", data, d)
	if err != nil {
		return nil, fmt.Errorf("hnsw: %w", err)
	}
	if n != g.Len() {
		return nil, fmt.Errorf("hnsw: %w: %d vectors for a graph of %d nodes", kume.ErrCorrupt, n, g.Len())
	}
	if g.M() < 1 || g.M() > MaxM || int(g.EfSearch) > MaxEf || int(g.EfConstruction) > MaxEf {
		return nil, fmt.Errorf("hnsw: %w: M %d, efSearch %d, efConstruction %d (at most %d, %d)", kume.ErrUnsupported, g.M(), g.EfSearch, g.EfConstruction, MaxM, MaxEf)
	}
	x := &Index{d: d, m: m, g: g, data: data, next: int64(n)}
	if ids != nil {
		if err := check.IDs(ids, n); err != nil {
			return nil, fmt.Errorf("hnsw: %w", err)
		}
		x.ids = ids
		x.pos = make(map[int64]int, n)
		for i, id := range ids {
			x.pos[id] = i
		}
		x.next = check.AfterIDs(0, ids)
	}
	return x, nil
}

// Dim returns the dimension.
func (x *Index) Dim() int { return x.d }

// Metric returns the distance measure.
func (x *Index) Metric() metric.Metric { return x.m }

// M returns the number of neighbours per node on the upper levels.
func (x *Index) M() int { return x.g.M() }

// IsTrained is always true: an HNSW index needs no training.
func (x *Index) IsTrained() bool { return true }

// Train checks its input and does nothing else.
func (x *Index) Train(ctx context.Context, v []float32) error {
	_, err := check.Vectors("training set", v, x.d)
	return err
}

// Len returns the number of stored vectors.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.data) / x.d
}

// EfSearch returns the default beam width of searches.
func (x *Index) EfSearch() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return int(x.g.EfSearch)
}

// EfConstruction returns the beam width of insertions.
func (x *Index) EfConstruction() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return int(x.g.EfConstruction)
}

// SetEfSearch sets the default beam width of searches (FAISS's
// hnsw.efSearch).
func (x *Index) SetEfSearch(ef int) error {
	if err := kume.CheckEf("efSearch", ef); err != nil {
		return fmt.Errorf("hnsw: %w", err)
	}
	x.mu.Lock()
	x.g.EfSearch = int32(ef)
	x.mu.Unlock()
	return nil
}

// SetEfConstruction sets the beam width of later insertions (FAISS's
// hnsw.efConstruction).
func (x *Index) SetEfConstruction(ef int) error {
	if err := kume.CheckEf("efConstruction", ef); err != nil {
		return fmt.Errorf("hnsw: %w", err)
	}
	x.mu.Lock()
	x.g.EfConstruction = int32(ef)
	x.mu.Unlock()
	return nil
}

// SetParam sets "efSearch" (FAISS's ParameterSpace name).
func (x *Index) SetParam(name string, v float64) error {
	if name != "efSearch" {
		return fmt.Errorf("hnsw: %w: unknown search parameter %q (known: efSearch)", kume.ErrInvalidArgument, name)
	}
	var p kume.SearchParams
	if err := p.Set(name, v); err != nil {
		return err
	}
	return x.SetEfSearch(p.EfSearch)
}

// Graph returns a copy of the graph, in FAISS's layout.
func (x *Index) Graph() *Graph {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.g.clone()
}

// Vectors returns the stored vectors, row-major (row i is node i), and their
// ids (nil when every id equals its row). The slices must not be modified;
// they stay valid until the next Add or Reset.
func (x *Index) Vectors() ([]float32, []int64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.data, x.ids
}

// NextID is the id Add gives the next vector: one more than the largest id
// the index has held since it was created, loaded or Reset (-1 when none is
// left).
func (x *Index) NextID() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.next
}

// Reset removes every vector and the graph, keeping M, efSearch and
// efConstruction.
func (x *Index) Reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	ng := newGraph(max(x.g.M(), 2))
	ng.AssignProbas, ng.CumNeighbors = x.g.AssignProbas, x.g.CumNeighbors
	ng.EfSearch, ng.EfConstruction = x.g.EfSearch, x.g.EfConstruction
	x.g = ng
	x.data, x.ids, x.pos, x.next = nil, nil, nil, 0
	x.bound = nil
}

func (x *Index) id(row int32) int64 {
	if x.ids == nil {
		return int64(row)
	}
	return x.ids[row]
}

// Reconstruct appends the vector with the given id to dst.
func (x *Index) Reconstruct(id int64, dst []float32) ([]float32, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.rows().Reconstruct("hnsw", id, dst)
}

// ReconstructN appends the vectors with ids i0 .. i0+n-1 to dst.
func (x *Index) ReconstructN(i0, n int64, dst []float32) ([]float32, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.rows().ReconstructN("hnsw", i0, n, dst)
}

// rows is the index's row store; the caller holds x.mu.
func (x *Index) rows() rows.View { return rows.Of(x.d, x.data, x.ids, x.pos) }

func (x *Index) row(id int64) (int, bool) { return x.rows().Row(id) }

// Add inserts vectors with the ids NextID(), NextID()+1, ... An Add that
// fails or is cancelled leaves the index as it was.
func (x *Index) Add(ctx context.Context, v []float32) error {
	return x.add(ctx, v, nil)
}

// AddWithIDs inserts vectors with the given non-negative ids.
func (x *Index) AddWithIDs(ctx context.Context, v []float32, ids []int64) error {
	return x.add(ctx, v, check.Given(ids))
}

// add stores v with ids, or with ids from NextID on when ids is nil.
func (x *Index) add(ctx context.Context, v []float32, ids []int64) error {
	n, err := check.Add(v, x.d, ids)
	if err != nil {
		return fmt.Errorf("hnsw: %w", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	n0 := len(x.data) / x.d
	if n0+n > math.MaxInt32 {
		return fmt.Errorf("hnsw: %w: %d + %d vectors, at most 2^31-1 nodes", kume.ErrInvalidArgument, n0, n)
	}
	first := int64(0)
	if ids == nil {
		if first, err = check.NextIDs(x.next, n); err != nil {
			return fmt.Errorf("hnsw: %w", err)
		}
	}
	if n == 0 {
		return nil
	}
	// Everything below is undone on failure: the graph's tables are cut
	// back, and the neighbour slots of old nodes restored from u.
	g := x.g
	u := &undo{saved: map[int32][]int32{}, entry: g.EntryPoint, maxLevel: g.MaxLevel,
		nLevels: len(g.Levels), nOffsets: len(g.Offsets), nNeighbors: len(g.Neighbors), nData: len(x.data)}
	x.data = append(x.data, v...)
	order := make([]int32, n)
	for i := range order {
		row := int32(n0 + i)
		order[i] = row
		lv := x.randomLevel(row)
		g.Levels = append(g.Levels, int32(lv+1))
		g.Offsets = append(g.Offsets, g.Offsets[len(g.Offsets)-1]+uint64(g.CumNeighbors[lv+1]))
	}
	g.Neighbors = append(g.Neighbors, make([]int32, int(g.Offsets[len(g.Offsets)-1])-len(g.Neighbors))...)
	for i := u.nNeighbors; i < len(g.Neighbors); i++ {
		g.Neighbors[i] = -1
	}
	// Higher nodes first, as FAISS inserts them, so that the upper levels
	// exist before the nodes below link into them.
	slices.SortStableFunc(order, func(a, b int32) int { return int(g.Levels[b] - g.Levels[a]) })
	s := x.getSearcher()
	defer x.searchers.Put(s)
	for i, row := range order {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				x.rollback(u)
				return err
			}
		}
		x.insert(s, row, int32(n0), u)
	}
	// Ids.
	if ids == nil && x.ids == nil && first != int64(n0) {
		x.materializeIDs(n0)
	}
	if ids != nil && x.ids == nil {
		seq := true
		for i, id := range ids {
			seq = seq && id == int64(n0+i)
		}
		if !seq {
			x.materializeIDs(n0)
		}
	}
	if x.ids != nil {
		for i := 0; i < n; i++ {
			id := first + int64(i)
			if ids != nil {
				id = ids[i]
			}
			x.ids = append(x.ids, id)
			x.pos[id] = n0 + i
		}
	}
	if ids == nil {
		x.next = first + int64(n)
	} else {
		x.next = check.AfterIDs(x.next, ids)
	}
	x.rebuildBound()
	return nil
}

// materializeIDs stores the implicit ids (row numbers) of the first n0
// rows, those held before the current Add.
func (x *Index) materializeIDs(n0 int) {
	x.pos = make(map[int64]int, n0)
	x.ids = make([]int64, n0, len(x.data)/x.d)
	for i := range x.ids {
		x.ids[i] = int64(i)
		x.pos[int64(i)] = i
	}
}

// undo records what an Add changed, to restore it on failure.
type undo struct {
	saved                         map[int32][]int32 // old nodes' slots before the Add
	entry, maxLevel               int32
	nLevels, nOffsets, nNeighbors int
	nData                         int
}

func (x *Index) rollback(u *undo) {
	g := x.g
	for node, slots := range u.saved {
		copy(g.Neighbors[g.Offsets[node]:g.Offsets[node+1]], slots)
	}
	g.Levels, g.Offsets, g.Neighbors = g.Levels[:u.nLevels], g.Offsets[:u.nOffsets], g.Neighbors[:u.nNeighbors]
	g.EntryPoint, g.MaxLevel = u.entry, u.maxLevel
	x.data = x.data[:u.nData]
}

// randomLevel draws the top level of node row with FAISS's level
// probabilities, from a hash of the row number: the same rows get the same
// levels however the vectors are split into Adds.
func (x *Index) randomLevel(row int32) int {
	z := uint64(row)*0x9e3779b97f4a7c15 + levelSeed
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	f := float64(z>>11) / (1 << 53)
	p := x.g.AssignProbas
	for l, pr := range p {
		if f < pr {
			return l
		}
		f -= pr
	}
	return len(p) - 1
}

func (x *Index) getSearcher() *searcher {
	if s, ok := x.searchers.Get().(*searcher); ok {
		return s
	}
	return &searcher{}
}

// Search returns the k nearest stored vectors of each query found by the
// graph walk.
func (x *Index) Search(ctx context.Context, queries []float32, k int, p *kume.SearchParams) (*kume.Results, error) {
	return kume.SearchNew(ctx, x, queries, k, p)
}

// SearchInto is Search writing into dst. The beam width is p.EfSearch when
// set, else the index's efSearch; the candidate pool holds max(efSearch, k)
// nodes. p.Filter restricts the results, not the walk. Each query is
// answered on its own, so a batch returns what its queries return alone;
// batches are spread over GOMAXPROCS goroutines, each walking two queries in
// turn and keeping, between calls, two visited tables of one byte a node
// (2 MB for a million nodes).
func (x *Index) SearchInto(ctx context.Context, dst *kume.Results, queries []float32, k int, p *kume.SearchParams) error {
	return batch.Into(ctx, x, "hnsw", dst, queries, k, p)
}

// SearchChecked answers a batch checked by the public call that began it:
// SearchInto's, or that of an index wrapping this one (an IVF index's
// coarse search among them).
func (x *Index) SearchChecked(ctx context.Context, b batch.Batch) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	r := hnswRun{x, int(x.g.EfSearch)}
	if b.Params != nil && b.Params.EfSearch != 0 {
		r.ef = b.Params.EfSearch
	}
	return batch.Run(ctx, b, parallel.Grain(b.Dst.NQ, 16), r, hnswRun.search)
}

// hnswRun is what an HNSW search resolves once per batch: the beam width.
type hnswRun struct {
	x  *Index
	ef int
}

func (r hnswRun) search(ctx context.Context, b batch.Batch, lo, hi int) error {
	return r.x.searchRange(ctx, b.Dst, b.Queries, b.K, r.ef, b.Filter(), lo, hi)
}
