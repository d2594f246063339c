package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/kume-ann/kume"
)

// fullSizes selects the full data-set sizes for BenchmarkSearch: go test
// -bench . ./bench -full, or KUME_BENCH=full in the environment. By default
// the named data sets are cut to a tenth or less, so that a plain run takes a
// few minutes.
var fullSizes = flag.Bool("full", false, "run BenchmarkSearch on full-size data sets (also KUME_BENCH=full)")

func isFull() bool { return *fullSizes || os.Getenv("KUME_BENCH") == "full" }

// suite is a data set and the factory strings and parameters measured on it.
type suite struct {
	data     string
	settings []benchSetting
}

type benchSetting struct {
	factory string
	params  []string
}

var rfParams = []string{
	"nprobe=1,k_factor_rf=1", "nprobe=1,k_factor_rf=4",
	"nprobe=4,k_factor_rf=1", "nprobe=4,k_factor_rf=4",
	"nprobe=16,k_factor_rf=1", "nprobe=16,k_factor_rf=4",
}

// suites are the benchmarked settings: RVC's index and RVC's recommended
// fast-scan index on RVC-like data, and the settings of FAISS's figures in
// the project's reference on Fashion-MNIST.
func suites(full bool) []suite {
	nl := 256
	if full {
		nl = 1024
	}
	return []suite{
		{"synth256", []benchSetting{
			{fmt.Sprintf("IVF%d,Flat", nl), []string{"nprobe=1", "nprobe=4", "nprobe=16"}},
			{fmt.Sprintf("IVF%d,PQ128x4fs,RFlat", nl), rfParams},
		}},
		{"synth768", []benchSetting{
			{fmt.Sprintf("IVF%d,Flat", nl), []string{"nprobe=1", "nprobe=4", "nprobe=16"}},
			{fmt.Sprintf("IVF%d,PQ384x4fs,RFlat", nl), rfParams},
		}},
		{"fashion-mnist", []benchSetting{
			{"IVF256,Flat", []string{"nprobe=1", "nprobe=4", "nprobe=16"}},
			{"IVF256,PQ196x4fs,RFlat", []string{"nprobe=4,k_factor_rf=1", "nprobe=4,k_factor_rf=4", "nprobe=16,k_factor_rf=4"}},
		}},
		{"sift1m", []benchSetting{
			{"IVF1024,Flat", []string{"nprobe=1", "nprobe=4", "nprobe=16"}},
			{"IVF1024,PQ64x4fs,RFlat", rfParams},
		}},
	}
}

// Data sets and built indexes are kept across -count repetitions, so each
// index is trained once per process.
var cache struct {
	sync.Mutex
	data  map[string]*benchData
	built map[string]*Built
}

type benchData struct {
	ds  *Dataset
	gt  []int32
	gtk int
}

func loadBenchData(b *testing.B, spec string, full bool) *benchData {
	cache.Lock()
	defer cache.Unlock()
	if d, ok := cache.data[spec]; ok {
		return d
	}
	ctx := context.Background()
	ds, err := Load(ctx, spec, Options{Small: !full})
	if errors.Is(err, ErrNotInstalled) {
		b.Skipf("skipping %s: %v", spec, err)
	}
	if err != nil {
		b.Fatal(err)
	}
	gt, gtk, _, err := ds.GroundTruthFile(ctx, "", nil)
	if errors.Is(err, ErrNotCached) {
		b.Logf("%v", err)
	} else if err != nil {
		b.Fatal(err)
	}
	d := &benchData{ds, gt, gtk}
	if cache.data == nil {
		cache.data = map[string]*benchData{}
		cache.built = map[string]*Built{}
	}
	cache.data[spec] = d
	return d
}

// BenchmarkSearch measures recall@1, recall@10 and queries per second of
// whole-batch searches (k = 10), named
// BenchmarkSearch/<data set>/<factory string>/<parameters>. Each index is
// trained and filled once, outside the timer; data sets that are not
// installed are skipped with a message.
func BenchmarkSearch(b *testing.B) {
	full := isFull()
	ctx := context.Background()
	for _, s := range suites(full) {
		b.Run(s.data, func(b *testing.B) {
			d := loadBenchData(b, s.data, full)
			r := &Runner{Data: d.ds, GT: d.gt, GTK: d.gtk, K: 10}
			for _, set := range s.settings {
				b.Run(set.factory, func(b *testing.B) {
					built := cachedIndex(b, s.data+"/"+set.factory, set.factory, func() (*Built, error) {
						return r.Build(ctx, set.factory)
					})
					for _, params := range set.params {
						b.Run(params, func(b *testing.B) {
							benchSearch(b, r, built, params)
						})
					}
				})
			}
		})
	}
}

// cachedIndex returns the index cached under key, made by build the first
// time; one kume cannot build skips the benchmark.
func cachedIndex(b *testing.B, key, factoryString string, build func() (*Built, error)) *Built {
	cache.Lock()
	built := cache.built[key]
	cache.Unlock()
	if built != nil {
		return built
	}
	built, err := build()
	if errors.Is(err, kume.ErrUnsupported) {
		b.Skipf("skipping %s: %v", factoryString, err)
	}
	if err != nil {
		b.Fatal(err)
	}
	cache.Lock()
	cache.built[key] = built
	cache.Unlock()
	return built
}

func benchSearch(b *testing.B, r *Runner, built *Built, params string) {
	ctx := context.Background()
	p, err := kume.ParseSearchParams(params)
	if err != nil {
		b.Fatal(err)
	}
	ds := r.Data
	var res kume.Results
	if err := built.Index.SearchInto(ctx, &res, ds.Queries, r.K, &p); err != nil {
		b.Fatal(err)
	}
	r1 := Recall(res.IDs, r.K, r.GT, r.GTK, 1)
	r10 := Recall(res.IDs, r.K, r.GT, r.GTK, 10)
	batches := 0
	for b.Loop() {
		if err := built.Index.SearchInto(ctx, &res, ds.Queries, r.K, &p); err != nil {
			b.Fatal(err)
		}
		batches++
	}
	b.ReportMetric(float64(batches*ds.NQ())/b.Elapsed().Seconds(), "qps")
	b.ReportMetric(r1, "recall@1")
	b.ReportMetric(r10, "recall@10")
}
