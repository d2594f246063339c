package rvc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/faissio"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/kmeans"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/npy"
)

// RVC's constants.
const (
	// ReduceAbove: training sets of more rows are reduced to ReduceTo
	// mini-batch k-means centres.
	ReduceAbove = 200_000
	// ReduceTo is the number of centres a large training set is reduced to.
	ReduceTo = 10_000
	// AddBatch is the number of rows added to the index per call.
	AddBatch = 8192
	// DefaultSeed seeds the shuffle, the reduction and the k-means when no
	// seed is given. (RVC's shuffle is unseeded, so its indexes differ run
	// to run.)
	DefaultSeed = 1234
)

// Versions: RVC's v1 models use 256-d features in 3_feature256, v2 models
// 768-d features in 3_feature768.
var versions = []struct {
	name, folder string
	dim          int
}{
	{"v1", "3_feature256", 256},
	{"v2", "3_feature768", 768},
}

// FeatureFolder returns the feature folder name and dimension of an RVC
// model version ("v1" or "v2").
func FeatureFolder(version string) (folder string, dim int, err error) {
	for _, v := range versions {
		if v.name == version {
			return v.folder, v.dim, nil
		}
	}
	return "", 0, fmt.Errorf("rvc: %w: version %q (want v1 or v2)", kume.ErrInvalidArgument, version)
}

// Layouts of an experiment folder.
const (
	// LayoutRVC: features in 3_feature256 (v1) or 3_feature768 (v2), and
	// RVC's two index files, trained_IVF…_{name}_{version}.index and
	// added_IVF…_{name}_{version}.index.
	LayoutRVC = "rvc"
	// LayoutApplio: features in extracted (their width gives the version:
	// 256 is v1, 768 v2), and Applio's one file, the filled index
	// {name}.index.
	LayoutApplio = "applio"
)

// ApplioFolder is the feature folder of Applio's layout.
const ApplioFolder = "extracted"

// DetectVersion returns the version whose feature folder expDir holds (in
// RVC's layout). It fails when there is none, or both.
func DetectVersion(expDir string) (string, error) {
	st, err := os.Stat(expDir)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s: %w: not a folder", expDir, kume.ErrInvalidArgument)
	}
	var found []string
	for _, v := range versions {
		if isDir(filepath.Join(expDir, v.folder)) {
			found = append(found, v.name)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("%s: %w: no 3_feature256 (v1) or 3_feature768 (v2) folder", expDir, kume.ErrInvalidArgument)
	}
	return "", fmt.Errorf("%s: %w: holds both 3_feature256 and 3_feature768; choose the version", expDir, kume.ErrInvalidArgument)
}

// DetectLayout returns LayoutRVC when expDir holds one of RVC's feature
// folders (3_feature256, 3_feature768), LayoutApplio when it holds
// Applio's (extracted) and none of RVC's, and an error when it holds
// neither.
func DetectLayout(expDir string) (string, error) {
	st, err := os.Stat(expDir)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s: %w: not a folder", expDir, kume.ErrInvalidArgument)
	}
	for _, v := range versions {
		if isDir(filepath.Join(expDir, v.folder)) {
			return LayoutRVC, nil
		}
	}
	if isDir(filepath.Join(expDir, ApplioFolder)) {
		return LayoutApplio, nil
	}
	return "", fmt.Errorf("%s: %w: no 3_feature256 (v1) or 3_feature768 (v2) folder (RVC), nor extracted (Applio)", expDir, kume.ErrInvalidArgument)
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// versionOfDim returns the RVC version whose features are dim wide.
func versionOfDim(dim int) (string, bool) {
	for _, v := range versions {
		if v.dim == dim {
			return v.name, true
		}
	}
	return "", false
}

// NList is RVC's number of inverted lists for n training rows:
// max(1, min(int(16·√n), n/39)).
func NList(n int) int {
	return max(1, min(int(16*math.Sqrt(float64(n))), n/39))
}

