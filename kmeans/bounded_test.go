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
			ex := newAssigner(x, c.d, c.k, false)
			bo := newBounded(newAssigner(x, c.d, c.k, false))
			cent := make([]float32, c.k*c.d)
			copy(cent, x[:c.k*c.d]) // the first points: neighbours, so they move far
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
						xi := x[i*c.d : (i+1)*c.d]
						d1 := l2(xi, cent[int(l)*c.d:(int(l)+1)*c.d])
						d2 := l2(xi, cent[int(bo.a.labels[i])*c.d:(int(bo.a.labels[i])+1)*c.d])
						if d2 > d1+1e-5*l2(xi, make([]float32, c.d)) {
							t.Fatalf("iteration %d, point %d: centroid %d at %v, exhaustive %d at %v", it, i, bo.a.labels[i], d2, l, d1)
						}
						diff++
					}
				}
				if diff > c.n/1000 {
					t.Errorf("iteration %d: %d labels differ", it, diff)
				}
				if math.Abs(got-want) > 1e-4*want {
					t.Errorf("iteration %d: objective %v, exhaustive %v", it, got, want)
				}
				update(x, c.d, c.k, ex.labels, cent, rng)
			}
			full := float64(iters) * float64(c.n)
			used := float64(bo.searched) + float64(bo.scanned)/float64(c.k)
			t.Logf("distances computed: %.0f%% of the exhaustive search's (%d full searches, %d scanned)", 100*used/full, bo.searched, bo.scanned)
			if c.wantSaving && used > 0.6*full {
				t.Errorf("the bounds saved too little: %.0f%% of the distances computed", 100*used/full)
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
