package contract

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/metric"
)

// countdownCtx is a context that is not done for its first n inspections (by
// Err or Done) and done, with context.Canceled, from then on. It cancels an
// operation at a chosen point of its work without depending on timing.
type countdownCtx struct {
	context.Context
	left atomic.Int64
	once sync.Once
	done chan struct{}
}

func countdown(n int64) *countdownCtx {
	c := &countdownCtx{Context: context.Background(), done: make(chan struct{})}
	c.left.Store(n)
	return c
}

// tick counts one inspection and reports whether the context is done.
func (c *countdownCtx) tick() bool {
	if c.left.Add(-1) < 0 {
		c.once.Do(func() { close(c.done) })
		return true
	}
	return false
}

// Done counts an inspection and returns the done channel.
func (c *countdownCtx) Done() <-chan struct{} {
	c.tick()
	return c.done
}

// Err counts an inspection and returns context.Canceled once done.
func (c *countdownCtx) Err() error {
	if c.tick() {
		return context.Canceled
	}
	return nil
}

// model is what an index should hold: vectors by id, and the id the next Add
// hands out.
type model struct {
	vecs map[int64][]float32
	next int64
	// gone holds ids that were stored and are not any more.
	gone map[int64]bool
}

func newModel() *model {
	return &model{vecs: map[int64][]float32{}, gone: map[int64]bool{}}
}

func (m *model) store(id int64, v []float32) {
	m.vecs[id] = v
	delete(m.gone, id)
	m.next = max(m.next, id+1)
}

func (m *model) remove(id int64) bool {
	if _, ok := m.vecs[id]; !ok {
		return false
	}
	delete(m.vecs, id)
	m.gone[id] = true
	return true
}

func (m *model) reset() {
	for id := range m.vecs {
		m.gone[id] = true
	}
	m.vecs = map[int64][]float32{}
	m.next = 0
}

