package bench

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/faissio"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/npy"
)

// The filtered and range searches compared with FAISS by
// bench/faiss_filter_bench.py: 100,000 generated 256-d vectors (Synth, seed
// 1) and 1,000 queries; IVF1024,PQ128x4fs,RFlat searched with k 10,
// nprobe 16, k_factor_rf 4, unfiltered and filtered to 10 % of the ids (a
// range of consecutive ids, and a random set); range search on Flat and on
// IVF1024,Flat (nprobe 16) at a radius that holds about 100 vectors per
// query.
const (
	fcN, fcNQ, fcD, fcK  = 100_000, 1_000, 256, 10
	fcNProbe, fcKFactor  = 16, 4
	fcSelectivity        = 0.10
	fcPQ, fcIVF, fcExact = "IVF1024,PQ128x4fs,RFlat", "IVF1024,Flat", "Flat"
)

// filterMeta is filter.json in an exported folder: what both engines are
// asked.
type filterMeta struct {
	N, NQ, D, K      int
	NProbe, KFactor  int
	RangeLo, RangeHi int64 // the range filter: RangeLo <= id < RangeHi
	Radius           float32
}

// filterCase is the data, indexes and filters, made once per process.
var filterCase struct {
	once    sync.Once
	err     error
	meta    filterMeta
	queries []float32
	set     []int64 // the set filter's ids, sorted
	indexes map[string]kume.Index
}

// filterFiles names the files of an exported folder.
func filterFiles(dir string) map[string]string {
	return map[string]string{
		"meta": filepath.Join(dir, "filter.json"), "base": filepath.Join(dir, "base.npy"),
		"queries": filepath.Join(dir, "queries.npy"), "set": filepath.Join(dir, "set.npy"),
		fcPQ: filepath.Join(dir, "pq.faiss"), fcIVF: filepath.Join(dir, "ivfflat.faiss"),
	}
}

// filterSpecs are the filters measured: none, the range and the set.
func filterSpecs() []struct {
	name string
	f    kume.IDFilter
} {
	m := filterCase.meta
	return []struct {
		name string
		f    kume.IDFilter
	}{{"none", nil}, {"range", kume.IDRange(m.RangeLo, m.RangeHi)}, {"set", kume.IDSet(filterCase.set)}}
}

// buildFilterCase generates the data and builds the indexes; base is kept
// for the export.
func buildFilterCase(ctx context.Context) (base []float32, err error) {
	base, queries, err := Synth{N: fcN, NQ: fcNQ, D: fcD, Seed: 1}.Generate(ctx, nil)
	if err != nil {
		return nil, err
	}
	m := int(fcSelectivity * fcN)
	perm := rand.New(rand.NewPCG(5, 5)).Perm(fcN)
	set := make([]int64, m)
	for i := range set {
		set[i] = int64(perm[i])
	}
	slices.Sort(set)
	lo := int64(fcN/2 - m/2)
	filterCase.meta = filterMeta{N: fcN, NQ: fcNQ, D: fcD, K: fcK, NProbe: fcNProbe, KFactor: fcKFactor,
		RangeLo: lo, RangeHi: lo + int64(m)}
	filterCase.queries, filterCase.set = queries, set
	filterCase.indexes = map[string]kume.Index{}
	for _, desc := range []string{fcExact, fcIVF, fcPQ} {
		idx, err := factory.New(fcD, desc, metric.L2)
		if err != nil {
			return nil, err
		}
		if err := idx.Train(ctx, base); err != nil {
			return nil, err
		}
		if err := idx.Add(ctx, base); err != nil {
			return nil, err
		}
		filterCase.indexes[desc] = idx
	}
	// The radius: the median over 20 queries of the distance to the 100th
	// nearest neighbour.
	res, err := filterCase.indexes[fcExact].Search(ctx, queries[:20*fcD], 100, nil)
	if err != nil {
		return nil, err
	}
	var r100 []float32
	for i := 0; i < 20; i++ {
		r100 = append(r100, res.Distances[i*100+99])
	}
	slices.Sort(r100)
	filterCase.meta.Radius = r100[10]
	return base, nil
}

// loadFilterCase reads an exported folder: the same index files and
// filters FAISS searches.
func loadFilterCase(dir string) error {
	files := filterFiles(dir)
	raw, err := os.ReadFile(files["meta"])
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &filterCase.meta); err != nil {
		return err
	}
	q, err := npy.ReadFile(files["queries"], nil)
	if err != nil {
		return err
	}
	base, err := npy.ReadFile(files["base"], nil)
	if err != nil {
		return err
	}
	set, _, _, err := npy.ReadInt64(files["set"])
	if err != nil {
		return err
	}
	filterCase.queries, filterCase.set = q.Data, set
	filterCase.indexes = map[string]kume.Index{}
	for _, desc := range []string{fcIVF, fcPQ} {
		if filterCase.indexes[desc], err = faissio.ReadFile(files[desc]); err != nil {
			return err
		}
	}
	exact, err := factory.New(base.Cols, fcExact, metric.L2)
	if err != nil {
		return err
	}
	filterCase.indexes[fcExact] = exact
	return exact.Add(context.Background(), base.Data)
}

