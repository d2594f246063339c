package kmeans

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
)

var ctx = context.Background()

// blobs returns n points around `centers` well-separated centres.
func blobs(seed uint64, n, d, centers int, spread float64) (x, truth []float32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	truth = make([]float32, centers*d)
	for i := range truth {
		truth[i] = float32(rng.NormFloat64() * 10)
	}
	x = make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := i % centers
		for j := 0; j < d; j++ {
			x[i*d+j] = truth[c*d+j] + float32(rng.NormFloat64()*spread)
		}
	}
	return x, truth
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)) }

func TestConvergesToMeans(t *testing.T) {
	// On well-separated blobs Lloyd's iterations settle quickly: at the end
	// every centroid is the mean of the points nearest to it.
	const n, d, k = 2000, 8, 10
	x, _ := blobs(1, n, d, k, 0.3)
	res, err := Train(ctx, x, d, k, Config{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	sums := make([]float64, k*d)
	counts := make([]int, k)
	for i := 0; i < n; i++ {
		best, label := math.Inf(1), 0
		for c := 0; c < k; c++ {
			var s float64
			for j := 0; j < d; j++ {
				diff := float64(x[i*d+j] - res.Centroids[c*d+j])
				s += diff * diff
			}
			if s < best {
				best, label = s, c
			}
		}
		counts[label]++
		for j := 0; j < d; j++ {
			sums[label*d+j] += float64(x[i*d+j])
		}
	}
	for c := 0; c < k; c++ {
		if counts[c] == 0 {
			t.Fatalf("centroid %d has no points", c)
		}
		for j := 0; j < d; j++ {
			mean := sums[c*d+j] / float64(counts[c])
			if math.Abs(mean-float64(res.Centroids[c*d+j])) > 1e-4*(1+math.Abs(mean)) {
				t.Fatalf("centroid %d[%d] = %v, mean of its points %v", c, j, res.Centroids[c*d+j], mean)
			}
		}
	}
}

func TestObjectiveNeverIncreases(t *testing.T) {
	x, _ := blobs(2, 3000, 16, 40, 3)
	for _, ip := range []bool{false, true} {
		res, err := Train(ctx, x, 16, 32, Config{NIter: 15, InnerProduct: ip, Spherical: ip, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(res.Objective); i++ {
			prev, cur := res.Objective[i-1], res.Objective[i]
			worse := cur > prev*(1+1e-5)
			if ip {
				worse = cur < prev*(1-1e-5) // inner product: larger is better
			}
			if worse {
				t.Errorf("ip=%v: objective went from %v to %v at iteration %d", ip, prev, cur, i)
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	x, _ := blobs(3, 4000, 12, 20, 2)
	a, err := Train(ctx, x, 12, 16, Config{NIter: 5, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	old := runtime.GOMAXPROCS(1)
	b, err := Train(ctx, x, 12, 16, Config{NIter: 5, Logger: quiet()})
	runtime.GOMAXPROCS(old)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Centroids {
		if a.Centroids[i] != b.Centroids[i] {
			t.Fatalf("centroid float %d differs between runs: %v vs %v", i, a.Centroids[i], b.Centroids[i])
		}
	}
	c, _ := Train(ctx, x, 12, 16, Config{NIter: 5, Seed: 99, Logger: quiet()})
	same := true
	for i := range a.Centroids {
		same = same && a.Centroids[i] == c.Centroids[i]
	}
	if same {
		t.Error("a different seed gave the same centroids")
	}
}

func TestEmptyClustersAreRepaired(t *testing.T) {
	// 200 points on only 5 distinct positions, 12 clusters: most clusters
	// start on duplicates and lose their points.
	const d = 4
	x := make([]float32, 200*d)
	for i := 0; i < 200; i++ {
		for j := 0; j < d; j++ {
			x[i*d+j] = float32((i%5)*10 + j)
		}
	}
	splits := 0
	res, err := Train(ctx, x, d, 12, Config{NIter: 5, Logger: quiet(), Progress: func(p Progress) { splits += p.EmptySplit }})
	if err != nil {
		t.Fatal(err)
	}
	if splits == 0 {
		t.Error("no empty cluster was repaired")
	}
	for _, v := range res.Centroids {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("centroid contains %v", v)
		}
	}
	// Each distinct position still has a centroid on it.
	for p := 0; p < 5; p++ {
		found := false
		for c := 0; c < 12 && !found; c++ {
			found = math.Abs(float64(res.Centroids[c*d]-float32(p*10))) < 0.1
		}
		if !found {
			t.Errorf("position %d lost its centroid", p)
		}
	}
}

func TestSamplingAndWarning(t *testing.T) {
	x, _ := blobs(4, 3000, 4, 5, 1)
	res, err := Train(ctx, x, 4, 8, Config{NIter: 2, MaxPointsPerCentroid: 100, Logger: quiet()})
	if err != nil || res.Points != 800 {
		t.Errorf("sampled to %d points (%v), want 800", res.Points, err)
	}
	var log bytes.Buffer
	_, err = Train(ctx, x[:100*4], 4, 8, Config{NIter: 2, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "fewer than the 39 per centroid") {
		t.Errorf("no warning for 100 points and 8 centroids; log: %q", log.String())
	}
}

func TestBadInput(t *testing.T) {
	x, _ := blobs(5, 10, 4, 2, 1)
	if _, err := Train(ctx, x, 4, 11, Config{Logger: quiet()}); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("more clusters than points: %v", err)
	}
	x[3] = float32(math.NaN())
	if _, err := Train(ctx, x, 4, 2, Config{Logger: quiet()}); !errors.Is(err, kume.ErrNonFinite) {
		t.Errorf("NaN: %v", err)
	}
	if _, err := Train(ctx, x[:7], 4, 1, Config{Logger: quiet()}); !errors.Is(err, kume.ErrDimension) {
		t.Errorf("ragged: %v", err)
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	y, _ := blobs(6, 100, 4, 2, 1)
	if _, err := Train(c, y, 4, 2, Config{Logger: quiet()}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestExactlyKPoints(t *testing.T) {
	x, _ := blobs(7, 6, 3, 6, 1)
	res, err := Train(ctx, x, 3, 6, Config{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if res.Centroids[i] != x[i] {
			t.Fatal("with n == k the centroids are the points")
		}
	}
}
