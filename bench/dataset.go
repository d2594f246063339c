package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/vecio"
	"github.com/kume-ann/kume/metric"
)

// ErrNotInstalled is wrapped by Load's error when a named data set's files
// are not on this machine (benchmarks skip such data sets).
var ErrNotInstalled = errors.New("data set is not installed")

// Progress is told how far a long step (reading, generating, computing
// ground truth) has come: done out of total units. It may be called from
// several goroutines at once; nil means no reports.
type Progress func(stage string, done, total int64)

func (p Progress) stage(name string) func(done, total int64) {
	if p == nil {
		return nil
	}
	return func(done, total int64) { p(name, done, total) }
}

// Dataset is a base set to index and queries to search it with.
type Dataset struct {
	// Name identifies the data set ("synth256", "fashion-mnist", or the
	// files it was read from).
	Name string
	// D is the dimension.
	D int
	// Base and Queries are row-major vectors of dimension D.
	Base, Queries []float32
	// Metric is the distance the data set is searched with.
	Metric metric.Metric
	// GTDir and GTStem name cached ground truth: GTStem.gt.*.ivecs, read
	// from GTDir (next to the data) when such a file is there, else read
	// from and written to the cache folder. kume never writes into GTDir.
	GTDir, GTStem string
}

// N is the number of base vectors.
func (ds *Dataset) N() int { return len(ds.Base) / ds.D }

// NQ is the number of queries.
func (ds *Dataset) NQ() int { return len(ds.Queries) / ds.D }

// Named data sets and their full sizes.
var (
	// Synth256 is shaped like RVC v1 voice features (256-d HuBERT frames)
	// at the size of a large voice model.
	Synth256 = Synth{N: 200_000, NQ: 2_000, D: 256, Seed: 1}
	// Synth768 is shaped like RVC v2 voice features (768-d).
	Synth768 = Synth{N: 200_000, NQ: 2_000, D: 768, Seed: 2}
)

// Names lists the named data sets Load knows.
var Names = []string{"synth256", "synth768", "fashion-mnist", "sift1m"}

// Options adjust Load.
type Options struct {
	// Small shrinks named data sets to sizes that a quick benchmark run
	// can afford (a tenth or less of the full size). Explicit n= and nq=
	// settings win over it.
	Small bool
	// Progress receives reports on reading and generating.
	Progress Progress
}

// Load makes a data set from a spec:
//
//   - "synth256", "synth768": generated RVC-like sets (see Synth);
//     "synth" with d= for another dimension;
//   - "fashion-mnist": Fashion-MNIST from Debian's dataset-fashion-mnist
//     (60,000 training images as the base, the 10,000 test images as
//     queries, 784-d);
//   - "sift1m": TEXMEX SIFT1M (sift_base.fvecs, sift_query.fvecs) in the
//     folder named by $KUME_SIFT1M (default $KUME_DATA/sift);
//   - "base,queries": two files, each .npy (float32, float16 or float64),
//     .fvecs or .bvecs, or a folder of .npy files (concatenated in name
//     order).
//
// Named sets take settings after a colon: "synth256:n=50000,nq=500,seed=3",
// "fashion-mnist:nq=2000". n and nq keep the first rows of files.
func Load(ctx context.Context, spec string, opt Options) (*Dataset, error) {
	name, settings, _ := strings.Cut(spec, ":")
	if strings.Contains(name, ",") && settings == "" {
		return loadFiles(name, opt)
	}
	kv := map[string]int{}
	if settings != "" {
		for _, f := range strings.Split(settings, ",") {
			k, v, ok := strings.Cut(f, "=")
			n, err := strconv.Atoi(v)
			if !ok || err != nil || n <= 0 {
				return nil, fmt.Errorf("bench: data set setting %q in %q: want name=positive integer", f, spec)
			}
			switch k {
			case "n", "nq", "d", "seed", "clusters", "latent":
				kv[k] = n
			default:
				return nil, fmt.Errorf("bench: unknown data set setting %q in %q (known: n, nq, d, seed, clusters, latent)", k, spec)
			}
		}
	}
	pick := func(key string, full, small int) int {
		if v, ok := kv[key]; ok {
			return v
		}
		if opt.Small {
			return small
		}
		return full
	}
	var ds *Dataset
	var err error
	switch name {
	case "synth256", "synth768", "synth":
		s := Synth256
		if name == "synth768" {
			s = Synth768
		}
		if name == "synth" {
			if _, ok := kv["d"]; !ok {
				return nil, fmt.Errorf("bench: %q: the synth data set needs d=, as in synth:d=128", spec)
			}
			s.Seed = 3
		}
		s.D = pick("d", s.D, s.D)
		s.N = pick("n", s.N, s.N/10)
		s.NQ = pick("nq", s.NQ, s.NQ/10)
		s.Seed = uint64(pick("seed", int(s.Seed), int(s.Seed)))
		s.Clusters = pick("clusters", 0, 0)
		s.Latent = pick("latent", 0, 0)
		base, q, err := s.Generate(ctx, opt.Progress.stage("generating "+name))
		if err != nil {
			return nil, err
		}
		ds = &Dataset{Name: canonicalName(name, kv), D: s.D, Base: base, Queries: q, Metric: metric.L2}
		return ds, nil
	case "fashion-mnist":
		ds, err = loadFashionMNIST(pick("n", 60_000, 20_000), pick("nq", 10_000, 200))
	case "sift1m":
		ds, err = loadSIFT1M(pick("n", 1_000_000, 100_000), pick("nq", 10_000, 200), opt)
	default:
		if settings == "" {
			if _, statErr := os.Stat(name); statErr == nil {
				return nil, fmt.Errorf("bench: %q: give the base and the queries as two files, base,queries", spec)
			}
		}
		return nil, fmt.Errorf("bench: unknown data set %q (known: %s, or base,queries files)", name, strings.Join(Names, ", "))
	}
	if err != nil {
		return nil, err
	}
	if len(kv) > 0 {
		ds.Name = canonicalName(name, kv)
	}
	return ds, nil
}

