package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/bench"
	"github.com/kume-ann/kume/factory"
)

// listFlag collects a repeatable string flag; each use may also hold several
// values separated by ';'.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ";") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ";") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// defaultData is what `kume bench` runs on with no -data: RVC-sized
// generated data.
const defaultData = "synth256"

func runBench(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench", "[flags]")
	data := fs.String("data", "", "data set: "+strings.Join(bench.Names, ", ")+" (settings after ':', as synth256:n=50000,nq=500), or base,queries files (.npy, .fvecs, .bvecs, or a folder of .npy)\n(default "+defaultData+", or the data set of the -compare file)")
	var factories listFlag
	fs.Var(&factories, "factory", "factory string to measure; repeat the flag or separate with ';' (default: IVF{n},Flat and IVF{n},PQ{d/2}x4fs,RFlat)")
	params := fs.String("params", "", `search parameter grid, as "nprobe=1,4,16 k_factor_rf=1,4" (every combination; ';' separates grids)`)
	threads := fs.Int("threads", 0, "threads searching and building (default: all cores)")
	k := fs.Int("k", 10, "results per query")
	jsonOut := fs.Bool("json", false, "print one JSON object per setting instead of a table")
	plotPath := fs.String("plot", "", "draw recall@10 against queries per second into this file (.svg, .png or .pdf)")
	compare := fs.String("compare", "", "JSON lines of FAISS's results (from bench/faiss_bench.py) to show side by side; its settings are measured unless -factory is given")
	cache := fs.String("cache", "", "folder for cached ground truth of generated and read-only data (default "+bench.DefaultCacheDir()+")")
	minTime := fs.Duration("time", 500*time.Millisecond, "how long to time each setting's searches")
	small := fs.Bool("small", false, "use the small sizes of named data sets (as go test -bench does)")
	load := fs.String("load", "", "folder of FAISS index files (bench/faiss_bench.py --save) to search instead of building each factory's index")
	trainRows := fs.Int("train", 0, "train on the first N base vectors only (default: all)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q (data sets are given with -data)", fs.Arg(0))
	}
	if *threads < 0 {
		return usageError("-threads %d: want 0 (all cores) or more", *threads)
	}
	if *trainRows < 0 {
		return usageError("-train %d: want 0 (all) or more", *trainRows)
	}
	if *k < 1 || *k > bench.GTK {
		return usageError("-k %d: want 1..%d", *k, bench.GTK)
	}
	if *minTime <= 0 {
		return usageError("-time %v: want a positive duration", *minTime)
	}
	grids, err := parseGrid(*params)
	if err != nil {
		return usageError("-params %q: %v", *params, err)
	}
	// What can be checked without the data is checked before it is loaded.
	if *plotPath != "" {
		if err := checkPlotPath(*plotPath); err != nil {
			return usageError("%v", err)
		}
	}
	if len(factories) > 0 {
		if factories, err = precheckFactories(e, factories); err != nil {
			return err
		}
	}
	var theirs []bench.Result
	if *compare != "" {
		if theirs, err = readResults(*compare); err != nil {
			return err
		}
	}
	spec := *data
	if spec == "" {
		spec = defaultData
		if len(theirs) > 0 && theirs[0].Dataset != "" {
			spec = theirs[0].Dataset
		}
	}
	if *threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*threads))
	}

	ds, err := bench.Load(ctx, spec, bench.Options{Small: *small, Progress: e.progress.report})
	if err != nil {
		return err
	}
	gt, gtk, gtPath, err := ds.GroundTruthFile(ctx, *cache, e.progress.report)
	if errors.Is(err, bench.ErrNotCached) {
		fmt.Fprintf(e.stderr, "kume bench: warning: %v\n", err)
	} else if err != nil {
		return err
	}

	// What to measure: -factory with the -params grid, else the settings of
	// the -compare file, else the defaults.
	var todo []setting
	switch {
	case len(factories) > 0:
		for _, f := range factories {
			todo = append(todo, setting{factory: f})
		}
	case len(theirs) > 0:
		todo = settingsOf(theirs)
	default:
		builtin := isBuiltin(spec)
		todo = defaultSettings(ds.N(), ds.D, builtin)
		if n := rvcNList(ds.N()); builtin && n > builtinMaxNList {
			fmt.Fprintf(e.stderr, "kume bench: RVC's rule gives %d lists for %d vectors (as kume build would use); the built-in data sets use at most %d\n", n, ds.N(), builtinMaxNList)
		}
	}
	for i := range todo {
		if len(grids) > 0 || todo[i].params == nil {
			sp, err := factory.Parse(ds.D, todo[i].factory)
			if err != nil && !errors.Is(err, kume.ErrUnsupported) {
				return usageError("-factory %q: %v", todo[i].factory, err)
			}
			todo[i].params = expand(grids, sp)
		}
	}

	out := newBenchOutput(e, *jsonOut, todo)
	run := benchRun{
		Data: ds.Name, N: ds.N(), NQ: ds.NQ(), D: ds.D, Metric: ds.Metric.String(), K: *k,
		Threads: runtime.GOMAXPROCS(0), SIMD: simdLevel(), Machine: machineName(),
	}
	if !*jsonOut {
		where := gtPath
		if where == "" {
			where = "not cached"
		}
		fmt.Fprintf(e.stdout, "%s: %d base, %d queries, %d-d, %v; k=%d\n%s; %s; SIMD %s; ground truth %s\n\n",
			ds.Name, ds.N(), ds.NQ(), ds.D, ds.Metric, *k, run.Machine, plural(run.Threads, "thread"), run.SIMD, where)
		out.header()
	}
	r := &bench.Runner{Data: ds, GT: gt, GTK: gtk, K: *k, MinTime: *minTime, Progress: e.progress.report, TrainRows: *trainRows}
	var ours []bench.Result
	var skipped []string
	for _, s := range todo {
		var built *bench.Built
		if *load != "" {
			built, err = r.Load(filepath.Join(*load, bench.IndexFileName(s.factory)), s.factory)
		} else {
			built, err = r.Build(ctx, s.factory)
		}
		if errors.Is(err, kume.ErrUnsupported) {
			skipped = append(skipped, fmt.Sprintf("%s: %v", s.factory, err))
			e.progress.done()
			fmt.Fprintf(e.stderr, "kume bench: skipping %s: %v\n", s.factory, err)
			continue
		}
		if err != nil {
			return err
		}
		for _, p := range s.params {
			res, err := r.Measure(ctx, built, p)
			if err != nil {
				return err
			}
			e.progress.done()
			ours = append(ours, res)
			if err := out.row(res); err != nil {
				return err
			}
		}
	}
	if len(ours) == 0 {
		return fmt.Errorf("no factory string could be built (%s)", strings.Join(skipped, "; "))
	}
	if len(theirs) > 0 && !*jsonOut {
		fmt.Fprintln(e.stdout)
		printComparison(e.stdout, ours, theirs)
	}
	if *plotPath != "" {
		if err := plotCurves(*plotPath, run, ours, theirs); err != nil {
			return err
		}
		if !*jsonOut {
			fmt.Fprintf(e.stdout, "\nplot: %s\n", *plotPath)
		}
	}
	return nil
}

