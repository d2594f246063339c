package contract

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/simdtest"
	"github.com/kume-ann/kume/metric"
)

// nastySet is a data set built to defeat shortcuts in distance computations.
type nastySet struct {
	name          string
	d             int
	base, queries []float32
}

// hubertLike returns n vectors of dimension d shaped like HuBERT features:
// a per-dimension offset plus noise, with squared norms around 6,500.
func hubertLike(rng *rand.Rand, n, d int) []float32 {
	s := math.Sqrt(6500 / float64(d) / 2)
	mean := make([]float64, d)
	for j := range mean {
		mean[j] = s * rng.NormFloat64()
	}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x[i*d+j] = float32(mean[j] + s*rng.NormFloat64())
		}
	}
	return x
}

// nearQueries returns queries of which half are stored vectors plus noise of
// standard deviation eps, a tenth are stored vectors exactly, and the rest
// are fresh(), which returns one new vector.
func nearQueries(rng *rand.Rand, base []float32, d, nq int, eps float64, fresh func() []float32) []float32 {
	n := len(base) / d
	var q []float32
	for i := 0; i < nq; i++ {
		r := rng.IntN(n)
		switch {
		case i%10 == 9:
			q = append(q, perturbed(rng, base, d, []int{r}, 0)...)
		case i%2 == 0:
			q = append(q, perturbed(rng, base, d, []int{r}, eps)...)
		default:
			q = append(q, fresh()...)
		}
	}
	return q
}

