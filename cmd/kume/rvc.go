package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/kume-ann/kume/bench"
	"github.com/kume-ann/kume/npy"
	"github.com/kume-ann/kume/rvc"
)

// rvcCommands are the subcommands of "kume rvc".
var rvcCommands = []command{
	{"train-index", "build a voice's feature index as RVC's train_index does (writes RVC's two files)", runRVCTrainIndex},
	{"blend", "blend feature frames with their nearest indexed frames (RVC's retrieval)", runRVCBlend},
	{"info", "describe an RVC experiment folder: feature files and indexes", runRVCInfo},
	{"features", "write a data set's base vectors as an RVC feature folder (for timing train-index)", runRVCFeatures},
}

func runRVC(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		w := e.stdout
		if len(args) == 0 {
			w = e.stderr
		}
		fmt.Fprintln(w, "usage: kume rvc <command> [flags] [arguments]")
		fmt.Fprintln(w)
		for _, c := range rvcCommands {
			fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
		}
		if len(args) == 0 {
			return usageError("want a command: train-index, blend, info or features")
		}
		return nil
	}
	for _, c := range rvcCommands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	return usageError("unknown rvc command %q (want train-index, blend, info or features)", args[0])
}

// stageReporter returns a progress function: the terminal's bar when there
// is one, otherwise a line per stage every few seconds and at its end.
func stageReporter(e *env, every time.Duration) func(stage string, done, total int64) {
	if e.progress != nil && e.progress.on {
		return e.progress.report
	}
	var mu sync.Mutex
	var cur string
	var last time.Time
	var begun time.Time
	return func(stage string, done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if stage != cur {
			cur, last, begun = stage, now, now
		} else if done < total && now.Sub(last) < every {
			return
		}
		if done < total && done == 0 {
			return
		}
		last = now
		pct := 100.0
		if total > 0 {
			pct = 100 * float64(done) / float64(total)
		}
		fmt.Fprintf(e.stderr, "%s: %d/%d (%.0f%%) %.1fs\n", stage, done, total, pct, now.Sub(begun).Seconds())
	}
}

func runRVCTrainIndex(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rvc train-index", "[-layout rvc|applio] [-version v1|v2] [-name NAME] [-seed S] [-total-fea] [-threads N] [-cpuprofile FILE] EXPDIR")
	layout := fs.String("layout", "", "folder layout: rvc (3_feature256 or 3_feature768; writes trained_… and added_….index) or applio (extracted; writes NAME.index); default: the feature folder present")
	version := fs.String("version", "", "RVC model version: v1 (3_feature256, 256-d) or v2 (3_feature768, 768-d); default: the feature folder present (applio: the features' width)")
	name := fs.String("name", "", "experiment (Applio: model) name in the file names (default: EXPDIR's base name)")
	seed := fs.Uint64("seed", rvc.DefaultSeed, "seed of the shuffle, the k-means reduction and the coarse k-means (RVC's shuffle is unseeded)")
	totalFea := fs.Bool("total-fea", false, "also write total_fea.npy, the rows the index is trained on (RVC's older flow)")
	threads := fs.Int("threads", 0, "cores to use (default: all)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the training to this file (for go tool pprof)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("want one experiment folder; got %d arguments", fs.NArg())
	}
	if *version != "" && *version != "v1" && *version != "v2" {
		return usageError("-version %q: want v1 or v2", *version)
	}
	if *layout != "" && *layout != rvc.LayoutRVC && *layout != rvc.LayoutApplio {
		return usageError("-layout %q: want rvc or applio", *layout)
	}
	if *seed == 0 {
		return usageError("-seed 0: want a positive seed")
	}
	if *threads < 0 {
		return usageError("-threads %d: want a positive number", *threads)
	}
	if *threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*threads))
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	res, err := rvc.TrainIndex(ctx, fs.Arg(0), &rvc.TrainOptions{
		Layout:       *layout,
		Version:      *version,
		Name:         *name,
		Seed:         *seed,
		SaveTotalFea: *totalFea,
		Progress:     stageReporter(e, 5*time.Second),
	})
	if err != nil {
		return err
	}
	total := time.Since(start)
	e.progress.done()
	w := e.stdout
	folder, _, _ := rvc.FeatureFolder(res.Version)
	if res.Layout == rvc.LayoutApplio {
		folder = rvc.ApplioFolder
	}
	fmt.Fprintf(w, "features  %s: %d files, %d rows of %d-d (%s, %s layout)\n", folder, res.Files, res.Rows, res.Dim, res.Version, res.Layout)
	if res.Trained != res.Rows {
		fmt.Fprintf(w, "rows      %d before reduction, %d after (%d mini-batch k-means steps)\n", res.Rows, res.Trained, res.KMeansSteps)
	} else {
		fmt.Fprintf(w, "rows      %d before reduction, %d after (no reduction: at most %d rows)\n", res.Rows, res.Trained, rvc.ReduceAbove)
	}
	fmt.Fprintf(w, "n_ivf     %d (IVF%d,Flat, nprobe 1)\n", res.NList, res.NList)
	if res.TrainedPath != "" {
		fmt.Fprintf(w, "wrote     %s\n", res.TrainedPath)
	}
	fmt.Fprintf(w, "wrote     %s\n", res.AddedPath)
	if res.TotalFeaPath != "" {
		fmt.Fprintf(w, "wrote     %s\n", res.TotalFeaPath)
	}
	fmt.Fprintf(w, "time      %.2fs: read %.2fs, reduce %.2fs, train %.2fs, add %.2fs (%d threads)\n",
		total.Seconds(), res.Read.Seconds(), res.Reduce.Seconds(), res.Train.Seconds(), res.Add.Seconds(), runtime.GOMAXPROCS(0))
	return nil
}

