package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/faissio"
)

// Result is one point of a recall/speed curve: an index built from a factory
// string, searched with one parameter string. Its JSON form is the one
// `kume bench -json` prints and bench/faiss_bench.py prints for FAISS.
type Result struct {
	// Engine is "kume" or "faiss".
	Engine string `json:"engine,omitempty"`
	// Dataset names the data set.
	Dataset string `json:"dataset,omitempty"`
	// Factory is the index's factory string, Params the ParameterSpace
	// string it was searched with.
	Factory string `json:"factory"`
	Params  string `json:"params"`
	// Recall1 and Recall10 are measured against exact ground truth (see
	// Recall).
	Recall1  float64 `json:"recall@1"`
	Recall10 float64 `json:"recall@10"`
	// QPS is queries per second over whole-batch searches.
	QPS float64 `json:"qps"`
	// BuildS is the seconds spent training and adding.
	BuildS float64 `json:"build_s"`
	// BytesPerVector is the index's storage per vector (0 when unknown).
	BytesPerVector float64 `json:"bytes_per_vector"`
	// Threads is the number of threads searching; N and NQ the sizes of
	// the base and the query set; K the results asked per query.
	Threads int `json:"threads,omitempty"`
	N       int `json:"n,omitempty"`
	NQ      int `json:"nq,omitempty"`
	K       int `json:"k,omitempty"`
}

// Runner builds indexes on a data set and measures searches against its
// ground truth.
type Runner struct {
	Data *Dataset
	// GT holds NQ rows of GTK exact neighbour ids.
	GT  []int32
	GTK int
	// K is the number of results asked per query (10 when 0).
	K int
	// MinTime is how long each setting is searched for timing, at least
	// one whole batch (1 s when 0).
	MinTime time.Duration
	// Progress receives reports on training and adding.
	Progress Progress
	// TrainRows, when positive, trains on the first TrainRows base vectors
	// only (all of them are added), as faiss_bench.py's --train does.
	TrainRows int
}

// Built is an index with what it took to build it.
type Built struct {
	Index   kume.Index
	Factory string
	Build   time.Duration
	Info    Info

	bytesOnce      sync.Once
	bytesPerVector float64
}

// addBatch is the number of vectors added per call, for progress reports.
const addBatch = 16384

// Build makes an index from a factory string, trains it on the base and
// adds the base. Factory strings kume cannot build fail with an error
// wrapping kume.ErrUnsupported.
func (r *Runner) Build(ctx context.Context, factoryString string) (*Built, error) {
	ds := r.Data
	idx, err := factory.New(ds.D, factoryString, ds.Metric)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if r.Progress != nil {
		p := r.Progress
		if SetTrainingProgress(idx, func(it, n int) { p("training "+factoryString, int64(it), int64(n)) }) {
			p("training "+factoryString, 0, 1)
		}
	}
	train := ds.Base
	if r.TrainRows > 0 && r.TrainRows < ds.N() {
		train = ds.Base[:r.TrainRows*ds.D]
	}
	if err := idx.Train(ctx, train); err != nil {
		return nil, fmt.Errorf("training %s: %w", factoryString, err)
	}
	n := ds.N()
	for i := 0; i < n; i += addBatch {
		j := min(i+addBatch, n)
		if err := idx.Add(ctx, ds.Base[i*ds.D:j*ds.D]); err != nil {
			return nil, fmt.Errorf("adding to %s: %w", factoryString, err)
		}
		if r.Progress != nil {
			r.Progress("adding to "+factoryString, int64(j), int64(n))
		}
	}
	return &Built{Index: idx, Factory: factoryString, Build: time.Since(start), Info: Describe(idx)}, nil
}

// IndexFileName is the name an index built from a factory string is saved
// under in a folder of indexes (bench/faiss_bench.py's --save, kume bench's
// -load): every character other than an ASCII letter, digit, '-' or '.'
// becomes '_', and ".faiss" is appended.
func IndexFileName(factoryString string) string {
	b := []byte(factoryString)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.':
		default:
			b[i] = '_'
		}
	}
	return string(b) + ".faiss"
}

// Load reads an index in FAISS's file format (one FAISS built, say) to be
// measured as the factory string's index; its Build time is the time taken
// to read it. The index must hold the data set's base: as many vectors of
// its dimension.
func (r *Runner) Load(path, factoryString string) (*Built, error) {
	start := time.Now()
	idx, err := faissio.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if idx.Dim() != r.Data.D || idx.Len() != r.Data.N() {
		return nil, fmt.Errorf("%s: holds %d vectors of %d floats; the data set has %d of %d", path, idx.Len(), idx.Dim(), r.Data.N(), r.Data.D)
	}
	return &Built{Index: idx, Factory: factoryString, Build: time.Since(start), Info: Describe(idx)}, nil
}

// BytesPerVector is the size of the index in FAISS's file format divided by
// the number of vectors, as FAISS's own benchmarks measure it; for indexes
// the format cannot hold yet, the size of their codes, ids and centroids
// (Info.Bytes) per vector. It is computed once, on first use.
func (b *Built) BytesPerVector() float64 {
	b.bytesOnce.Do(func() {
		n := b.Index.Len()
		if size, err := faissio.WriterTo(b.Index).WriteTo(io.Discard); err == nil && n > 0 {
			b.bytesPerVector = float64(size) / float64(n)
		} else {
			b.bytesPerVector = b.Info.BytesPerVector()
		}
	})
	return b.bytesPerVector
}

// Measure searches every query of the data set in one batch with the given
// ParameterSpace string: once untimed, for recall and warm caches, then
// again until MinTime has passed, for queries per second.
func (r *Runner) Measure(ctx context.Context, b *Built, params string) (Result, error) {
	ds := r.Data
	p, err := kume.ParseSearchParams(params)
	if err != nil {
		return Result{}, err
	}
	k := r.K
	if k == 0 {
		k = 10
	}
	stage := "searching " + b.Factory
	if params != "" {
		stage += " " + params
	}
	if r.Progress != nil {
		r.Progress(stage, 0, 1)
	}
	var res kume.Results
	if err := b.Index.SearchInto(ctx, &res, ds.Queries, k, &p); err != nil {
		return Result{}, fmt.Errorf("searching %s with %q: %w", b.Factory, params, err)
	}
	out := Result{
		Engine: "kume", Dataset: ds.Name, Factory: b.Factory, Params: params,
		Recall1:        Recall(res.IDs, k, r.GT, r.GTK, 1),
		Recall10:       Recall(res.IDs, k, r.GT, r.GTK, 10),
		BuildS:         b.Build.Seconds(),
		BytesPerVector: b.BytesPerVector(),
		Threads:        runtime.GOMAXPROCS(0),
		N:              ds.N(), NQ: ds.NQ(), K: k,
	}
	minTime := r.MinTime
	if minTime == 0 {
		minTime = time.Second
	}
	runs := 0
	start := time.Now()
	for runs == 0 || time.Since(start) < minTime {
		if err := b.Index.SearchInto(ctx, &res, ds.Queries, k, &p); err != nil {
			return Result{}, err
		}
		runs++
	}
	out.QPS = float64(runs*ds.NQ()) / time.Since(start).Seconds()
	if r.Progress != nil {
		r.Progress(stage, 1, 1)
	}
	return out, nil
}