// IndexNames returns the file names RVC gives the trained (empty) and the
// added (filled) index of experiment name with nlist lists. (Applio writes
// only the filled index, as ApplioIndexName.)
func IndexNames(nlist int, name, version string) (trained, added string) {
	stem := fmt.Sprintf("IVF%d_Flat_nprobe_1_%s_%s.index", nlist, name, version)
	return "trained_" + stem, "added_" + stem
}

// ApplioIndexName returns the file name Applio gives the filled index of
// model name: {name}.index.
func ApplioIndexName(name string) string { return name + ".index" }

// TrainOptions configures TrainIndex. The zero value reproduces RVC.
type TrainOptions struct {
	// Layout is LayoutRVC or LayoutApplio; empty: the one whose feature
	// folder the experiment folder holds (see DetectLayout).
	Layout string
	// Version is "v1" or "v2"; empty: in RVC's layout, the version whose
	// feature folder the experiment folder holds; in Applio's, the one the
	// features' width gives.
	Version string
	// Name is the experiment (Applio: model) name in the file names;
	// empty: the base name of the experiment folder.
	Name string
	// Seed seeds the shuffle, the reduction and the coarse k-means
	// (default DefaultSeed).
	Seed uint64
	// SaveTotalFea also writes the rows the index was trained on (after
	// the shuffle and the reduction) to total_fea.npy, as RVC's older
	// flow does.
	SaveTotalFea bool
	// ReduceAbove and ReduceTo override RVC's reduction rule: more than
	// ReduceAbove rows are reduced to ReduceTo centres (defaults 200,000
	// and 10,000).
	ReduceAbove, ReduceTo int
	// BatchSize is the mini-batch size of the reduction (default
	// 256 × the number of CPUs, RVC's).
	BatchSize int
	// Progress, when set, is told of each stage's progress: reading
	// (files), reducing (k-means steps), training, adding (rows).
	Progress func(stage string, done, total int64)
	// FileProgress, when set, is told of each feature file read.
	FileProgress func(npy.FileProgress)
}

// TrainResult describes a finished TrainIndex.
type TrainResult struct {
	Layout, Version, Name string
	// Dim is the feature dimension; Files the number of feature files.
	Dim, Files int
	// Rows is the number of feature rows read; Trained the number the
	// index was trained on and holds (ReduceTo when Rows > ReduceAbove).
	Rows, Trained int
	// NList is the number of inverted lists.
	NList int
	// KMeansSteps is the number of mini-batch steps of the reduction (0
	// without one).
	KMeansSteps int
	// TrainedPath and AddedPath are the index files written (in Applio's
	// layout only AddedPath, {name}.index; TrainedPath is empty);
	// TotalFeaPath is total_fea.npy when it was asked for.
	TrainedPath, AddedPath, TotalFeaPath string
	// Index is the filled index.
	Index kume.Index
	// Time spent reading, reducing, training and adding (with writing).
	Read, Reduce, Train, Add time.Duration
}