func runRVCBlend(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rvc blend", "-index FILE [-rate 0.75] [-k 8] [-nprobe N] frames.npy -o out.npy")
	indexPath := fs.String("index", "", "index file (RVC's added_….index, or one kume wrote)")
	rate := fs.Float64("rate", 0.75, "index rate: the share of the retrieved frames in the output, 0..1")
	k := fs.Int("k", rvc.DefaultK, "neighbours blended per frame")
	nprobe := fs.Int("nprobe", 0, "lists searched per frame (default: the index's, 1 in RVC's files)")
	out := fs.String("o", "", "output .npy file (float32, the frames' shape)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *indexPath == "" {
		return usageError("-index FILE is required")
	}
	if *out == "" {
		return usageError("-o FILE is required")
	}
	if fs.NArg() != 1 {
		return usageError("want one .npy file of frames; got %d arguments", fs.NArg())
	}
	if !(*rate >= 0 && *rate <= 1) {
		return usageError("-rate %v: want a number in [0, 1]", *rate)
	}
	if *k < 1 {
		return usageError("-k %d: want at least 1", *k)
	}
	if *nprobe < 0 {
		return usageError("-nprobe %d: want a positive number", *nprobe)
	}
	r, err := rvc.OpenRetriever(*indexPath, &rvc.RetrieverOptions{K: *k, NProbe: *nprobe})
	if err != nil {
		return err
	}
	frames, err := npy.ReadFile(fs.Arg(0), nil)
	if err != nil {
		return err
	}
	if frames.Cols != r.Dim() {
		return fmt.Errorf("%s: %d-dimensional frames, but %s holds %d-dimensional ones", fs.Arg(0), frames.Cols, *indexPath, r.Dim())
	}
	start := time.Now()
	blended, err := r.BlendContext(ctx, nil, frames.Data, float32(*rate))
	if err != nil {
		return err
	}
	took := time.Since(start)
	if err := npy.WriteFile(*out, blended, frames.Rows, frames.Cols); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "blended %d frames of %d-d with %d neighbours each from %d stored (rate %g) in %.1f ms (%.1f µs per frame); wrote %s\n",
		frames.Rows, frames.Cols, r.K(), r.Len(), *rate, float64(took.Microseconds())/1000, float64(took.Nanoseconds())/1000/float64(max(frames.Rows, 1)), *out)
	return nil
}