// benchOutput prints results as they come: a fixed-width table or JSON
// lines.
type benchOutput struct {
	e        *env
	json     bool
	fw, pw   int
	jsonEnc  *json.Encoder
	printedH bool
}

func newBenchOutput(e *env, jsonOut bool, todo []setting) *benchOutput {
	o := &benchOutput{e: e, json: jsonOut, fw: len("factory"), pw: len("params")}
	for _, s := range todo {
		o.fw = max(o.fw, len(s.factory))
		for _, p := range s.params {
			o.pw = max(o.pw, len(p))
		}
	}
	o.jsonEnc = json.NewEncoder(e.stdout)
	return o
}

func (o *benchOutput) header() {
	fmt.Fprintf(o.e.stdout, "%-*s  %-*s  %8s  %9s  %10s  %8s  %9s\n", o.fw, "factory", o.pw, "params", "recall@1", "recall@10", "QPS", "build s", "bytes/vec")
}

func (o *benchOutput) row(r bench.Result) error {
	if o.json {
		return o.jsonEnc.Encode(r)
	}
	params := r.Params
	if params == "" {
		params = "(defaults)"
	}
	fmt.Fprintf(o.e.stdout, "%-*s  %-*s  %8.4f  %9.4f  %10.0f  %8.2f  %9s\n", o.fw, r.Factory, o.pw, params, r.Recall1, r.Recall10, r.QPS, r.BuildS, bytesString(r.BytesPerVector))
	return nil
}

func bytesString(b float64) string {
	if b == 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f", b)
}

// benchRun is what a bench run measured on: it heads the table and captions
// the plot.
type benchRun struct {
	Data          string
	N, NQ, D, K   int
	Metric        string
	Threads       int
	SIMD, Machine string
}

// precheckFactories checks the -factory strings' grammar before the data is
// loaded (with a stand-in dimension that their PQ{M}s divide): a malformed
// string is a usage error; one naming pieces kume does not have is reported
// and dropped, and an error returned when none is left.
func precheckFactories(e *env, factories []string) ([]string, error) {
	var keep, skipped []string
	for _, f := range factories {
		d := probeDim(f)
		if d == 0 {
			keep = append(keep, f) // checked once the data is loaded
			continue
		}
		_, err := factory.Parse(d, f)
		switch {
		case errors.Is(err, kume.ErrUnsupported):
			fmt.Fprintf(e.stderr, "kume bench: skipping %s: %v\n", f, err)
			skipped = append(skipped, f)
		case err != nil:
			return nil, usageError("-factory %q: %v", f, err)
		default:
			keep = append(keep, f)
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("no -factory string can be built (unsupported: %s)", strings.Join(skipped, "; "))
	}
	return keep, nil
}
