package contract

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/metric"
)

// funcFilter is a filter without kume.IDMasker, as a caller's own would be:
// the indexes must ask it id by id.
type funcFilter func(int64) bool

func (f funcFilter) Contains(id int64) bool { return f(id) }

type namedFilter struct {
	name string
	f    kume.IDFilter
}

// testFilters returns filters over the ids 0..n-1 of every kind and
// selectivity: nothing, everything, one id, ranges, sets (sorted, dense and
// hashed), bitmaps, their combinations and a filter of the caller's own.
func testFilters(n int) []namedFilter {
	rng := rand.New(rand.NewPCG(7, 7))
	var tenth, hashed []int64
	bits := make([]byte, (n+7)/8)
	for i := 0; i < n; i++ {
		if rng.IntN(10) == 0 {
			tenth = append(tenth, int64(i))
		}
		if rng.IntN(2) == 0 {
			bits[i/8] |= 1 << (i % 8)
		}
	}
	// Far-apart ids make a hashed set; a few of them are stored.
	for i := 0; i < 200; i++ {
		hashed = append(hashed, 1<<40+rng.Int64N(1<<50))
	}
	for i := 0; i < n/20; i++ {
		hashed = append(hashed, int64(rng.IntN(n)))
	}
	few := []int64{3, int64(n / 2), int64(n - 1), int64(n + 5)}
	return []namedFilter{
		{"nothing", kume.IDSet(nil)},
		{"nothing (range)", kume.IDRange(5, 5)},
		{"everything", kume.IDRange(0, math.MaxInt64)},
		{"one id", kume.IDSet([]int64{int64(n / 3)})},
		{"range 10%", kume.IDRange(int64(n/4), int64(n/4+n/10))},
		{"range 1%", kume.IDRange(int64(n/2), int64(n/2+max(n/100, 1)))},
		{"set 10%", kume.IDSet(tenth)},
		{"set hashed", kume.IDSet(hashed)},
		{"set few", kume.IDSet(few)},
		{"bitmap 50%", kume.IDBitmap(bits)},
		{"bitmap short", kume.IDBitmap(bits[:len(bits)/3])},
		{"not range", kume.NotFilter(kume.IDRange(int64(n/10), int64(n)))},
		{"and", kume.AndFilter(kume.IDBitmap(bits), kume.IDRange(0, int64(n/2)))},
		{"or hashed", kume.OrFilter(kume.IDSet(hashed), kume.IDRange(int64(n-n/20), int64(n)))},
		{"func 20%", funcFilter(func(id int64) bool { return id%5 == 2 })},
		{"not func", kume.NotFilter(funcFilter(func(id int64) bool { return id%7 != 0 }))},
	}
}

// filterQueries is how many of the standard queries the filter tests use.
func filterQueries() []float32 {
	q := standard().queries
	return q[:min(len(q), 40*stdDim)]
}