func (m *model) ids() []int64 {
	out := make([]int64, 0, len(m.vecs))
	for id := range m.vecs {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// modelDescs are the index types the model-based tests run on.
func modelDescs(nlist, m int) []string {
	return []string{
		"Flat",
		fmt.Sprintf("IVF%d,Flat", nlist),
		fmt.Sprintf("PQ%dx4fs", m),
		fmt.Sprintf("IVF%d,PQ%dx4fs", nlist, m),
		"Flat,RFlat",
		fmt.Sprintf("IVF%d,Flat,RFlat", nlist),
		fmt.Sprintf("IVF%d,PQ%dx4fsr,RFlat", nlist, m),
		"L2norm,Flat",
		fmt.Sprintf("L2norm,IVF%d,Flat", nlist),
		fmt.Sprintf("L2norm,IVF%d,PQ%dx4fs,RFlat", nlist, m),
	}
}

// modelCase runs operations on one index and checks it against a model.
type modelCase struct {
	t     *testing.T
	desc  string
	d     int
	kd    kind
	idx   kume.Index
	m     *model
	train []float32
	rng   *rand.Rand
	log   []string
}

// fail reports a broken rule with the operations that led to it and stops
// the case.
func (c *modelCase) fail(format string, args ...any) {
	c.t.Helper()
	hist := c.log
	if len(hist) > 12 {
		hist = append([]string{"..."}, hist[len(hist)-12:]...)
	}
	c.t.Fatalf("%s: %s\noperations:\n  %s", c.desc, fmt.Sprintf(format, args...), strings.Join(hist, "\n  "))
}

// needsTraining reports whether the index type learns anything in Train
// (IVF, PQ). Flat needs no training, and Train is documented as a no-op
// for it.
func (c *modelCase) needsTraining() bool {
	return c.kd.spec.NList > 0 || !c.kd.flatCode
}

// exactStore reports whether Reconstruct returns the vectors as stored (not
// decoded from codes) and an exact search is possible.
func (c *modelCase) exactStore() bool { return c.kd.exactDist }

// stored is the vector the index is expected to hold for v.
func (c *modelCase) stored(v []float32) []float32 {
	if !c.kd.spec.Normalize {
		return v
	}
	w := append([]float32(nil), v...)
	metric.NormalizeL2(w, c.d)
	return w
}

// allParams makes a search visit every list and re-rank every candidate for
// k results.
func (c *modelCase) allParams(k int) *kume.SearchParams {
	p := &kume.SearchParams{NProbe: max(1, c.kd.spec.NList)}
	if c.kd.spec.Refine {
		p.KFactor = float32(min(1000, max(1, (c.idx.Len()+k-1)/k)))
	}
	return p
}

// verify checks the index against the model.
func (c *modelCase) verify() {
	c.t.Helper()
	if got, want := c.idx.Len(), len(c.m.vecs); got != want {
		c.fail("Len() = %d, the model holds %d", got, want)
	}
	r := c.idx.(kume.Reconstructor)
	for id, v := range c.m.vecs {
		var got []float32
		err := call(func() (err error) { got, err = r.Reconstruct(id, nil); return })
		if err != nil {
			c.fail("Reconstruct(%d) of a stored id: %v", id, err)
		}
		if len(got) != c.d {
			c.fail("Reconstruct(%d) returned %d floats", id, len(got))
		}
		if c.exactStore() && !slices.Equal(got, c.stored(v)) {
			c.fail("Reconstruct(%d) = %v, stored %v", id, got, c.stored(v))
		}
	}
	checked := 0
	for id := range c.m.gone {
		if checked++; checked > 8 {
			break
		}
		err := call(func() error { _, err := r.Reconstruct(id, nil); return err })
		if !errors.Is(err, kume.ErrNotFound) {
			c.fail("Reconstruct(%d) of an id no longer stored: err = %v, want ErrNotFound", id, err)
		}
	}
	want := c.m.ids()
	n := len(want)
	if n == 0 {
		return
	}
	// Every stored id, once each, and nothing else.
	q := gaussian(c.rng, 1, c.d, 0, 1)
	res, err := search(c.idx, q, n, c.allParams(n))
	if err != nil {
		c.fail("Search(k = Len() = %d): %v", n, err)
	}
	got := slices.Clone(res.IDs)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		c.fail("Search(k = Len() = %d) returned ids %v, the model holds %v", n, got, want)
	}
	if !c.exactStore() {
		return
	}
	// A stored vector is found first, at distance 0.
	for s := 0; s < min(n, 6); s++ {
		id := want[c.rng.IntN(n)]
		k := min(n, 3)
		res, err := search(c.idx, c.m.vecs[id], k, c.allParams(k))
		if err != nil {
			c.fail("Search for the vector of id %d: %v", id, err)
		}
		if res.IDs[0] != id || res.Distances[0] != 0 {
			c.fail("Search for the vector of id %d: first result id %d at distance %v, want id %d at 0 (ids %v, distances %v)",
				id, res.IDs[0], res.Distances[0], id, res.IDs, res.Distances)
		}
	}
}

// snapshot is what an operation that fails must leave unchanged.
type snapshot struct {
	n    int
	ids  []int64
	dist []float32
}

func (c *modelCase) snap(probe []float32) snapshot {
	s := snapshot{n: c.idx.Len()}
	if s.n == 0 {
		return s
	}
	k := min(s.n, 5)
	res, err := search(c.idx, probe, k, c.allParams(k))
	if err != nil {
		c.fail("Search: %v", err)
	}
	s.ids, s.dist = res.IDs, res.Distances
	return s
}

func (c *modelCase) sameAs(before snapshot, probe []float32, what string) {
	c.t.Helper()
	after := c.snap(probe)
	if after.n != before.n || !slices.Equal(after.ids, before.ids) || !slices.Equal(after.dist, before.dist) {
		c.fail("%s changed the index: Len %d -> %d, answers %v %v -> %v %v", what, before.n, after.n, before.ids, before.dist, after.ids, after.dist)
	}
}

// freshIDs returns n ids that are not stored: gaps past the next id, ids that
// were removed, and ids below the next id that were never used.
func (c *modelCase) freshIDs(n int) []int64 {
	var out []int64
	used := map[int64]bool{}
	for len(out) < n {
		var id int64
		switch c.rng.IntN(3) {
		case 0:
			id = c.m.next + int64(c.rng.IntN(40))
		case 1:
			for g := range c.m.gone {
				id = g
				break
			}
		default:
			id = int64(c.rng.IntN(int(c.m.next) + 1))
		}
		if _, stored := c.m.vecs[id]; stored || used[id] {
			continue
		}
		used[id] = true
		out = append(out, id)
	}
	return out
}

// step runs one random operation on the index and the model.
func (c *modelCase) step() {
	c.t.Helper()
	ctx := context.Background()
	d := c.d
	switch op := c.rng.IntN(100); {
	case op < 30: // Add
		n := 1 + c.rng.IntN(20)
		v := gaussian(c.rng, n, d, 0, 1)
		c.log = append(c.log, fmt.Sprintf("Add(%d vectors) with next id %d", n, c.m.next))
		if err := call(func() error { return c.idx.Add(ctx, v) }); err != nil {
			c.fail("Add: %v", err)
		}
		start := c.m.next
		for i := 0; i < n; i++ {
			c.m.store(start+int64(i), v[i*d:(i+1)*d])
		}
	case op < 45: // AddWithIDs
		n := 1 + c.rng.IntN(8)
		v := gaussian(c.rng, n, d, 0, 1)
		ids := c.freshIDs(n)
		c.log = append(c.log, fmt.Sprintf("AddWithIDs(%v)", ids))
		if err := call(func() error { return c.idx.AddWithIDs(ctx, v, ids) }); err != nil {
			c.fail("AddWithIDs(%v): %v", ids, err)
		}
		for i, id := range ids {
			c.m.store(id, v[i*d:(i+1)*d])
		}
	case op < 65: // RemoveIDs
		stored := c.m.ids()
		var ids []int64
		for i := 0; i < c.rng.IntN(6) && len(stored) > 0; i++ {
			ids = append(ids, stored[c.rng.IntN(len(stored))])
		}
		ids = append(ids, c.m.next+1000) // never stored
		want := 0
		for _, id := range ids {
			if c.m.remove(id) {
				want++
			}
		}
		c.log = append(c.log, fmt.Sprintf("RemoveIDs(%v)", ids))
		var got int
		err := call(func() (err error) { got, err = c.idx.(kume.Remover).RemoveIDs(ids); return })
		if err != nil || got != want {
			c.fail("RemoveIDs(%v) = %d, %v; want %d, nil", ids, got, err, want)
		}
	case op < 70: // Reset
		c.log = append(c.log, "Reset()")
		if err := call(func() error { c.idx.Reset(); return nil }); err != nil {
			c.fail("Reset: %v", err)
		}
		c.m.reset()
	case op < 80: // Train
		probe := gaussian(c.rng, 1, d, 0, 1)
		before := c.snap(probe)
		c.log = append(c.log, fmt.Sprintf("Train() holding %d vectors", before.n))
		err := call(func() error { return c.idx.Train(ctx, c.train) })
		switch {
		case before.n == 0 && err != nil:
			c.fail("Train on an empty index: %v", err)
		case before.n > 0 && c.needsTraining() && !errors.Is(err, kume.ErrInvalidArgument):
			c.fail("Train on an index holding %d vectors: err = %v, want an error wrapping ErrInvalidArgument", before.n, err)
		case before.n > 0 && err != nil && !errors.Is(err, kume.ErrInvalidArgument):
			c.fail("Train on an index holding %d vectors: err = %v, want nil (a no-op) or ErrInvalidArgument", before.n, err)
		}
		if before.n > 0 {
			c.sameAs(before, probe, "Train on an index holding vectors")
		}
	default: // Add with a cancelled context
		n := 1 + c.rng.IntN(20)
		v := gaussian(c.rng, n, d, 0, 1)
		var cctx context.Context
		var how string
		if c.rng.IntN(3) == 0 {
			cc, cancel := context.WithCancel(ctx)
			cancel()
			cctx, how = cc, "cancelled before the call"
		} else {
			after := int64(c.rng.IntN(8))
			cctx, how = countdown(after), fmt.Sprintf("cancelled after %d checks", after)
		}
		probe := gaussian(c.rng, 1, d, 0, 1)
		before := c.snap(probe)
		c.log = append(c.log, fmt.Sprintf("Add(%d vectors), context %s, next id %d", n, how, c.m.next))
		err := call(func() error { return c.idx.Add(cctx, v) })
		if err != nil {
			c.log[len(c.log)-1] += fmt.Sprintf(": %v", err)
			if !errors.Is(err, context.Canceled) {
				c.fail("Add with a context %s: err = %v, want nil or context.Canceled", how, err)
			}
			c.sameAs(before, probe, "an Add that failed")
			return
		}
		start := c.m.next
		for i := 0; i < n; i++ {
			c.m.store(start+int64(i), v[i*d:(i+1)*d])
		}
	}
}

// TestIDsModel runs random sequences of Add, AddWithIDs, RemoveIDs, Reset,
// Train and cancelled Adds on every index type that stores ids, and checks
// after every step that the index agrees with a map from id to vector:
// Len(), Reconstruct of every stored id (exact vectors for raw stores),
// ErrNotFound for removed ids, a search for everything returning every
// stored id once, and an exact search for a stored vector returning its id
// first at distance 0. The rules checked: Add hands out the ids following
// the largest id ever stored since the last Reset (never reusing a removed
// one); after AddWithIDs, Add continues past the largest id given; Reset
// starts again at 0; an Add that fails leaves the index as it was; Train on
// an index holding vectors fails with ErrInvalidArgument and changes
// nothing, except on indexes that need no training, where it may be a
// no-op.
func TestIDsModel(t *testing.T) {
	const (
		d     = 8
		nlist = 4
		pqM   = 4
	)
	seeds := []uint64{51, 52, 53}
	steps := 80
	if testing.Short() {
		seeds, steps = seeds[:1], 40
	}
	for _, desc := range modelDescs(nlist, pqM) {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("%s/seed=%d", desc, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 0))
				train := gaussian(rng, 300, d, 0, 1)
				idx := build(t, d, desc, metric.L2, train, nil)
				c := &modelCase{t: t, desc: fmt.Sprintf("seed %d, %s", seed, desc), d: d, kd: kindOf(t, d, desc), idx: idx, m: newModel(), train: train, rng: rng}
				c.verify()
				for i := 0; i < steps; i++ {
					c.step()
					c.verify()
				}
			})
		}
	}
}

