// Package testvec makes the synthetic vectors and measures the recall that
// several packages' tests share.
package testvec

import (
	"math"
	"math/rand/v2"

	"github.com/kume-ann/kume"
)

// Normal returns n vectors of dimension d, row-major, of independent
// standard normal components drawn from seed.
func Normal(seed uint64, n, d int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// LowRank draws clustered vectors of low intrinsic dimension, as speech and
// image features are: a Latent-dimensional mixture of Centers Gaussians
// (centres of standard deviation 3, unit spread), mapped to d dimensions by
// a fixed random linear map drawn from MapSeed, plus isotropic noise of
// standard deviation Noise. Draws with the same MapSeed share the map, so
// queries come from the base's distribution.
type LowRank struct {
	Latent, Centers int
	MapSeed         uint64
	// ScaleMap divides the map's entries by sqrt(Latent), so that a
	// vector's spread does not grow with Latent.
	ScaleMap bool
	Noise    float64
}

// Draw returns n vectors of dimension d, row-major, drawn from seed.
func (g LowRank) Draw(seed uint64, n, d int) []float32 {
	mrng := rand.New(rand.NewPCG(g.MapSeed, 3))
	scale := 1.0
	if g.ScaleMap {
		scale = math.Sqrt(float64(g.Latent))
	}
	w := make([]float64, d*g.Latent)
	for i := range w {
		w[i] = mrng.NormFloat64() / scale
	}
	c := make([]float64, g.Centers*g.Latent)
	for i := range c {
		c[i] = 3 * mrng.NormFloat64()
	}
	rng := rand.New(rand.NewPCG(seed, 9))
	x := make([]float32, n*d)
	z := make([]float64, g.Latent)
	for i := 0; i < n; i++ {
		ci := rng.IntN(g.Centers)
		for j := range z {
			z[j] = c[ci*g.Latent+j] + rng.NormFloat64()
		}
		for r := 0; r < d; r++ {
			v := g.Noise * rng.NormFloat64()
			for j, zj := range z {
				v += w[r*g.Latent+j] * zj
			}
			x[i*d+r] = float32(v)
		}
	}
	return x
}

// NearCopies returns n vectors, each a row of rows (d floats, drawn from
// rng) moved by independent normal noise of standard deviation noise.
func NearCopies(rng *rand.Rand, rows []float32, d, n int, noise float64) []float32 {
	k := len(rows) / d
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		r := rng.IntN(k)
		for j := 0; j < d; j++ {
			x[i*d+j] = rows[r*d+j] + float32(noise*rng.NormFloat64())
		}
	}
	return x
}

// Recall is |found top-k ∩ true top-k| / k, averaged over the queries of
// want.
func Recall(got, want *kume.Results, k int) float64 {
	hits := 0
	for q := 0; q < want.NQ; q++ {
		_, wi := want.Row(q)
		_, gi := got.Row(q)
		set := make(map[int64]bool, k)
		for _, id := range wi[:k] {
			set[id] = true
		}
		for _, id := range gi[:k] {
			if set[id] {
				hits++
			}
		}
	}
	return float64(hits) / float64(want.NQ*k)
}
