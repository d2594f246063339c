package kmeans

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// The bounded assignment labels every point as the exhaustive one does, over
// Lloyd's iterations, while computing far fewer distances.
func TestBoundedMatchesExhaustive(t *testing.T) {
	for _, c := range []struct {
		name       string
		n, d, k    int
		spread     float64
		offCentre  float32
		wantSaving bool
	}{
		{"clustered", 6000, 48, 150, 0.5, 0, true},
		{"off-centre", 6000, 32, 120, 1, 40, true},
		{"few centroids", 3000, 16, 12, 1, 0, false},
		{"uniform", 4000, 8, 200, 0, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var x []float32
			if c.spread > 0 {
				x, _ = blobs(7, c.n, c.d, c.k/3, c.spread)
			} else {
				rng := rand.New(rand.NewPCG(8, 9))
				x = make([]float32, c.n*c.d)
				for i := range x {
					x[i] = rng.Float32()
				}
			}
			for i := range x {
				x[i] += c.offCentre
			}
			checkBounded(t, x, c.n, c.d, c.k, c.wantSaving)
		})
	}
}

// checkBounded runs Lloyd's iterations with the bounded and the exhaustive
// assignment side by side from the first k points, and compares labels and
// objectives.
func checkBounded(t *testing.T, x []float32, n, d, k int, wantSaving bool) *bounded {
	t.Helper()
	ex := newAssigner(x, d, k, false)
	bo := newBounded(newAssigner(x, d, k, false))
	cent := make([]float32, k*d)
	copy(cent, x[:k*d]) // the first points: neighbours, so they move far
	rng := rand.New(rand.NewPCG(1, 2))
	const iters = 12
	for it := 0; it < iters; it++ {
		want, err := ex.assign(context.Background(), cent)
		if err != nil {
			t.Fatal(err)
		}
		got, err := bo.assign(context.Background(), cent)
		if err != nil {
			t.Fatal(err)
		}
		diff := 0
		for i, l := range ex.labels {
			if bo.a.labels[i] != l {
				// Only a tie may differ, or a near-tie the exhaustive
				// search's expanded float32 distances got wrong: the
				// bounded label is never farther, beyond rounding.
				xi := x[i*d : (i+1)*d]
				d1 := l2(xi, cent[int(l)*d:(int(l)+1)*d])
				d2 := l2(xi, cent[int(bo.a.labels[i])*d:(int(bo.a.labels[i])+1)*d])
				if d2 > d1+1e-5*l2(xi, make([]float32, d)) {
					t.Fatalf("iteration %d, point %d: centroid %d at %v, exhaustive %d at %v", it, i, bo.a.labels[i], d2, l, d1)
				}
				diff++
			}
		}
		if diff > n/1000 {
			t.Errorf("iteration %d: %d labels differ", it, diff)
		}
		if math.Abs(got-want) > 1e-4*want {
			t.Errorf("iteration %d: objective %v, exhaustive %v", it, got, want)
		}
		update(x, d, k, ex.labels, cent, rng)
	}
	full := float64(iters) * float64(n)
	used := float64(bo.searched) + float64(bo.scanned)/float64(k)
	t.Logf("distances computed: %.0f%% of the exhaustive search's (%d full searches, %d scanned)", 100*used/full, bo.searched, bo.scanned)
	if wantSaving && used > 0.6*full {
		t.Errorf("the bounds saved too little: %.0f%% of the distances computed", 100*used/full)
	}
	return bo
}

// The first assignment by the pruned search (down to 128 centroids here)
// labels as the exhaustive one, and its group bounds keep the later ones
// exact: structured points, off-centre, with duplicates; without structure
// it gives way to the exhaustive search.
func TestBoundedPrunedFirst(t *testing.T) {
	defer func(v int) { prunedCentres = v }(prunedCentres)
	prunedCentres = 128
	const d = 96
	for _, c := range []struct {
		name           string
		n, k           int
		offset, noise  float64
		dupes, pruning bool
	}{
		{"lowrank", 5000, 200, 0, 0.02, false, true},
		{"lowrank-offset", 5000, 200, 40, 0.01, false, true},
		{"lowrank-duplicates", 5000, 200, 30, 0.01, true, true},
		{"isotropic", 4000, 150, -1, 1, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && c.name != "lowrank-duplicates" && c.name != "isotropic" {
				t.Skip("emulated arm64, race: the duplicates and the fallback")
			}
			rng := rand.New(rand.NewPCG(3, 4))
			var x []float32
			if c.offset < 0 {
				x = gauss(rng, c.n*d, 1, 2)
			} else {
				x = lowRank(d, c.n, 8, c.offset, c.noise)(rng)
			}
			if c.dupes {
				for i := 0; i < c.n/4; i++ { // exact copies, some of initial centroids
					a, b := rng.IntN(c.n), rng.IntN(c.n)
					copy(x[a*d:(a+1)*d], x[b*d:(b+1)*d])
				}
				copy(x[c.k*d:(c.k+1)*d], x[:d])
			}
			bo := checkBounded(t, x, c.n, d, c.k, c.pruning)
			t.Logf("first assignment: %d of %d points by the pruned search", bo.prunedFirst, c.n)
			if c.pruning && bo.prunedFirst < int64(c.n)/2 {
				t.Errorf("the pruned search answered %d of %d points", bo.prunedFirst, c.n)
			}
			if !c.pruning && bo.prunedFirst > 1024 {
				t.Errorf("the pruned search answered %d points where it does not pay", bo.prunedFirst)
			}
		})
	}
}

func l2(a, b []float32) float64 {
	var s float64
	for i := range a {
		e := float64(a[i]) - float64(b[i])
		s += e * e
	}
	return s
}