// nastySets builds the data sets, deterministically from seed.
func nastySets(seed uint64) []nastySet {
	n, nq := 600, 80
	nh := 800
	if testing.Short() {
		n, nq, nh = 200, 30, 300
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	var out []nastySet
	scaled := func(name string, d int, mean, std float64) {
		base := gaussian(rng, n, d, mean, std)
		q := nearQueries(rng, base, d, nq, std*1e-3, func() []float32 { return gaussian(rng, 1, d, mean, std) })
		out = append(out, nastySet{name, d, base, q})
	}
	scaled("uncentred 1000+N(0,1)", 32, 1000, 1)
	scaled("uncentred 1e4+N(0,0.01)", 32, 1e4, 0.01)
	scaled("huge 1e15", 32, 0, 1e15)
	scaled("tiny 1e-15", 32, 0, 1e-15)
	for _, d := range []int{256, 768} {
		base := hubertLike(rng, nh, d)
		q := nearQueries(rng, base, d, nq, 1e-3, func() []float32 { return hubertLike(rng, 1, d) })
		out = append(out, nastySet{fmt.Sprintf("HuBERT-like d=%d", d), d, base, q})
	}
	// Exact duplicates: few distinct vectors, each stored many times.
	const d, distinct, copies = 16, 25, 8
	u := gaussian(rng, distinct, d, 0, 1)
	var base []float32
	for c := 0; c < copies; c++ {
		for _, r := range rng.Perm(distinct) {
			base = append(base, u[r*d:(r+1)*d]...)
		}
	}
	q := nearQueries(rng, base, d, nq, 1e-3, func() []float32 { return gaussian(rng, 1, d, 0, 1) })
	out = append(out, nastySet{"duplicates", d, base, q})
	return out
}

// TestNastyData checks on every nasty data set, index type and metric that a
// batch matches single queries, that exact searches (Flat, IVF,Flat visiting
// every list) match a float64 brute force, and that exact distances are never
// 0 for a vector that is not the query.
func TestNastyData(t *testing.T) {
	const (
		seed = 21
		k    = 8
	)
	const nlist = 8
	for _, set := range nastySets(seed) {
		var descs []string
		for _, desc := range allDescriptions(nlist, 8) {
			// L2norm over the flat codes only: normalising takes the
			// magnitudes away, and the PQ paths are covered without it.
			if !strings.HasPrefix(desc, "L2norm,") || !strings.Contains(desc, "PQ") {
				descs = append(descs, desc)
			}
		}
		if testing.Short() {
			descs = []string{"Flat", fmt.Sprintf("IVF%d,Flat", nlist), fmt.Sprintf("IVF%d,PQ8x4fs", nlist), fmt.Sprintf("IVF%d,PQ8x4fsr,RFlat", nlist)}
		}
		if set.d >= 256 {
			// The wide sets only on the exact paths and one re-ranked one,
			// to keep the run short.
			descs = []string{"Flat", fmt.Sprintf("IVF%d,Flat", nlist), fmt.Sprintf("IVF%d,PQ8x4fs,RFlat", nlist)}
		}
		for _, desc := range descs {
			for _, m := range metrics {
				label := fmt.Sprintf("seed %d, %s, %s %v", seed, set.name, desc, m)
				idx := build(t, set.d, desc, m, set.base, set.base)
				kd := kindOf(t, set.d, desc)
				var tr *truth
				var q []float32
				if kd.exactDist {
					tr, q = storedTruth(t, label, idx, kd, set.queries)
				}
				for _, p := range []*kume.SearchParams{{NProbe: 2, KFactor: 2}, {NProbe: nlist}} {
					l := label + ", " + paramString(p)
					batch := mustSearch(t, l, idx, set.queries, k, p)
					single := singles(t, l, idx, set.queries, k, p)
					compareBatchSingle(t, l, batch, single, kd.flatCode)
					if !kd.exactDist {
						continue
					}
					for name, res := range map[string]*kume.Results{"batch": batch, "alone": single} {
						for i := 0; i < res.NQ; i++ {
							gd, gi := res.Row(i)
							qi := q[i*set.d : (i+1)*set.d]
							ll := fmt.Sprintf("%s, %s, query %d", l, name, i)
							ok := checkDistances(t, ll, tr, qi, gd, gi)
							if ok && kd.exactWith(p) {
								ok = checkExact(t, ll, tr, qi, gd, gi)
							}
							if !ok {
								break
							}
						}
					}
				}
			}
		}
	}
}

// rvcLists is the number of lists RVC gives an index of n vectors.
func rvcLists(n int) int {
	return max(1, min(int(16*math.Sqrt(float64(n))), n/39))
}

// TestRVCPattern searches as RVC's voice conversion does: an IVF{n},Flat
// index over HuBERT-like features with RVC's number of lists, nprobe 1, all
// the frames of a segment (600 queries, each a stored feature plus noise of
// 1e-3, some exactly a stored feature) in one call, k = 8. RVC weighs the
// neighbours by 1/distance², so no distance may be 0 unless the query is the
// stored vector, every 1/d² must be finite, and every distance must be the
// true distance of its id.
func TestRVCPattern(t *testing.T) {
	const (
		seed = 31
		k    = 8
	)
	for _, tc := range []struct{ d, n int }{{256, 4000}, {768, 2000}} {
		n, nq := tc.n, 600
		if testing.Short() {
			n, nq = tc.n/4, 300
		}
		rng := rand.New(rand.NewPCG(seed, uint64(tc.d)))
		base := hubertLike(rng, n, tc.d)
		rows := make([]int, nq)
		for i := range rows {
			rows[i] = rng.IntN(n)
		}
		q := perturbed(rng, base, tc.d, rows, 1e-3)
		for i := 0; i < nq; i += 25 {
			copy(q[i*tc.d:(i+1)*tc.d], base[rows[i]*tc.d:(rows[i]+1)*tc.d])
		}
		desc := fmt.Sprintf("IVF%d,Flat", rvcLists(n))
		label := fmt.Sprintf("seed %d, d = %d, n = %d, %s, nprobe 1", seed, tc.d, n, desc)
		idx := build(t, tc.d, desc, metric.L2, base, base)
		tr := newTruth(metric.L2, tc.d, base, nil)
		p := &kume.SearchParams{NProbe: 1}
		simdtest.ForEach(t, func(t *testing.T) {
			res := mustSearch(t, label, idx, q, k, p)
			bad := 0
			for i := 0; i < nq && bad < 3; i++ {
				qi := q[i*tc.d : (i+1)*tc.d]
				gd, gi := res.Row(i)
				for j, id := range gi {
					if id < 0 {
						continue
					}
					v, _ := tr.vector(id)
					dist, _ := exact64(metric.L2, qi, v)
					w := (1 / gd[j]) * (1 / gd[j])
					switch {
					case gd[j] == 0 && dist != 0:
						t.Errorf("%s: frame %d, rank %d, id %d: distance 0, true distance %.6g", label, i, j, id, dist)
						bad++
					case dist != 0 && (math.IsInf(float64(w), 0) || math.IsNaN(float64(w))):
						t.Errorf("%s: frame %d, rank %d, id %d: distance %v gives 1/d² = %v", label, i, j, id, gd[j], w)
						bad++
					case !closeRel(float64(gd[j]), dist, dist):
						t.Errorf("%s: frame %d, rank %d, id %d: distance %v, float64 value %.9g (relative error %.3g)", label, i, j, id, gd[j], dist, relDiff(float64(gd[j]), dist))
						bad++
					default:
						continue
					}
					break
				}
				if gi[0] != int64(rows[i]) && bad < 3 {
					v, _ := tr.vector(gi[0])
					got, _ := exact64(metric.L2, qi, v)
					own, _ := exact64(metric.L2, qi, base[rows[i]*tc.d:(rows[i]+1)*tc.d])
					if own < got {
						// The frame's own vector is nearer, and the list it
						// was stored in is the list the frame probes unless
						// the noise moved it across a boundary.
						t.Logf("%s: frame %d: first id %d (true distance %.6g), its own vector %d is at %.6g", label, i, gi[0], got, rows[i], own)
					}
				}
			}
			if bad > 0 {
				return
			}
			single := singles(t, label, idx, q, k, p)
			compareBatchSingle(t, label, res, single, true)
		})
	}
}
