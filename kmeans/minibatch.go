package kmeans

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/check"
)

// Defaults of TrainMiniBatch, those of scikit-learn's MiniBatchKMeans.
const (
	DefaultBatchSize         = 1024
	DefaultMiniBatchMaxIter  = 100
	DefaultNInit             = 3
	DefaultReassignmentRatio = 0.01
	DefaultMaxNoImprovement  = 10
)

// MiniBatchConfig controls TrainMiniBatch. The zero value gives
// scikit-learn's defaults (with init="random"): batches of 1024 points, 100
// passes over the data at most, 3 random initialisations, reassignment of
// clusters lighter than 1% of the heaviest, and a stop after 10 batches
// without improvement of the smoothed inertia.
type MiniBatchConfig struct {
	// BatchSize is the number of points drawn (with replacement) per step.
	BatchSize int
	// MaxIter bounds the number of steps to MaxIter*n/BatchSize.
	MaxIter int
	// InitSize is the number of points each initialisation draws from and
	// the size of the validation sample the initialisations are compared
	// on (default 3*BatchSize, raised to 3*k when that is smaller than k,
	// and at most n).
	InitSize int
	// NInit is the number of random initialisations tried; the one of
	// least inertia on the validation sample is kept (default 3).
	NInit int
	// ReassignmentRatio: a cluster whose accumulated weight is below this
	// fraction of the heaviest cluster's is moved onto a random point of
	// the batch, every 10*k points and whenever a cluster is empty
	// (default 0.01).
	ReassignmentRatio float64
	// NoReassignment turns reassignment off.
	NoReassignment bool
	// MaxNoImprovement stops after this many consecutive steps without an
	// improvement of the exponentially smoothed batch inertia (default
	// 10; negative: never stop early this way).
	MaxNoImprovement int
	// Tol, when positive, also stops when the squared change of the
	// centroids in one step is at most Tol times the mean variance of the
	// data's coordinates.
	Tol float64
	// Seed seeds sampling, initialisation and reassignment (default 1234).
	Seed uint64
	// Progress, when set, is called after every step.
	Progress func(MiniBatchProgress)
}

// MiniBatchProgress reports one finished step.
type MiniBatchProgress struct {
	Step, MaxSteps int
	// BatchInertia is the mean squared distance of the batch's points to
	// their nearest centroid before the update.
	BatchInertia float64
	// EWAInertia is its exponentially weighted average (0 at the first
	// step).
	EWAInertia float64
	// Reassigned is the number of clusters reassigned in this step.
	Reassigned int
	Elapsed    time.Duration
}

// MiniBatchResult is a clustering trained with mini-batches.
type MiniBatchResult struct {
	// Centroids holds k rows of d floats.
	Centroids []float32
	// Steps is the number of steps run.
	Steps int
	// Converged is set when a stop rule ended training before MaxIter.
	Converged bool
	// InitInertia is the validation inertia of the initialisation kept.
	InitInertia float64
}