func runRVCInfo(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rvc info", "EXPDIR")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("want one experiment folder; got %d arguments", fs.NArg())
	}
	info, err := rvc.Inspect(fs.Arg(0))
	if err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintf(w, "folder    %s\n", info.Dir)
	if len(info.Features) == 0 {
		fmt.Fprintln(w, "features  none (no 3_feature256 or 3_feature768 folder, nor Applio's extracted)")
	}
	for _, f := range info.Features {
		what := f.Version
		if f.Layout == rvc.LayoutApplio {
			what = strings.TrimSuffix("Applio "+f.Version, " ")
		}
		fmt.Fprintf(w, "features  %s (%s): %d files, %d rows", f.Folder, what, f.Files, f.Rows)
		if f.Dim > 0 {
			fmt.Fprintf(w, " of %d-d", f.Dim)
		}
		if f.Rows > 0 {
			n := f.Rows
			if n > rvc.ReduceAbove {
				fmt.Fprintf(w, "; train-index reduces them to %d centres", rvc.ReduceTo)
				n = rvc.ReduceTo
			}
			fmt.Fprintf(w, "; n_ivf %d", rvc.NList(n))
		}
		fmt.Fprintln(w)
		for _, p := range f.Problems {
			fmt.Fprintf(w, "  problem %s\n", p)
		}
	}
	for _, name := range info.Indexes {
		path := filepath.Join(info.Dir, name)
		idx, err := loadIndex(path)
		if err != nil {
			fmt.Fprintf(w, "index     %s: unreadable: %v\n", name, err)
			continue
		}
		in := bench.Describe(idx)
		size := int64(0)
		if st, err := os.Stat(path); err == nil {
			size = st.Size()
		}
		fmt.Fprintf(w, "index     %s: %s, %d vectors of %d-d", name, in.Type, in.N, in.D)
		if in.NList > 0 {
			fmt.Fprintf(w, ", %d lists, nprobe %d", in.NList, in.NProbe)
		}
		fmt.Fprintf(w, " (%s)\n", humanBytes(size))
	}
	if len(info.Indexes) == 0 {
		fmt.Fprintln(w, "indexes   none")
	}
	return nil
}

// runRVCFeatures writes the base vectors of a data set (as for kume bench
// -data; generated "synth256"/"synth768" sets are shaped like HuBERT
// frames) into EXPDIR/3_feature256 or EXPDIR/3_feature768, as files of
// equal rows (the last one shorter) named as RVC names them, i_j.npy.
func runRVCFeatures(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rvc features", "-data SPEC [-files N] [-queries FILE] EXPDIR")
	data := fs.String("data", "", "data set (as for kume bench -data), 256-d (v1) or 768-d (v2), e.g. synth768:n=50000")
	files := fs.Int("files", 100, "number of .npy files to split the rows into")
	queries := fs.String("queries", "", "also write the data set's queries to this .npy file (for rvc/testdata/recall.py)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *data == "" {
		return usageError("-data SPEC is required")
	}
	if fs.NArg() != 1 {
		return usageError("want one experiment folder; got %d arguments", fs.NArg())
	}
	if *files < 1 {
		return usageError("-files %d: want at least 1", *files)
	}
	ds, err := bench.Load(ctx, *data, bench.Options{Progress: e.progress.report})
	if err != nil {
		return err
	}
	version := ""
	for _, v := range []string{"v1", "v2"} {
		if _, dim, _ := rvc.FeatureFolder(v); dim == ds.D {
			version = v
		}
	}
	if version == "" {
		return fmt.Errorf("%s: %d-d vectors; RVC's features are 256-d (v1) or 768-d (v2)", ds.Name, ds.D)
	}
	folder, _, _ := rvc.FeatureFolder(version)
	dir := filepath.Join(fs.Arg(0), folder)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	n := ds.N()
	per := (n + *files - 1) / *files
	written := 0
	for i, lo := 0, 0; lo < n; i, lo = i+1, lo+per {
		hi := min(lo+per, n)
		path := filepath.Join(dir, fmt.Sprintf("%d_%d.npy", i/10, i%10))
		if err := npy.WriteFile(path, ds.Base[lo*ds.D:hi*ds.D], hi-lo, ds.D); err != nil {
			return err
		}
		written++
	}
	e.progress.done()
	fmt.Fprintf(e.stdout, "%s: %d rows of %d-d (%s) in %d files of %d rows; wrote %s\n", ds.Name, n, ds.D, version, written, per, dir)
	if *queries != "" {
		if err := npy.WriteFile(*queries, ds.Queries, ds.NQ(), ds.D); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d queries; wrote %s\n", ds.NQ(), *queries)
	}
	return nil
}