// canonicalName spells a named set with its settings in a fixed order.
func canonicalName(name string, kv map[string]int) string {
	if len(kv) == 0 {
		return name
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, kv[k])
	}
	return name + ":" + strings.Join(parts, ",")
}

func loadFashionMNIST(n, nq int) (*Dataset, error) {
	train := filepath.Join(FashionMNISTDir, "train-images-idx3-ubyte.gz")
	test := filepath.Join(FashionMNISTDir, "t10k-images-idx3-ubyte.gz")
	for _, p := range []string{train, test} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("bench: fashion-mnist: %w: %s is missing (apt-get install dataset-fashion-mnist)", ErrNotInstalled, p)
		}
	}
	base, err := ReadIDXImages(train, n)
	if err != nil {
		return nil, err
	}
	q, err := ReadIDXImages(test, nq)
	if err != nil {
		return nil, err
	}
	return &Dataset{Name: "fashion-mnist", D: base.Cols, Base: base.Data, Queries: q.Data, Metric: metric.L2}, nil
}

func loadSIFT1M(n, nq int, opt Options) (*Dataset, error) {
	dir := os.Getenv("KUME_SIFT1M")
	if dir == "" {
		root := os.Getenv("KUME_DATA")
		if root == "" {
			return nil, fmt.Errorf("bench: sift1m: %w: set KUME_SIFT1M (or KUME_DATA) to the folder of sift_base.fvecs and sift_query.fvecs", ErrNotInstalled)
		}
		dir = filepath.Join(root, "sift")
	}
	bp, qp := filepath.Join(dir, "sift_base.fvecs"), filepath.Join(dir, "sift_query.fvecs")
	for _, p := range []string{bp, qp} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("bench: sift1m: %w: %s is missing", ErrNotInstalled, p)
		}
	}
	base, err := vecio.ReadFvecs(bp, n, opt.Progress.stage("reading "+filepath.Base(bp)))
	if err != nil {
		return nil, err
	}
	q, err := vecio.ReadFvecs(qp, nq, nil)
	if err != nil {
		return nil, err
	}
	if base.Cols != q.Cols {
		return nil, dimMismatch(bp, base.Cols, qp, q.Cols)
	}
	return &Dataset{Name: "sift1m", D: base.Cols, Base: base.Data, Queries: q.Data, Metric: metric.L2, GTDir: dir, GTStem: "sift1m"}, nil
}

func dimMismatch(basePath string, bd int, queryPath string, qd int) error {
	return fmt.Errorf("bench: %w: base %s has %d-dimensional vectors, queries %s have %d", kume.ErrDimension, basePath, bd, queryPath, qd)
}

func loadFiles(spec string, opt Options) (*Dataset, error) {
	parts := strings.Split(spec, ",")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("bench: %q: want two files, base,queries", spec)
	}
	base, err := vecio.Read(parts[0], vecio.Progress(opt.Progress))
	if err != nil {
		return nil, err
	}
	q, err := vecio.Read(parts[1], vecio.Progress(opt.Progress))
	if err != nil {
		return nil, err
	}
	if base.Cols != q.Cols {
		return nil, dimMismatch(parts[0], base.Cols, parts[1], q.Cols)
	}
	stem := strings.TrimSuffix(filepath.Base(parts[1]), filepath.Ext(parts[1]))
	return &Dataset{
		Name: spec, D: base.Cols, Base: base.Data, Queries: q.Data, Metric: metric.L2,
		GTDir: filepath.Dir(parts[1]), GTStem: stem,
	}, nil
}

func addInt64(p *int64, v int64) int64 { return atomic.AddInt64(p, v) }