// getFilterCase builds the case once, or with KUME_FILTER_DIR set reads it
// from the folder TestFilterExport wrote.
func getFilterCase(tb testing.TB) {
	filterCase.once.Do(func() {
		if dir := os.Getenv("KUME_FILTER_DIR"); dir != "" {
			filterCase.err = loadFilterCase(dir)
		} else {
			_, filterCase.err = buildFilterCase(context.Background())
		}
	})
	if filterCase.err != nil {
		tb.Fatal(filterCase.err)
	}
}

// BenchmarkFilterCompare measures batches of 1,000 queries on
// IVF1024,PQ128x4fs,RFlat (k 10, nprobe 16, k_factor_rf 4), named
// BenchmarkFilterCompare/<filter> with filter none, range or set (10 % of
// the ids each), in queries per second.
func BenchmarkFilterCompare(b *testing.B) {
	getFilterCase(b)
	ctx := context.Background()
	idx := filterCase.indexes[fcPQ]
	for _, f := range filterSpecs() {
		b.Run(f.name, func(b *testing.B) {
			p := &kume.SearchParams{NProbe: filterCase.meta.NProbe, KFactor: float32(filterCase.meta.KFactor), Filter: f.f}
			var res kume.Results
			if err := idx.SearchInto(ctx, &res, filterCase.queries, filterCase.meta.K, p); err != nil {
				b.Fatal(err)
			}
			calls := 0
			for b.Loop() {
				if err := idx.SearchInto(ctx, &res, filterCase.queries, filterCase.meta.K, p); err != nil {
					b.Fatal(err)
				}
				calls++
			}
			b.ReportMetric(float64(calls*filterCase.meta.NQ)/b.Elapsed().Seconds(), "qps")
		})
	}
}

// BenchmarkRangeCompare measures range search of the 1,000 queries in one
// batch on Flat and IVF1024,Flat (nprobe 16), in queries per second.
func BenchmarkRangeCompare(b *testing.B) {
	getFilterCase(b)
	ctx := context.Background()
	for _, desc := range []string{fcExact, fcIVF} {
		b.Run(desc, func(b *testing.B) {
			rs := filterCase.indexes[desc].(kume.RangeSearcher)
			p := &kume.SearchParams{NProbe: filterCase.meta.NProbe}
			res, err := rs.RangeSearch(ctx, filterCase.queries, filterCase.meta.Radius, p)
			if err != nil {
				b.Fatal(err)
			}
			calls := 0
			for b.Loop() {
				if _, err := rs.RangeSearch(ctx, filterCase.queries, filterCase.meta.Radius, p); err != nil {
					b.Fatal(err)
				}
				calls++
			}
			b.ReportMetric(float64(calls*filterCase.meta.NQ)/b.Elapsed().Seconds(), "qps")
			b.ReportMetric(float64(len(res.IDs))/float64(filterCase.meta.NQ), "results/query")
		})
	}
}

// TestFilterExport writes the filter and range case (with
// KUME_FILTER_EXPORT=DIR) for bench/faiss_filter_bench.py: base.npy,
// queries.npy, set.npy (the set filter's ids), filter.json (filterMeta),
// the indexes in FAISS's format (pq.faiss, ivfflat.faiss), and kume's
// answers: kume_ids_<filter>.npy for the k-NN searches and
// kume_range_<Flat|IVF>_lims.npy / _ids.npy for the range searches.
func TestFilterExport(t *testing.T) {
	dir := os.Getenv("KUME_FILTER_EXPORT")
	if dir == "" {
		t.Skip("set KUME_FILTER_EXPORT=DIR to write the filter case for bench/faiss_filter_bench.py")
	}
	ctx := context.Background()
	base, err := buildFilterCase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := filterFiles(dir)
	m := filterCase.meta
	raw, _ := json.MarshalIndent(m, "", "  ")
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(os.WriteFile(files["meta"], append(raw, '\n'), 0o644))
	check(npy.WriteFile(files["base"], base, m.N, m.D))
	check(npy.WriteFile(files["queries"], filterCase.queries, m.NQ, m.D))
	check(npy.WriteInt64File(files["set"], filterCase.set, len(filterCase.set)))
	check(faissio.WriteFile(files[fcPQ], filterCase.indexes[fcPQ]))
	check(faissio.WriteFile(files[fcIVF], filterCase.indexes[fcIVF]))
	for _, f := range filterSpecs() {
		p := &kume.SearchParams{NProbe: m.NProbe, KFactor: float32(m.KFactor), Filter: f.f}
		res, err := filterCase.indexes[fcPQ].Search(ctx, filterCase.queries, m.K, p)
		check(err)
		check(npy.WriteInt64File(filepath.Join(dir, "kume_ids_"+f.name+".npy"), res.IDs, m.NQ, m.K))
	}
	for desc, stem := range map[string]string{fcExact: "Flat", fcIVF: "IVF"} {
		res, err := filterCase.indexes[desc].(kume.RangeSearcher).RangeSearch(ctx, filterCase.queries, m.Radius, &kume.SearchParams{NProbe: m.NProbe})
		check(err)
		lims := make([]int64, len(res.Lims))
		for i, v := range res.Lims {
			lims[i] = int64(v)
		}
		check(npy.WriteInt64File(filepath.Join(dir, "kume_range_"+stem+"_lims.npy"), lims, len(lims)))
		check(npy.WriteInt64File(filepath.Join(dir, "kume_range_"+stem+"_ids.npy"), res.IDs, len(res.IDs)))
	}
	t.Logf("wrote %s (radius %g)", dir, m.Radius)
}