// checkFilteredSearch searches idx with filter f (batch and alone) and
// returns what is wrong: an id outside the filter, a batch that differs from
// its queries alone, fewer than min(k, allowed) results when every list is
// probed, or, for exact paths, answers that are not the brute-force top k
// of the allowed vectors. tr holds the stored vectors and q the queries as
// the index sees them (nil when its distances are not exact).
func checkFilteredSearch(t testing.TB, label string, idx kume.Index, kd kind, f kume.IDFilter, p kume.SearchParams, k int, tr *truth, q []float32) []string {
	var bad []string
	p.Filter = f
	queries := filterQueries()
	d := idx.Dim()
	nq := len(queries) / d
	batch, err := search(idx, queries, k, &p)
	if err != nil {
		return []string{fmt.Sprintf("%s: batch: %v", label, err)}
	}
	single := &kume.Results{NQ: nq, K: k}
	for i := 0; i < nq; i++ {
		r, err := search(idx, queries[i*d:(i+1)*d], k, &p)
		if err != nil {
			return []string{fmt.Sprintf("%s: query %d alone: %v", label, i, err)}
		}
		single.IDs = append(single.IDs, r.IDs...)
		single.Distances = append(single.Distances, r.Distances...)
	}
	allowed := 0
	for id := int64(0); id < int64(idx.Len()); id++ {
		if f.Contains(id) {
			allowed++
		}
	}
	allLists := kd.spec.NList == 0 || p.NProbe >= kd.spec.NList
	var sub *truth
	if tr != nil && kd.exactWith(&p) {
		var data []float32
		var ids []int64
		for r, id := range tr.ids {
			if f.Contains(id) {
				data = append(data, tr.data[r*tr.d:(r+1)*tr.d]...)
				ids = append(ids, id)
			}
		}
		sub = newTruth(tr.m, tr.d, data, ids)
		if len(ids) == 0 {
			sub = newTruth(tr.m, tr.d, nil, []int64{})
		}
	}
	for name, res := range map[string]*kume.Results{"batch": batch, "alone": single} {
		for i := 0; i < nq && len(bad) < 5; i++ {
			gd, gi := res.Row(i)
			got := 0
			for j, id := range gi {
				if id < 0 {
					continue
				}
				got++
				if !f.Contains(id) {
					bad = append(bad, fmt.Sprintf("%s, %s, query %d: rank %d: id %d is outside the filter", label, name, i, j, id))
				}
			}
			if allLists && got != min(k, allowed) {
				bad = append(bad, fmt.Sprintf("%s, %s, query %d: %d results, want min(k = %d, allowed = %d)", label, name, i, got, k, allowed))
			}
			if sub != nil && len(bad) == 0 && !checkExact(t, fmt.Sprintf("%s, %s, query %d", label, name, i), sub, q[i*d:(i+1)*d], gd, gi) {
				bad = append(bad, fmt.Sprintf("%s, %s, query %d: not the brute-force top %d of the allowed ids", label, name, i, k))
			}
		}
	}
	for i := 0; i < nq && len(bad) < 5; i++ {
		bd, bi := batch.Row(i)
		sd, si := single.Row(i)
		if diff := rowDiff(bd, bi, sd, si, kd.flatCode); diff != "" {
			bad = append(bad, fmt.Sprintf("%s: query %d: batch vs alone: %s", label, i, diff))
		}
	}
	return bad
}

// TestFilterEveryIndex enumerates every index type the factory builds, both
// metrics and both search settings, and fails on any path that returns an
// id outside a filter; it also checks that batches equal single queries,
// that k allowed results come back when every list is probed, and that the
// exact paths return the brute-force top k of the allowed vectors.
func TestFilterEveryIndex(t *testing.T) {
	s := standard()
	n := len(s.base) / stdDim
	filters := testFilters(n)
	const k = 10
	for _, desc := range allDescriptions(stdLists, stdM) {
		for _, m := range metrics {
			t.Run(fmt.Sprintf("%s/%v", desc, m), func(t *testing.T) {
				idx := shared(t, desc, m)
				kd := kindOf(t, stdDim, desc)
				tr, q := storedTruth(t, desc, idx, kd, filterQueries())
				for _, p := range searchSettings() {
					for _, nf := range filters {
						label := fmt.Sprintf("%s %v, %s, filter %s", desc, m, paramString(p), nf.name)
						for _, msg := range checkFilteredSearch(t, label, idx, kd, nf.f, *p, k, tr, q) {
							t.Error(msg)
						}
					}
				}
			})
		}
	}
}

// ignoring is an index that drops the filter: the checks must catch it.
type ignoring struct{ kume.Index }

func (x ignoring) Search(ctx context.Context, q []float32, k int, p *kume.SearchParams) (*kume.Results, error) {
	var c kume.SearchParams
	if p != nil {
		c = *p
	}
	c.Filter = nil
	return x.Index.Search(ctx, q, k, &c)
}

func (x ignoring) RangeSearch(ctx context.Context, q []float32, radius float32, p *kume.SearchParams) (*kume.RangeResults, error) {
	var c kume.SearchParams
	if p != nil {
		c = *p
	}
	c.Filter = nil
	return x.Index.(kume.RangeSearcher).RangeSearch(ctx, q, radius, &c)
}

