package l2norm

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/metric"
)

func TestCosineMatchesBruteForce(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 1))
	const n, d, nq, k = 300, 12, 10, 5
	base := make([]float32, n*d)
	for i := range base {
		base[i] = float32(rng.NormFloat64() * float64(1+i%7)) // rows of very different norms
	}
	copy(base[:d], make([]float32, d)) // a zero vector
	queries := make([]float32, nq*d)
	for i := range queries {
		queries[i] = float32(rng.NormFloat64())
	}
	sub, _ := flat.New(d, metric.InnerProduct)
	idx := New(sub)
	if err := idx.Add(ctx, base); err != nil {
		t.Fatal(err)
	}
	res, err := idx.Search(ctx, queries, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	cos := func(a, b []float32) float64 {
		var ab, aa, bb float64
		for i := range a {
			ab += float64(a[i]) * float64(b[i])
			aa += float64(a[i]) * float64(a[i])
			bb += float64(b[i]) * float64(b[i])
		}
		if aa == 0 || bb == 0 {
			return 0
		}
		return ab / math.Sqrt(aa*bb)
	}
	for qi := 0; qi < nq; qi++ {
		q := queries[qi*d : (qi+1)*d]
		// The best cosine over all rows must equal the first result's score.
		best := math.Inf(-1)
		for r := 0; r < n; r++ {
			best = math.Max(best, cos(q, base[r*d:(r+1)*d]))
		}
		dist, ids := res.Row(qi)
		if math.Abs(float64(dist[0])-best) > 1e-5 {
			t.Fatalf("query %d: top score %v, best cosine %v", qi, dist[0], best)
		}
		for j := 0; j < k; j++ {
			got := cos(q, base[ids[j]*d:(ids[j]+1)*d])
			if math.Abs(float64(dist[j])-got) > 1e-5 {
				t.Fatalf("query %d rank %d: score %v but cosine of id %d is %v", qi, j, dist[j], ids[j], got)
			}
		}
	}
	// The zero vector was stored as zeros, not NaN.
	v, err := idx.Reconstruct(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range v {
		if x != 0 {
			t.Fatalf("zero vector reconstructed as %v", v)
		}
	}
}
