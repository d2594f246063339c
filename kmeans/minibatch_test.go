package kmeans

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/pyfaiss"
)

// mbBlobs returns n points of d dimensions around k well-separated centres.
func mbBlobs(seed uint64, n, d, k int, spread float64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	centres := make([]float64, k*d)
	for i := range centres {
		centres[i] = rng.NormFloat64() * 10
	}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := rng.IntN(k)
		for j := 0; j < d; j++ {
			x[i*d+j] = float32(centres[c*d+j] + spread*rng.NormFloat64())
		}
	}
	return x
}

func TestMiniBatchFindsBlobs(t *testing.T) {
	// Twice as many centroids as blobs, so that a random start that puts
	// two centroids in one blob still covers every blob.
	const n, d, k = 6000, 8, 20
	x := mbBlobs(1, n, d, k/2, 1)
	var steps []MiniBatchProgress
	res, err := TrainMiniBatch(context.Background(), x, d, k, MiniBatchConfig{BatchSize: 256, Progress: func(p MiniBatchProgress) { steps = append(steps, p) }})
	if err != nil {
		t.Fatal(err)
	}
	inertia, err := Inertia(context.Background(), x, d, res.Centroids)
	if err != nil {
		t.Fatal(err)
	}
	// The points are at squared distance d*spread² = 8 from their centre on
	// average; a clustering that found every blob is close to that.
	if per := inertia / n; per > 8*1.15 {
		t.Errorf("mean squared distance %.2f, want about 8 (blobs missed?)", per)
	}
	if len(steps) != res.Steps || steps[len(steps)-1].Step != res.Steps || !res.Converged {
		t.Errorf("%d progress reports for %d steps, converged %v", len(steps), res.Steps, res.Converged)
	}
	if maxSteps := 100 * n / 256; res.Steps >= maxSteps || steps[0].MaxSteps != maxSteps {
		t.Errorf("ran %d of %d steps: the no-improvement rule did not stop it", res.Steps, steps[0].MaxSteps)
	}
}

