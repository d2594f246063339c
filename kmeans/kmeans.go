// Package kmeans clusters vectors with Lloyd's k-means, following FAISS's
// behaviour and defaults: a random sample of at most 256 points per centroid,
// centroids initialised from randomly chosen points, empty clusters repaired
// by splitting large ones, L2 or spherical (inner-product) clustering.
//
// The assignment step, where the time goes, runs on the tiled distance
// kernel of package asm and on all cores. In L2 clustering, after the first
// iteration, bounds on every point's distances to groups of centroids
// (kept from one iteration to the next) show which points can have changed
// centroid and which groups they need to be compared with; the others keep
// theirs without a search. Results depend only on the data, the
// configuration and the seed: the same inputs give the same centroids on
// any number of cores.
package kmeans

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/check"
	"github.com/kume-ann/kume/internal/parallel"
	"github.com/kume-ann/kume/metric"
)

// FAISS's defaults.
const (
	DefaultNIter                = 25
	DefaultSeed                 = 1234
	DefaultMaxPointsPerCentroid = 256
	DefaultMinPointsPerCentroid = 39
)

// Config controls training. The zero value gives FAISS's defaults.
type Config struct {
	// NIter is the number of iterations (default 25; IVF coarse training
	// uses 10).
	NIter int
	// Seed seeds sampling and initialisation (default 1234).
	Seed uint64
	// MaxPointsPerCentroid caps the training sample at k times this many
	// points (default 256).
	MaxPointsPerCentroid int
	// MinPointsPerCentroid: with fewer than k times this many points a
	// warning is logged (default 39).
	MinPointsPerCentroid int
	// InnerProduct assigns points to the centroid of largest inner product
	// instead of the nearest in L2.
	InnerProduct bool
	// Spherical L2-normalises the centroids after each update (FAISS does
	// this for inner-product IVF indexes).
	Spherical bool
	// Progress, when set, is called after each iteration.
	Progress func(Progress)
	// Logger receives the warnings (too few points) and one debug line per
	// iteration. nil means slog.Default().
	Logger *slog.Logger
}

// Progress reports one finished iteration.
type Progress struct {
	Iter, NIter int
	// Objective is the sum of squared distances (L2) or of inner products
	// (InnerProduct) of the points to their assigned centroids, measured in
	// this iteration's assignment.
	Objective float64
	// EmptySplit is the number of empty clusters repaired this iteration.
	EmptySplit int
	Elapsed    time.Duration
}

// Result is a trained clustering.
type Result struct {
	// Centroids holds k rows of d floats.
	Centroids []float32
	// Objective holds the objective of each iteration's assignment.
	Objective []float64
	// Points is the number of points the clustering was trained on (after
	// sampling).
	Points int
}

func (c Config) withDefaults() Config {
	if c.NIter <= 0 {
		c.NIter = DefaultNIter
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.MaxPointsPerCentroid <= 0 {
		c.MaxPointsPerCentroid = DefaultMaxPointsPerCentroid
	}
	if c.MinPointsPerCentroid <= 0 {
		c.MinPointsPerCentroid = DefaultMinPointsPerCentroid
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Train clusters the n = len(x)/d points of x into k centroids.
func Train(ctx context.Context, x []float32, d, k int, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
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
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6b756d65))
	if maxN := k * cfg.MaxPointsPerCentroid; n > maxN {
		cfg.Logger.Debug("kmeans: sampling the training set", "points", n, "sample", maxN)
		x = sample(x, d, n, maxN, rng)
		n = maxN
	} else if n < k*cfg.MinPointsPerCentroid {
		cfg.Logger.Warn(fmt.Sprintf("kmeans: %d training points for %d centroids: fewer than the %d per centroid that give stable centroids",
			n, k, cfg.MinPointsPerCentroid))
	}
	res := &Result{Centroids: make([]float32, k*d), Points: n}
	if n == k {
		copy(res.Centroids, x)
		if cfg.Spherical {
			metric.NormalizeL2(res.Centroids, d)
		}
		return res, nil
	}
	// Initial centroids: k distinct points chosen at random.
	perm := rng.Perm(n)
	for c := 0; c < k; c++ {
		copy(res.Centroids[c*d:(c+1)*d], x[perm[c]*d:(perm[c]+1)*d])
	}
	if cfg.Spherical {
		// Normalise from the start, so that every iteration's objective is
		// measured against unit centroids.
		metric.NormalizeL2(res.Centroids, d)
	}
	a := newAssigner(x, d, k, cfg.InnerProduct)
	assign := a.assign
	if !cfg.InnerProduct {
		// L2: most points keep their centroid from one iteration to the
		// next, and bounds on their distances show which.
		assign = newBounded(a).assign
	}
	start := time.Now()
	for it := 0; it < cfg.NIter; it++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("kmeans: iteration %d: %w", it, err)
		}
		obj, err := assign(ctx, res.Centroids)
		if err != nil {
			return nil, fmt.Errorf("kmeans: iteration %d: %w", it, err)
		}
		res.Objective = append(res.Objective, obj)
		split := update(x, d, k, a.labels, res.Centroids, rng)
		if cfg.Spherical {
			metric.NormalizeL2(res.Centroids, d)
		}
		p := Progress{Iter: it + 1, NIter: cfg.NIter, Objective: obj, EmptySplit: split, Elapsed: time.Since(start)}
		cfg.Logger.Debug("kmeans iteration", "iter", p.Iter, "of", p.NIter, "objective", obj, "empty_split", split)
		if cfg.Progress != nil {
			cfg.Progress(p)
		}
	}
	return res, nil
}