// TestFailedAddLeavesIndexUnchanged cancels an Add at every point at which
// it looks at its context, from before its first look to after its last, on
// every index type (every check point for the first 16, then at steps of a
// sixteenth), and checks that each Add that fails leaves the index's
// Len and answers as they were, and that the one that succeeds stores
// everything. For IVF,Flat it also adds more vectors than IVF assigns in one
// pass.
func TestFailedAddLeavesIndexUnchanged(t *testing.T) {
	const (
		d     = 8
		nlist = 4
		seed  = 61
	)
	type tc struct {
		desc string
		d, n int
	}
	var cases []tc
	for _, desc := range modelDescs(nlist, 4) {
		cases = append(cases, tc{desc, d, 300})
	}
	if !testing.Short() {
		cases = append(cases, tc{fmt.Sprintf("IVF%d,Flat", nlist), 2, 70000})
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/n=%d", tc.desc, tc.n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0))
			train := gaussian(rng, 300, tc.d, 0, 1)
			idx := build(t, tc.d, tc.desc, metric.L2, train, gaussian(rng, 50, tc.d, 0, 1))
			c := &modelCase{t: t, desc: fmt.Sprintf("seed %d, %s", seed, tc.desc), d: tc.d, kd: kindOf(t, tc.d, tc.desc), idx: idx, rng: rng}
			v := gaussian(rng, tc.n, tc.d, 0, 1)
			probe := gaussian(rng, 1, tc.d, 0, 1)
			// Every check point up to 16, then steps of a sixteenth, which
			// land on every power of two.
			for after := int64(0); ; after += max(1, after/16) {
				if after > 10000 {
					t.Fatalf("%s: Add still fails with a context that is done only after %d checks", c.desc, after)
				}
				before := c.snap(probe)
				err := call(func() error { return idx.Add(countdown(after), v) })
				if err == nil {
					if got := idx.Len(); got != before.n+tc.n {
						t.Errorf("%s: Add of %d vectors succeeded, Len %d -> %d", c.desc, tc.n, before.n, got)
					}
					if after == 0 {
						t.Logf("%s: Add never looks at its context", c.desc)
					}
					return
				}
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("%s: Add with a context done after %d checks: %v, want context.Canceled", c.desc, after, err)
				}
				c.log = []string{fmt.Sprintf("Add(%d vectors) with a context done after %d checks: %v", tc.n, after, err)}
				c.sameAs(before, probe, "an Add that failed")
			}
		})
	}
}