func (c MiniBatchConfig) withDefaults(n, k int) MiniBatchConfig {
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.MaxIter <= 0 {
		c.MaxIter = DefaultMiniBatchMaxIter
	}
	if c.InitSize <= 0 {
		c.InitSize = 3 * c.BatchSize
		if c.InitSize < k {
			c.InitSize = 3 * k
		}
	} else if c.InitSize < k {
		c.InitSize = 3 * k
	}
	c.InitSize = min(c.InitSize, n)
	if c.NInit <= 0 {
		c.NInit = DefaultNInit
	}
	if c.ReassignmentRatio <= 0 {
		c.ReassignmentRatio = DefaultReassignmentRatio
	}
	if c.MaxNoImprovement == 0 {
		c.MaxNoImprovement = DefaultMaxNoImprovement
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	return c
}

// TrainMiniBatch clusters the n = len(x)/d points of x into k centroids
// with mini-batch k-means, following scikit-learn's MiniBatchKMeans with
// init="random": each of NInit initialisations takes k random points of a
// random sample of InitSize points, the one of least inertia on a separate
// validation sample is kept; then each step draws BatchSize points with
// replacement, assigns them to their nearest centroid, moves every centroid
// that received points to the running mean of all points it has received,
// and reassigns light clusters (see MiniBatchConfig); training stops at
// MaxIter*n/BatchSize steps or by a stop rule.
//
// Every point goes to its nearest centroid exactly (least asm.L2Sqr, the
// smaller centroid on ties), though most distances are only bounded: a point
// drawn again remembers its nearest centroids from its last draw, and the
// centroids' moves since bound the others (see nearest).
//
// The result depends only on x, k, the configuration and the seed, not on
// the number of cores the assignment runs on. Training stops with ctx's
// error when ctx is cancelled.
func TrainMiniBatch(ctx context.Context, x []float32, d, k int, cfg MiniBatchConfig) (*MiniBatchResult, error) {
	n, err := check.Vectors("training set", x, d)
	if err != nil {
		return nil, fmt.Errorf("kmeans: %w", err)
	}
	if k < 1 {
		return nil, fmt.Errorf("kmeans: %w: k = %d clusters", kume.ErrInvalidArgument, k)
	}
	if n < k {
		return nil, fmt.Errorf("kmeans: %w: %d training points for %d clusters (need at least one per cluster)", kume.ErrInvalidArgument, n, k)
	}
	if cfg.Tol < 0 || cfg.ReassignmentRatio < 0 || math.IsNaN(cfg.Tol) || math.IsNaN(cfg.ReassignmentRatio) {
		return nil, fmt.Errorf("kmeans: %w: tol %v, reassignment ratio %v", kume.ErrInvalidArgument, cfg.Tol, cfg.ReassignmentRatio)
	}
	cfg = cfg.withDefaults(n, k)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6d696e69))
	start := time.Now()

	// Initialisation: the best of NInit, on one validation sample.
	// Each point's nearest centre is found by nearest, which remembers
	// the points drawn (their ids in x) from step to step.
	near := newNearest(d, k)
	valid := gather(x, d, randIndices(rng, n, cfg.InitSize), nil)
	va := newAssigner(valid, d, k, false)
	res := &MiniBatchResult{Centroids: make([]float32, k*d)}
	cand := make([]float32, k*d)
	initBuf := make([]float32, cfg.InitSize*d)
	for i := 0; i < cfg.NInit; i++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("kmeans: initialisation %d: %w", i, err)
		}
		sub := gather(x, d, randIndices(rng, n, cfg.InitSize), initBuf)
		perm := rng.Perm(cfg.InitSize)
		for c := 0; c < k; c++ {
			copy(cand[c*d:(c+1)*d], sub[perm[c]*d:(perm[c]+1)*d])
		}
		inertia, err := near.assign(ctx, valid, va.xnorms, nil, 0, cand, va.labels, va.best)
		if err != nil {
			return nil, fmt.Errorf("kmeans: initialisation %d: %w", i, err)
		}
		if i == 0 || inertia < res.InitInertia {
			res.InitInertia = inertia
			copy(res.Centroids, cand)
		}
	}
	va, valid, cand, initBuf = nil, nil, nil, nil

	var tolAbs float64
	if cfg.Tol > 0 {
		tolAbs = cfg.Tol * meanVariance(x, d)
	}
	b := cfg.BatchSize
	maxSteps := max(cfg.MaxIter*n/b, 1)
	batch := make([]float32, b*d)
	idx := make([]int, b)
	ba := newAssigner(batch, d, k, false)
	near.remember(n)
	centers := res.Centroids
	counts := make([]float64, k)
	sums := make([]float64, k*d)
	inBatch := make([]int, k)
	var old []float32
	if tolAbs > 0 {
		old = make([]float32, k*d)
	}
	var (
		ewa, ewaMin     float64
		haveEWA         bool
		noImprovement   int
		sinceReassign   int
		reassignScratch []int
	)
	alpha := min(float64(b)*2/float64(n+1), 1)
	for step := 0; step < maxSteps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("kmeans: step %d: %w", step, err)
		}
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		gather(x, d, idx, batch)
		asm.SqNorms(ba.xnorms, batch, d)
		near.startStep(step)
		inertia, err := near.assign(ctx, batch, ba.xnorms, idx, step, centers, ba.labels, ba.best)
		if err != nil {
			return nil, fmt.Errorf("kmeans: step %d: %w", step, err)
		}
		if old != nil {
			copy(old, centers)
		}
		// Move each centroid to the running mean of the points it got.
		clear(inBatch)
		for i, l := range ba.labels {
			c := int(l)
			if inBatch[c] == 0 {
				clear(sums[c*d : (c+1)*d])
			}
			inBatch[c]++
			s := sums[c*d : (c+1)*d]
			for j, v := range batch[i*d : (i+1)*d] {
				s[j] += float64(v)
			}
		}
		for c, m := range inBatch {
			if m == 0 {
				continue
			}
			w := counts[c]
			inv := 1 / (w + float64(m))
			row, s := centers[c*d:(c+1)*d], sums[c*d:(c+1)*d]
			var sq float64
			for j, v := range row {
				row[j] = float32((float64(v)*w + s[j]) * inv)
				e := float64(row[j]) - float64(v)
				sq += e * e
			}
			near.moved(c, sq)
			counts[c] += float64(m)
		}
		// Reassign light clusters every 10k points, or when one is empty.
		reassigned := 0
		sinceReassign += b
		if !cfg.NoReassignment && (slices.Contains(counts, 0) || sinceReassign >= 10*k) {
			sinceReassign = 0
			reassigned, reassignScratch = reassign(rng, batch, d, b, centers, counts, cfg.ReassignmentRatio, reassignScratch)
			for _, c := range reassignScratch[:reassigned] {
				near.jumped(c, step)
			}
		}
		p := MiniBatchProgress{Step: step + 1, MaxSteps: maxSteps, BatchInertia: inertia / float64(b), Reassigned: reassigned}
		// Stop rules; the first step's inertia is that of the
		// initialisation and is left out.
		stop := false
		if step > 0 {
			if !haveEWA {
				ewa, haveEWA = p.BatchInertia, true
			} else {
				ewa = ewa*(1-alpha) + p.BatchInertia*alpha
			}
			p.EWAInertia = ewa
			if tolAbs > 0 {
				var diff float64
				for j, v := range centers {
					e := float64(v - old[j])
					diff += e * e
				}
				stop = diff <= tolAbs
			}
			if step == 1 || ewa < ewaMin {
				noImprovement, ewaMin = 0, ewa
			} else {
				noImprovement++
			}
			if cfg.MaxNoImprovement > 0 && noImprovement >= cfg.MaxNoImprovement {
				stop = true
			}
		}
		p.Elapsed = time.Since(start)
		if cfg.Progress != nil {
			cfg.Progress(p)
		}
		res.Steps = step + 1
		if stop {
			res.Converged = true
			break
		}
	}
	return res, nil
}