func TestMiniBatchDeterministic(t *testing.T) {
	const n, d, k = 3000, 16, 40
	x := mbBlobs(2, n, d, k, 3)
	run := func(procs int, seed uint64) *MiniBatchResult {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		res, err := TrainMiniBatch(context.Background(), x, d, k, MiniBatchConfig{BatchSize: 300, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b, c := run(1, 9), run(4, 9), run(1, 10)
	if !slices.Equal(a.Centroids, b.Centroids) || a.Steps != b.Steps {
		t.Error("1 and 4 cores gave different centroids")
	}
	if slices.Equal(a.Centroids, c.Centroids) {
		t.Error("seeds 9 and 10 gave the same centroids")
	}
}

func TestMiniBatchCancelAndErrors(t *testing.T) {
	x := mbBlobs(3, 2000, 4, 5, 1)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := TrainMiniBatch(ctx, x, 4, 5, MiniBatchConfig{BatchSize: 10, MaxNoImprovement: -1, Progress: func(MiniBatchProgress) {
		if calls++; calls == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || calls != 3 {
		t.Errorf("cancelled after 3 steps: %v after %d steps", err, calls)
	}
	if _, err := TrainMiniBatch(context.Background(), x[:12], 4, 5, MiniBatchConfig{}); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("3 points, 5 clusters: %v", err)
	}
	if _, err := TrainMiniBatch(context.Background(), x[:7], 4, 1, MiniBatchConfig{}); !errors.Is(err, kume.ErrDimension) {
		t.Errorf("7 floats of 4-d points: %v", err)
	}
	// Without the early stop and with a tolerance, the tolerance stops it.
	res, err := TrainMiniBatch(context.Background(), x, 4, 5, MiniBatchConfig{BatchSize: 100, MaxNoImprovement: -1, Tol: 1e-3})
	if err != nil || !res.Converged || res.Steps >= 100*2000/100 {
		t.Errorf("tol: %+v %v", res, err)
	}
}

// A cluster far lighter than the heaviest is moved onto a point of the
// batch and given the smallest weight of the others.
func TestReassign(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	batch := []float32{7, 7, 8, 8}
	centers := []float32{0, 0, 1, 1, 2, 2}
	counts := []float64{100, 0.5, 50}
	n, _ := reassign(rng, batch, 2, 2, centers, counts, 0.01, nil)
	if n != 1 || counts[1] != 50 || counts[0] != 100 {
		t.Fatalf("reassigned %d, counts %v", n, counts)
	}
	if c := centers[2:4]; !(c[0] == 7 && c[1] == 7 || c[0] == 8 && c[1] == 8) {
		t.Errorf("light centre moved to %v, not onto a batch point", c)
	}
	// At most half the batch is reassigned, the lightest first.
	counts = []float64{100, 0.3, 0.1, 0.2}
	centers = make([]float32, 8)
	if n, _ := reassign(rng, batch, 2, 2, centers, counts, 0.01, nil); n != 1 || counts[2] != 0.2 || counts[1] != 0.3 {
		t.Errorf("reassigned %d, counts %v (want only cluster 2, the lightest)", n, counts)
	}
}

// The centroids are as good as scikit-learn's MiniBatchKMeans on the same
// data and settings.
func TestMiniBatchAgainstSklearn(t *testing.T) {
	py := pyfaiss.RequireModules(t, "sklearn.cluster", "numpy")
	n, d, k, b := 10000, 32, 100, 512
	if testing.Short() {
		n, k = 5000, 50
	}
	// Overlapping blobs: a hard enough case that the rules matter.
	x := mbBlobs(4, n, d, k/2, 6)
	dir := t.TempDir()
	p := pyfaiss.WriteF32(t, dir, "x.f32", x)
	script := `
import numpy as np, sys
from sklearn.cluster import MiniBatchKMeans
d, k, b = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
x = np.fromfile(sys.argv[1], dtype='<f4').reshape(-1, d)
for seed in range(3):
    km = MiniBatchKMeans(n_clusters=k, batch_size=b, init='random', n_init=3, compute_labels=False, random_state=seed).fit(x)
    c = km.cluster_centers_.astype(np.float64)
    xx = x.astype(np.float64)
    dist = (xx**2).sum(1)[:, None] - 2 * xx @ c.T + (c**2).sum(1)[None, :]
    print(dist.min(1).clip(0).sum(), km.n_steps_)
`
	out := pyfaiss.RunWith(t, py, script, p, strconv.Itoa(d), strconv.Itoa(k), strconv.Itoa(b))
	var theirs, ours []float64
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("python printed %q", line)
		}
		theirs = append(theirs, v)
	}
	var steps []int
	for seed := uint64(1); seed <= 3; seed++ {
		res, err := TrainMiniBatch(context.Background(), x, d, k, MiniBatchConfig{BatchSize: b, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		in, _ := Inertia(context.Background(), x, d, res.Centroids)
		ours = append(ours, in)
		steps = append(steps, res.Steps)
	}
	mean := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	rel := mean(ours)/mean(theirs) - 1
	t.Logf("inertia kume %.4g (steps %v), sklearn %.4g: %+.2f%%\n%s", mean(ours), steps, mean(theirs), 100*rel, out)
	if math.Abs(rel) > 0.03 {
		t.Errorf("mean inertia %.4g vs sklearn's %.4g: %+.1f%%, want within 3%%", mean(ours), mean(theirs), 100*rel)
	}
}

func BenchmarkMiniBatchRVC(b *testing.B) {
	// One run of RVC's reduction on a smaller set: 10,000 centres of 256-d
	// would take minutes; 1,000 of 20,000 points shows the step cost.
	x := mbBlobs(5, 20000, 256, 500, 3)
	for i := 0; i < b.N; i++ {
		res, err := TrainMiniBatch(context.Background(), x, 256, 1000, MiniBatchConfig{BatchSize: 512})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Steps), "steps")
	}
}