// TestFilterCheckCatchesIgnoredFilter runs the checks of TestFilterEveryIndex
// and TestRangeEveryIndex on an index that ignores filters and expects them
// to fail.
func TestFilterCheckCatchesIgnoredFilter(t *testing.T) {
	s := standard()
	n := len(s.base) / stdDim
	for _, desc := range []string{"Flat", fmt.Sprintf("IVF%d,PQ%dx4fs,RFlat", stdLists, stdM)} {
		idx := ignoring{shared(t, desc, metric.L2)}
		kd := kindOf(t, stdDim, desc)
		tr, q := storedTruth(t, desc, idx.Index, kd, filterQueries())
		for _, nf := range testFilters(n) {
			if nf.name == "everything" {
				continue
			}
			p := kume.SearchParams{NProbe: stdLists}
			if bad := checkFilteredSearch(t, nf.name, idx, kd, nf.f, p, 10, tr, q); len(bad) == 0 {
				t.Errorf("%s: a search that ignores filter %s passed the filter checks", desc, nf.name)
			}
			if bad := checkRange(t, nf.name, idx, kd, nf.f, p, tr, q); len(bad) == 0 {
				t.Errorf("%s: a range search that ignores filter %s passed the range checks", desc, nf.name)
			}
		}
	}
}

// rangeRadius returns a radius that holds a few percent of the stored
// vectors for a typical query: a low quantile of the distances (the high
// quantile of inner products).
func rangeRadius(tr *truth, q []float32) float32 {
	var all []float64
	for i := 0; i < min(5, len(q)/tr.d); i++ {
		for r := range tr.ids {
			dist, _ := exact64(tr.m, q[i*tr.d:(i+1)*tr.d], tr.data[r*tr.d:(r+1)*tr.d])
			all = append(all, dist)
		}
	}
	sort.Float64s(all)
	if tr.m == metric.InnerProduct {
		return float32(all[len(all)*97/100])
	}
	return float32(all[len(all)*3/100])
}