// reassign moves the clusters whose weight is below ratio times the
// largest onto distinct random points of the batch (at most half the batch
// of them, the lightest), and gives them the smallest weight of the others.
func reassign(rng *rand.Rand, batch []float32, d, b int, centers []float32, counts []float64, ratio float64, scratch []int) (int, []int) {
	k := len(counts)
	limit := ratio * slices.Max(counts)
	scratch = scratch[:0]
	for c, w := range counts {
		if w < limit {
			scratch = append(scratch, c)
		}
	}
	if len(scratch) == 0 {
		return 0, scratch
	}
	if half := b / 2; len(scratch) > half {
		// Keep the lightest (ties by cluster number), in cluster order.
		slices.SortStableFunc(scratch, func(a, b int) int {
			switch {
			case counts[a] < counts[b]:
				return -1
			case counts[a] > counts[b]:
				return 1
			}
			return 0
		})
		scratch = scratch[:half]
		slices.Sort(scratch)
	}
	picks := rng.Perm(b)[:len(scratch)]
	for i, c := range scratch {
		copy(centers[c*d:(c+1)*d], batch[picks[i]*d:(picks[i]+1)*d])
	}
	minOther := math.Inf(1)
	moved := make(map[int]bool, len(scratch))
	for _, c := range scratch {
		moved[c] = true
	}
	for c := 0; c < k; c++ {
		if !moved[c] && counts[c] < minOther {
			minOther = counts[c]
		}
	}
	for _, c := range scratch {
		counts[c] = minOther
	}
	return len(scratch), scratch
}

// randIndices draws m indices below n with replacement.
func randIndices(rng *rand.Rand, n, m int) []int {
	idx := make([]int, m)
	for i := range idx {
		idx[i] = rng.IntN(n)
	}
	return idx
}

// gather copies the rows idx of x into dst (allocated when nil).
func gather(x []float32, d int, idx []int, dst []float32) []float32 {
	if dst == nil {
		dst = make([]float32, len(idx)*d)
	}
	for i, r := range idx {
		copy(dst[i*d:(i+1)*d], x[r*d:(r+1)*d])
	}
	return dst[:len(idx)*d]
}

// meanVariance is the mean over coordinates of the variance of x's points.
func meanVariance(x []float32, d int) float64 {
	n := len(x) / d
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	var s float64
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			e := float64(v) - mean[j]
			s += e * e
		}
	}
	return s / float64(n*d)
}

// Inertia returns the sum of squared L2 distances of the points of x to
// their nearest centroid, the measure k-means minimises.
func Inertia(ctx context.Context, x []float32, d int, centroids []float32) (float64, error) {
	if _, err := check.Vectors("points", x, d); err != nil {
		return 0, fmt.Errorf("kmeans: %w", err)
	}
	k, err := check.Vectors("centroids", centroids, d)
	if err != nil {
		return 0, fmt.Errorf("kmeans: %w", err)
	}
	if k == 0 {
		return 0, fmt.Errorf("kmeans: %w: no centroids", kume.ErrInvalidArgument)
	}
	return newAssigner(x, d, k, false).assign(ctx, centroids)
}
