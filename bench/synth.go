package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kume-ann/kume/internal/parallel"
)

// Synth describes a generated data set shaped like the speech features RVC
// voice models index (HuBERT frames): vectors of low intrinsic dimension,
// drawn from clusters of unequal size and unequal, axis-dependent spread,
// mapped into D dimensions by a fixed linear map with a decaying spectrum,
// off-centre, plus a little isotropic noise. Queries come from the same
// distribution, as a voice's new frames come from the voice's own.
//
// Generation is deterministic: the same Synth gives the same numbers on every
// machine and with any number of threads.
type Synth struct {
	// N and NQ are the numbers of base and query vectors; D the dimension.
	N, NQ, D int
	// Clusters is the number of mixture components (256 when 0).
	Clusters int
	// Latent is the intrinsic dimension (min(32, D) when 0).
	Latent int
	// Seed selects the data set; different seeds give independent sets.
	Seed uint64
}

// synthChunk is the number of rows drawn from one random stream, so that
// generation can be split across threads without changing the numbers.
const synthChunk = 4096

// model is the fixed part of a Synth: the map, the offset and the clusters.
type synthModel struct {
	d, l    int
	w       []float64 // d x l, row-major
	mean    []float64 // d
	centers []float64 // clusters x l
	scales  []float64 // clusters x l: per-cluster, per-axis spread
	cdf     []float64 // cumulative cluster weights
}

func (s Synth) withDefaults() Synth {
	if s.Clusters == 0 {
		s.Clusters = 256
	}
	if s.Latent == 0 {
		s.Latent = min(32, s.D)
	}
	return s
}

func (s Synth) check() error {
	if s.D <= 0 || s.N <= 0 || s.NQ <= 0 || s.Clusters <= 0 || s.Latent <= 0 || s.Latent > s.D {
		return fmt.Errorf("bench: synthetic set needs n, nq, d, clusters >= 1 and 1 <= latent <= d; have n=%d nq=%d d=%d clusters=%d latent=%d",
			s.N, s.NQ, s.D, s.Clusters, s.Latent)
	}
	if int64(s.N+s.NQ)*int64(s.D) > 1<<34 {
		return fmt.Errorf("bench: synthetic set of (%d+%d) x %d floats is too large", s.N, s.NQ, s.D)
	}
	return nil
}

func (s Synth) model() *synthModel {
	rng := rand.New(rand.NewPCG(s.Seed, 0x6b756d65))
	m := &synthModel{d: s.D, l: s.Latent}
	// The map: Gaussian columns, column j scaled by 1/sqrt(1+j/4), so that
	// variance decays over the latent axes as in real embeddings.
	m.w = make([]float64, s.D*s.Latent)
	for r := 0; r < s.D; r++ {
		for j := 0; j < s.Latent; j++ {
			m.w[r*s.Latent+j] = rng.NormFloat64() / math.Sqrt(float64(s.Latent)*(1+float64(j)/4))
		}
	}
	m.mean = make([]float64, s.D)
	for i := range m.mean {
		m.mean[i] = 0.5 * rng.NormFloat64()
	}
	m.centers = make([]float64, s.Clusters*s.Latent)
	m.scales = make([]float64, s.Clusters*s.Latent)
	for i := range m.centers {
		m.centers[i] = 2.5 * rng.NormFloat64()
		m.scales[i] = math.Exp(0.5 * rng.NormFloat64())
	}
	// Zipf-like cluster sizes: weight 1/(c+8).
	m.cdf = make([]float64, s.Clusters)
	sum := 0.0
	for c := range m.cdf {
		sum += 1 / float64(c+8)
		m.cdf[c] = sum
	}
	for c := range m.cdf {
		m.cdf[c] /= sum
	}
	return m
}

// draw fills x (rows of d) from the stream (seed, stream, chunk).
func (m *synthModel) draw(x []float32, seed, stream uint64, chunk int) {
	rng := rand.New(rand.NewPCG(seed^stream*0x9e3779b97f4a7c15, uint64(chunk)))
	z := make([]float64, m.l)
	for row := 0; row < len(x)/m.d; row++ {
		u := rng.Float64()
		c := 0
		for lo, hi := 0, len(m.cdf)-1; lo <= hi; {
			mid := (lo + hi) / 2
			if m.cdf[mid] < u {
				lo = mid + 1
			} else {
				c, hi = mid, mid-1
			}
		}
		for j := range z {
			z[j] = m.centers[c*m.l+j] + m.scales[c*m.l+j]*rng.NormFloat64()
		}
		out := x[row*m.d : (row+1)*m.d]
		for r := range out {
			v := m.mean[r] + 0.05*rng.NormFloat64()
			w := m.w[r*m.l : (r+1)*m.l]
			for j, zj := range z {
				v += w[j] * zj
			}
			out[r] = float32(v)
		}
	}
}

// Generate draws the base and query vectors.
func (s Synth) Generate(ctx context.Context, progress func(done, total int64)) (base, queries []float32, err error) {
	s = s.withDefaults()
	if err := s.check(); err != nil {
		return nil, nil, err
	}
	m := s.model()
	base = make([]float32, s.N*s.D)
	queries = make([]float32, s.NQ*s.D)
	fill := func(x []float32, stream uint64, done *int64, total int64) error {
		rows := len(x) / s.D
		chunks := (rows + synthChunk - 1) / synthChunk
		return parallel.For(ctx, chunks, 1, func(lo, hi int) error {
			for c := lo; c < hi; c++ {
				r0, r1 := c*synthChunk, min((c+1)*synthChunk, rows)
				m.draw(x[r0*s.D:r1*s.D], s.Seed, stream, c)
				if progress != nil {
					progress(addInt64(done, int64(r1-r0)), total)
				}
			}
			return nil
		})
	}
	var done int64
	total := int64(s.N + s.NQ)
	if err := fill(base, 1, &done, total); err != nil {
		return nil, nil, err
	}
	if err := fill(queries, 2, &done, total); err != nil {
		return nil, nil, err
	}
	return base, queries, nil
}