// checkRange range-searches idx with filter f (batch and alone) and returns
// what is wrong: an id outside the filter or outside the radius, a batch that
// differs from its queries alone (bit for bit), results out of order, or
// results that are not the k-NN answer cut at the radius (every path except
// re-ranked quantized codes, whose candidates come from estimates: there the
// results must be exact, within the radius and, under L2, recall 60% of the
// truth when every list is probed). tr and q are as for checkFilteredSearch.
func checkRange(t testing.TB, label string, idx kume.Index, kd kind, f kume.IDFilter, p kume.SearchParams, tr *truth, q []float32) []string {
	rs, ok := idx.(kume.RangeSearcher)
	if !ok {
		return []string{fmt.Sprintf("%s: %T has no range search", label, idx)}
	}
	p.Filter = f
	queries := filterQueries()
	d := idx.Dim()
	nq := len(queries) / d
	radius := rangeRadius(tr, q)
	ctx := context.Background()
	var batch *kume.RangeResults
	err := call(func() (err error) { batch, err = rs.RangeSearch(ctx, queries, radius, &p); return })
	if err != nil {
		return []string{fmt.Sprintf("%s: batch: %v", label, err)}
	}
	if batch.NQ != nq || len(batch.Lims) != nq+1 || batch.Lims[0] != 0 || batch.Lims[nq] != len(batch.IDs) || len(batch.IDs) != len(batch.Distances) {
		return []string{fmt.Sprintf("%s: malformed range results: NQ %d, %d lims, %d ids, %d distances", label, batch.NQ, len(batch.Lims), len(batch.IDs), len(batch.Distances))}
	}
	m := idx.Metric()
	var bad []string
	approx := !kd.flatCode && kd.spec.Refine
	total, found := 0, 0
	for i := 0; i < nq && len(bad) < 5; i++ {
		var one *kume.RangeResults
		qi := queries[i*d : (i+1)*d]
		if err := call(func() (err error) { one, err = rs.RangeSearch(ctx, qi, radius, &p); return }); err != nil {
			return append(bad, fmt.Sprintf("%s: query %d alone: %v", label, i, err))
		}
		bd, bi := batch.Row(i)
		od, oi := one.Row(0)
		if diff := rowDiff(bd, bi, od, oi, true); diff != "" {
			bad = append(bad, fmt.Sprintf("%s: query %d: range batch vs alone: %s", label, i, diff))
		}
		for j, id := range bi {
			if !f.Contains(id) {
				bad = append(bad, fmt.Sprintf("%s: query %d: id %d is outside the filter", label, i, id))
				break
			}
			if m == metric.L2 && !(bd[j] < radius) || m == metric.InnerProduct && !(bd[j] > radius) {
				bad = append(bad, fmt.Sprintf("%s: query %d: id %d at distance %v is outside the radius %v", label, i, id, bd[j], radius))
				break
			}
			if j > 0 && (m.Better(bd[j], bd[j-1]) || bd[j] == bd[j-1] && id < bi[j-1]) {
				bad = append(bad, fmt.Sprintf("%s: query %d: results out of order at rank %d", label, i, j))
				break
			}
		}
		if approx {
			if !checkDistances(t, fmt.Sprintf("%s, query %d", label, i), tr, q[i*d:(i+1)*d], bd, bi) {
				bad = append(bad, fmt.Sprintf("%s: query %d: range distances are not exact", label, i))
			}
			if kd.spec.NList == 0 || p.NProbe >= kd.spec.NList {
				for r, id := range tr.ids {
					dist, _ := exact64(m, q[i*d:(i+1)*d], tr.data[r*d:(r+1)*d])
					if f.Contains(id) && (m == metric.L2 && dist < float64(radius) || m == metric.InnerProduct && dist > float64(radius)) {
						total++
						if slices.Contains(bi, id) {
							found++
						}
					}
				}
			}
			continue
		}
		// The k-NN answer over everything allowed, cut at the radius.
		kp := p
		kp.KFactor = 0
		all := idx.Len()
		knn, err := search(idx, qi, all, &kp)
		if err != nil {
			return append(bad, fmt.Sprintf("%s: query %d: k-NN with k = %d: %v", label, i, all, err))
		}
		var wd []float32
		var wi []int64
		for j, id := range knn.IDs {
			v := knn.Distances[j]
			if id >= 0 && (m == metric.L2 && v < radius || m == metric.InnerProduct && v > radius) {
				wd, wi = append(wd, v), append(wi, id)
			}
		}
		if diff := rowDiff(bd, bi, wd, wi, true); diff != "" {
			bad = append(bad, fmt.Sprintf("%s: query %d: range vs k-NN cut at the radius: %s", label, i, diff))
		}
	}
	// Under inner product, quantized estimates are biased low (decoded
	// vectors are shorter than the originals), so at the same radius the
	// base proposes fewer candidates: recall is only asked of L2.
	if approx && m == metric.L2 && total > 20 && float64(found) < 0.6*float64(total) {
		bad = append(bad, fmt.Sprintf("%s: range recall %d of %d", label, found, total))
	}
	return bad
}