// sample returns m of the n rows of x, chosen at random without replacement.
func sample(x []float32, d, n, m int, rng *rand.Rand) []float32 {
	perm := rng.Perm(n)
	out := make([]float32, m*d)
	for i := 0; i < m; i++ {
		copy(out[i*d:(i+1)*d], x[perm[i]*d:(perm[i]+1)*d])
	}
	return out
}

// update sets every centroid to the mean of its points and repairs empty
// clusters by splitting populous ones. It returns the number of repairs.
func update(x []float32, d, k int, labels []int32, centroids []float32, rng *rand.Rand) int {
	n := len(labels)
	sums := make([]float64, k*d)
	counts := make([]int, k)
	for i, l := range labels {
		counts[l]++
		row := x[i*d : (i+1)*d]
		s := sums[int(l)*d : (int(l)+1)*d]
		for j, v := range row {
			s[j] += float64(v)
		}
	}
	for c := 0; c < k; c++ {
		if counts[c] == 0 {
			continue
		}
		inv := 1 / float64(counts[c])
		for j := 0; j < d; j++ {
			centroids[c*d+j] = float32(sums[c*d+j] * inv)
		}
	}
	// Empty clusters: take a donor with probability proportional to its
	// size beyond one point, give the empty cluster a slightly perturbed
	// copy of the donor's centroid (and the donor the opposite perturbation),
	// and split the donor's count between the two.
	split := 0
	for c := 0; c < k; c++ {
		if counts[c] != 0 {
			continue
		}
		donor := 0
		for tries := 0; ; tries++ {
			donor = rng.IntN(k)
			if tries > 10*k {
				for j := range counts { // fall back to the largest cluster
					if counts[j] > counts[donor] {
						donor = j
					}
				}
				break
			}
			if counts[donor] > 1 && rng.Float64() < float64(counts[donor]-1)/float64(n-k) {
				break
			}
		}
		const eps = 1.0 / 1024
		dst, src := centroids[c*d:(c+1)*d], centroids[donor*d:(donor+1)*d]
		for j := 0; j < d; j++ {
			if j%2 == 0 {
				dst[j], src[j] = src[j]*(1+eps), src[j]*(1-eps)
			} else {
				dst[j], src[j] = src[j]*(1-eps), src[j]*(1+eps)
			}
		}
		counts[c] = counts[donor] / 2
		counts[donor] -= counts[c]
		split++
	}
	return split
}

// assigner finds the nearest centroid of every point, in parallel blocks.
type assigner struct {
	x      []float32
	d, k   int
	ip     bool
	xnorms []float32
	labels []int32
	best   []float32
	tiles  sync.Pool // *[]float32 scratch tiles of pointBlock x centroidBlock
}

const (
	pointBlock    = 256  // points per tile
	centroidBlock = 1024 // centroids per tile
)

func newAssigner(x []float32, d, k int, ip bool) *assigner {
	n := len(x) / d
	a := &assigner{x: x, d: d, k: k, ip: ip, labels: make([]int32, n), best: make([]float32, n)}
	if !ip {
		a.xnorms = make([]float32, n)
		asm.SqNorms(a.xnorms, x, d)
	}
	return a
}

// assign labels every point and returns the objective.
func (a *assigner) assign(ctx context.Context, centroids []float32) (float64, error) {
	n := len(a.labels)
	var cnorms []float32
	if !a.ip {
		cnorms = make([]float32, a.k)
		asm.SqNorms(cnorms, centroids, a.d)
	}
	cb := min(centroidBlock, a.k)
	err := parallel.For(ctx, n, pointBlock, func(lo, hi int) error {
		bp, _ := a.tiles.Get().(*[]float32)
		if bp == nil {
			b := make([]float32, pointBlock*cb)
			bp = &b
		}
		defer a.tiles.Put(bp)
		buf := *bp
		xs := a.x[lo*a.d : hi*a.d]
		init := float32(math.Inf(1))
		if a.ip {
			init = float32(math.Inf(-1))
		}
		for i := lo; i < hi; i++ {
			a.best[i] = init
		}
		for c0 := 0; c0 < a.k; c0 += cb {
			if c0 > 0 {
				if err := ctx.Err(); err != nil {
					return err // many centroids: a chunk is long
				}
			}
			c1 := min(c0+cb, a.k)
			nc := c1 - c0
			tile := buf[:(hi-lo)*nc]
			asm.DotTile(tile, xs, centroids[c0*a.d:c1*a.d], a.d)
			for i := lo; i < hi; i++ {
				row := tile[(i-lo)*nc : (i-lo+1)*nc]
				if a.ip {
					a.best[i], a.labels[i] = argmaxInto(row, c0, a.best[i], a.labels[i])
				} else {
					a.best[i], a.labels[i] = argminL2Into(row, cnorms[c0:c1], c0, a.best[i], a.labels[i])
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var obj float64
	for i, b := range a.best {
		if a.ip {
			obj += float64(b)
		} else {
			// best holds ||c||² - 2<x,c>; add ||x||² for the distance.
			obj += float64(max(b+a.xnorms[i], 0))
		}
	}
	return obj, nil
}

// argminL2Into scans inner products ips of one point with centroids c0, c0+1,
// ... and keeps the centroid minimising ||c||² - 2<x,c>, which ranks
// centroids as ||x - c||² does.
func argminL2Into(ips, cnorms []float32, c0 int, best float32, label int32) (float32, int32) {
	cnorms = cnorms[:len(ips)]
	for j, ip := range ips {
		if v := cnorms[j] - 2*ip; v < best {
			best, label = v, int32(c0+j)
		}
	}
	return best, label
}

// argmaxInto keeps the centroid of largest inner product.
func argmaxInto(ips []float32, c0 int, best float32, label int32) (float32, int32) {
	for j, ip := range ips {
		if ip > best {
			best, label = ip, int32(c0+j)
		}
	}
	return best, label
}