// TrainIndex builds the feature index of an RVC experiment folder, as RVC's
// train_index does: it reads every .npy of the version's feature folder
// (3_feature256 or 3_feature768) in sorted name order, stacks and shuffles
// the rows, reduces more than ReduceAbove rows to ReduceTo mini-batch
// k-means centres (scikit-learn's MiniBatchKMeans with init="random", as RVC
// calls it), trains IVF{NList},Flat with nprobe 1 on all rows, writes the
// empty index to trained_IVF{n}_Flat_nprobe_1_{name}_{version}.index, adds
// the rows in batches of AddBatch and writes added_….index, both in
// FAISS's format, into expDir. In Applio's layout (opts.Layout, or an
// experiment folder with only an extracted folder) the features are read
// from extracted, the version follows from their width, and the one file
// written is {name}.index, the filled index, as Applio's extract_index does.
//
// Bad folders are errors that say what is wrong: a missing folder
// (os.ErrNotExist), no feature folder or no .npy files
// (kume.ErrInvalidArgument), files of different widths or of the wrong
// width for the version (kume.ErrDimension), non-float or corrupt files
// (npy.ErrFormat, kume.ErrUnsupported), NaN or infinite values
// (kume.ErrNonFinite).
func TrainIndex(ctx context.Context, expDir string, opts *TrainOptions) (*TrainResult, error) {
	var o TrainOptions
	if opts != nil {
		o = *opts
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.ReduceAbove <= 0 {
		o.ReduceAbove = ReduceAbove
	}
	if o.ReduceTo <= 0 {
		o.ReduceTo = ReduceTo
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256 * runtime.NumCPU()
	}
	progress := func(stage string, done, total int64) {
		if o.Progress != nil {
			o.Progress(stage, done, total)
		}
	}
	if st, err := os.Stat(expDir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s: %w: not a folder", expDir, kume.ErrInvalidArgument)
	}
	if o.Layout == "" {
		l, err := DetectLayout(expDir)
		if err != nil {
			return nil, err
		}
		o.Layout = l
	}
	var folder string
	dim := 0
	switch o.Layout {
	case LayoutRVC:
		if o.Version == "" {
			v, err := DetectVersion(expDir)
			if err != nil {
				return nil, err
			}
			o.Version = v
		}
		f, d, err := FeatureFolder(o.Version)
		if err != nil {
			return nil, err
		}
		folder, dim = f, d
	case LayoutApplio:
		if o.Version != "" {
			_, d, err := FeatureFolder(o.Version)
			if err != nil {
				return nil, err
			}
			dim = d
		}
		folder = ApplioFolder
	default:
		return nil, fmt.Errorf("rvc: %w: layout %q (want %s or %s)", kume.ErrInvalidArgument, o.Layout, LayoutRVC, LayoutApplio)
	}
	if o.Name == "" {
		abs, err := filepath.Abs(expDir)
		if err != nil {
			return nil, err
		}
		o.Name = filepath.Base(abs)
	}
	if strings.ContainsAny(o.Name, `/\`) || o.Name == "" {
		return nil, fmt.Errorf("rvc: %w: experiment name %q", kume.ErrInvalidArgument, o.Name)
	}
	res := &TrainResult{Layout: o.Layout, Name: o.Name}

	// Read.
	start := time.Now()
	featDir := filepath.Join(expDir, folder)
	if _, err := os.Stat(featDir); errors.Is(err, os.ErrNotExist) {
		if o.Layout == LayoutApplio {
			return nil, fmt.Errorf("%s: %w: no %s folder (Applio's layout)", expDir, err, folder)
		}
		return nil, fmt.Errorf("%s: %w: no %s folder for an RVC %s model", expDir, err, folder, o.Version)
	}
	m, files, err := npy.ReadDir(featDir, &npy.DirOptions{
		Options:      npy.Options{Progress: func(done, total int64) { progress("reading "+folder, done, total) }},
		FileProgress: o.FileProgress,
	})
	if err != nil {
		return nil, err
	}
	switch {
	case dim == 0:
		// Applio's layout without a version: the width says which.
		v, ok := versionOfDim(m.Cols)
		if !ok {
			return nil, fmt.Errorf("%s: %w: %d-dimensional features (%s); RVC's models use 256 (v1) or 768 (v2)", featDir, kume.ErrDimension, m.Cols, files[0].Name)
		}
		o.Version, dim = v, m.Cols
	case m.Cols != dim:
		return nil, fmt.Errorf("%s: %w: %d-dimensional features (%s), but an RVC %s model has %d-dimensional ones", featDir, kume.ErrDimension, m.Cols, files[0].Name, o.Version, dim)
	}
	res.Version = o.Version
	if m.Rows == 0 {
		return nil, fmt.Errorf("%s: %w: the feature files hold no rows", featDir, kume.ErrInvalidArgument)
	}
	res.Dim, res.Files, res.Rows = dim, len(files), m.Rows
	rng := rand.New(rand.NewPCG(o.Seed, 0x727663))
	// RVC shuffles the rows. Neither the reduction nor the training
	// depends on the order of their input (both sample it at random), so
	// the rows are not moved: the shuffle is the order the rows are added
	// in, which gives them their ids, as RVC's shuffled matrix does.
	x, order := m.Data, rng.Perm(m.Rows)
	m = nil
	res.Read = time.Since(start)

	// Reduce.
	start = time.Now()
	if res.Rows > o.ReduceAbove {
		stage := fmt.Sprintf("reducing %d rows to %d centres", res.Rows, o.ReduceTo)
		km, err := kmeans.TrainMiniBatch(ctx, x, dim, o.ReduceTo, kmeans.MiniBatchConfig{
			BatchSize: o.BatchSize,
			Seed:      rng.Uint64() | 1,
			Progress: func(p kmeans.MiniBatchProgress) {
				progress(stage, int64(p.Step), int64(p.MaxSteps))
			},
		})
		if err != nil {
			return nil, fmt.Errorf("rvc: reducing %d rows: %w", res.Rows, err)
		}
		progress(stage, 1, 1)
		x, res.KMeansSteps = km.Centroids, km.Steps
		order = nil // the centres, added as they are
	}
	n := len(x) / dim
	res.Trained = n
	res.Reduce = time.Since(start)
	if o.SaveTotalFea {
		res.TotalFeaPath = filepath.Join(expDir, "total_fea.npy")
		fea := x
		if order != nil {
			fea = shuffled(x, dim, order)
		}
		if err := npy.WriteFile(res.TotalFeaPath, fea, n, dim); err != nil {
			return nil, err
		}
	}

	// Train.
	start = time.Now()
	res.NList = NList(n)
	desc := fmt.Sprintf("IVF%d,Flat", res.NList)
	idx, err := factory.New(dim, desc, metric.L2)
	if err != nil {
		return nil, err
	}
	if err := factory.SetParams(idx, "nprobe=1"); err != nil {
		return nil, err
	}
	// The seed also seeds the coarse k-means (FAISS's is fixed, but RVC's
	// unseeded shuffle changes what it starts from).
	if iv, ok := idx.(*ivf.Index); ok {
		iv.KMeans.Seed = rng.Uint64() | 1
	}
	stage := "training " + desc
	progress(stage, 0, 1)
	if err := idx.Train(ctx, x); err != nil {
		return nil, fmt.Errorf("rvc: training %s: %w", desc, err)
	}
	progress(stage, 1, 1)
	if o.Layout == LayoutApplio {
		res.AddedPath = filepath.Join(expDir, ApplioIndexName(o.Name))
	} else {
		trained, added := IndexNames(res.NList, o.Name, o.Version)
		res.TrainedPath, res.AddedPath = filepath.Join(expDir, trained), filepath.Join(expDir, added)
		if err := faissio.WriteFile(res.TrainedPath, idx); err != nil {
			return nil, err
		}
	}
	res.Train = time.Since(start)

	// Add.
	start = time.Now()
	stage = fmt.Sprintf("adding %d rows", n)
	var batch []float32
	if order != nil {
		batch = make([]float32, min(AddBatch, n)*dim)
	}
	for i := 0; i < n; i += AddBatch {
		rows := x[i*dim : min(i+AddBatch, n)*dim]
		if order != nil {
			rows = batch[:len(rows)]
			for j, r := range order[i:min(i+AddBatch, n)] {
				copy(rows[j*dim:(j+1)*dim], x[r*dim:(r+1)*dim])
			}
		}
		if err := idx.Add(ctx, rows); err != nil {
			return nil, fmt.Errorf("rvc: adding rows %d..: %w", i, err)
		}
		progress(stage, int64(min(i+AddBatch, n)), int64(n))
	}
	if err := faissio.WriteFile(res.AddedPath, idx); err != nil {
		return nil, err
	}
	res.Index = idx
	res.Add = time.Since(start)
	return res, nil
}

// shuffled returns the rows of x (of d numbers) in the order perm.
func shuffled(x []float32, d int, perm []int) []float32 {
	out := make([]float32, len(x))
	for i, p := range perm {
		copy(out[i*d:(i+1)*d], x[p*d:(p+1)*d])
	}
	return out
}