// TestRangeEveryIndex checks the range search of every index type the
// factory builds, with and without filters: FAISS's rule (L2: d < radius;
// inner product: s > radius), the k-NN answer cut at the radius (for every
// path but re-ranked quantized codes), exact distances and recall for
// those, and batches equal to single queries bit for bit.
func TestRangeEveryIndex(t *testing.T) {
	s := standard()
	n := len(s.base) / stdDim
	filters := append([]namedFilter{{"none", kume.IDRange(math.MinInt64, math.MaxInt64)}}, testFilters(n)...)
	if testing.Short() {
		filters = filters[:8]
	}
	for _, desc := range allDescriptions(stdLists, stdM) {
		for _, m := range metrics {
			t.Run(fmt.Sprintf("%s/%v", desc, m), func(t *testing.T) {
				idx := shared(t, desc, m)
				kd := kindOf(t, stdDim, desc)
				tr, q := storedTruth(t, desc, idx, kd, filterQueries())
				for _, p := range searchSettings() {
					for _, nf := range filters {
						label := fmt.Sprintf("%s %v, %s, filter %s", desc, m, paramString(p), nf.name)
						for _, msg := range checkRange(t, label, idx, kd, nf.f, *p, tr, q) {
							t.Error(msg)
						}
					}
					// Without a filter at all, too.
					rs := idx.(kume.RangeSearcher)
					r1, err := rs.RangeSearch(context.Background(), filterQueries(), rangeRadius(tr, q), p)
					if err != nil {
						t.Fatalf("%s: %v", desc, err)
					}
					pf := *p
					pf.Filter = kume.IDRange(0, math.MaxInt64)
					r2, _ := rs.RangeSearch(context.Background(), filterQueries(), rangeRadius(tr, q), &pf)
					if !slices.Equal(r1.IDs, r2.IDs) || !slices.Equal(r1.Lims, r2.Lims) {
						t.Errorf("%s: range search without a filter differs from one with a filter of everything", desc)
					}
				}
			})
		}
	}
}

// TestRangeBounds checks that a NaN radius and a range search whose results
// would pass kume.MaxResults are refused... the latter only as far as a
// small index can show it: an infinite radius returns every vector.
func TestRangeBounds(t *testing.T) {
	s := standard()
	n := len(s.base) / stdDim
	for _, desc := range allDescriptions(stdLists, stdM) {
		idx := shared(t, desc, metric.L2).(kume.RangeSearcher)
		if _, err := idx.RangeSearch(context.Background(), filterQueries(), float32(math.NaN()), nil); err == nil || !strings.Contains(err.Error(), kume.ErrInvalidArgument.Error()) {
			t.Errorf("%s: NaN radius: err = %v, want ErrInvalidArgument", desc, err)
		}
		res, err := idx.RangeSearch(context.Background(), filterQueries()[:stdDim], float32(math.Inf(1)), &kume.SearchParams{NProbe: stdLists})
		if err != nil {
			t.Fatalf("%s: infinite radius: %v", desc, err)
		}
		if len(res.IDs) != n && !kindOf(t, stdDim, desc).spec.Refine {
			t.Errorf("%s: infinite radius with every list: %d results, want %d", desc, len(res.IDs), n)
		}
	}
}

// TestFilterConcurrent searches with different filters from many goroutines
// at once (run it with -race) and checks each answer against the same
// search made alone.
func TestFilterConcurrent(t *testing.T) {
	s := standard()
	n := len(s.base) / stdDim
	filters := testFilters(n)
	queries := filterQueries()
	for _, desc := range []string{"Flat", fmt.Sprintf("IVF%d,Flat", stdLists), fmt.Sprintf("IVF%d,PQ%dx4fs,RFlat", stdLists, stdM), fmt.Sprintf("PQ%dx4fs", stdM)} {
		idx := shared(t, desc, metric.L2)
		want := make([]*kume.Results, len(filters))
		for i, nf := range filters {
			want[i] = mustSearch(t, desc, idx, queries, 5, &kume.SearchParams{NProbe: 4, Filter: nf.f})
		}
		var wg sync.WaitGroup
		errs := make(chan string, 100)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for r := 0; r < 3; r++ {
					i := (g + r) % len(filters)
					p := &kume.SearchParams{NProbe: 4, Filter: filters[i].f}
					got, err := idx.Search(context.Background(), queries, 5, p)
					if err != nil {
						errs <- err.Error()
						return
					}
					if !slices.Equal(got.IDs, want[i].IDs) {
						errs <- fmt.Sprintf("%s, filter %s: concurrent answer differs", desc, filters[i].name)
					}
					if _, err := idx.(kume.RangeSearcher).RangeSearch(context.Background(), queries, 10, p); err != nil {
						errs <- err.Error()
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}
}
