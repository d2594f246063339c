package kmeans

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/testvec"
)

// bruteNearest is the exhaustive scan nearest must reproduce: least
// asm.L2Sqr, the smaller centre on ties.
func bruteNearest(x, centres []float32, d int) ([]int32, []float32) {
	n, k := len(x)/d, len(centres)/d
	labels, dist := make([]int32, n), make([]float32, n)
	for i := 0; i < n; i++ {
		best, bd := int32(0), float32(math.Inf(1))
		for c := 0; c < k; c++ {
			if v := asm.L2Sqr(x[i*d:(i+1)*d], centres[c*d:(c+1)*d]); v < bd {
				best, bd = int32(c), v
			}
		}
		labels[i], dist[i] = best, bd
	}
	return labels, dist
}

// nearestCase is a set of centres and points, with the centres' moves
// between batches.
type nearestCase struct {
	name    string
	d, k, n int
	centres func(rng *rand.Rand) []float32
	points  func(rng *rand.Rand, centres []float32) []float32
}

func gauss(rng *rand.Rand, n int, scale, offset float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(offset + scale*rng.NormFloat64())
	}
	return x
}

func nearestCases() []nearestCase {
	crowds := func(d, k, per int, scale, offset, spread float64) func(*rand.Rand) []float32 {
		return func(rng *rand.Rand) []float32 {
			// k centres in blobs of about per.
			nb := k/per + 1
			base := gauss(rng, nb*d, scale, offset)
			c := make([]float32, k*d)
			for i := 0; i < k; i++ {
				b := rng.IntN(nb)
				for j := 0; j < d; j++ {
					c[i*d+j] = base[b*d+j] + float32(spread*scale*rng.NormFloat64())
				}
			}
			return c
		}
	}
	blobs := func(d, k int, scale, offset, spread float64) func(*rand.Rand) []float32 {
		return crowds(d, k, 5, scale, offset, spread)
	}
	near := func(d int, scale float64) func(*rand.Rand, []float32) []float32 {
		return func(rng *rand.Rand, c []float32) []float32 { return testvec.NearCopies(rng, c, d, 700, scale) }
	}
	return []nearestCase{
		{name: "blobs", d: 64, k: 1000, centres: blobs(64, 1000, 1, 0, 0.1), points: near(64, 0.1)},
		{name: "isotropic", d: 32, k: 600, centres: func(rng *rand.Rand) []float32 { return gauss(rng, 600*32, 1, 0) },
			points: func(rng *rand.Rand, _ []float32) []float32 { return gauss(rng, 700*32, 1, 0) }},
		// A large common offset: the products' rounding dwarfs the
		// distances, and only the margins keep the bounds honest.
		{name: "offset", d: 64, k: 1000, centres: blobs(64, 1000, 1, 3000, 0.1), points: near(64, 0.05)},
		// Blobs of 20 centres whose distances differ by less than the
		// products' rounding: more candidates than a point remembers.
		{name: "crowded", d: 64, k: 1000, centres: crowds(64, 1000, 20, 1, 300, 0.088), points: near(64, 0.01)},
		{name: "tiny", d: 48, k: 500, centres: blobs(48, 500, 1e-19, 0, 0.1), points: near(48, 1e-20)},
		{name: "huge", d: 48, k: 500, centres: blobs(48, 500, 1e14, 0, 0.1), points: near(48, 1e13)},
		// Duplicate centres and points on them: exact ties, won by the
		// smaller centre.
		{name: "duplicates", d: 40, k: 800, centres: func(rng *rand.Rand) []float32 {
			few := blobs(40, 1000, 1, 5, 0.2)(rng)[:100*40]
			c := make([]float32, 800*40)
			for i := 0; i < 800; i++ {
				r := rng.IntN(100)
				copy(c[i*40:(i+1)*40], few[r*40:(r+1)*40])
			}
			return c
		}, points: func(rng *rand.Rand, c []float32) []float32 {
			x := testvec.NearCopies(rng, c, 40, 700, 0.3)
			copy(x, c[:300*40]) // exactly on centres
			return x
		}},
	}
}

// checkNearest runs mini-batch-like steps through nearest: batches drawn
// from a pool of points, some centres moved a little between steps, a few
// moved onto points (jumps). It compares every assignment with the
// exhaustive scan and returns the points assigned differently, the points
// and those answered from memory.
func checkNearest(t *testing.T, c nearestCase, seed uint64) (wrong, total, revisited int) {
	wrong, total, revisited, _ = checkNearestPruned(t, c, seed)
	return wrong, total, revisited
}

// checkNearestPruned is checkNearest that also checks a first assignment
// without the memory (as of an initialisation) and returns how many points
// the pruned search answered.
func checkNearestPruned(t *testing.T, c nearestCase, seed uint64) (wrong, total, revisited int, prunedScans int64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	centres := c.centres(rng)
	d, k := c.d, len(centres)/c.d
	pool := c.points(rng, centres)
	np := len(pool) / d
	s := newNearest(d, k)
	if !s.remember(np) {
		t.Fatal("no memory")
	}
	const b = 300
	x := make([]float32, b*d)
	xn := make([]float32, b)
	ids := make([]int, b)
	labels, dist := make([]int32, b), make([]float32, b)
	old := make([]float32, d)
	for step := 0; step < 40; step++ {
		for i := range ids {
			ids[i] = rng.IntN(np)
		}
		gather(pool, d, ids, x)
		asm.SqNorms(xn, x, d)
		s.startStep(step)
		wl, wd := bruteNearest(x, centres, d)
		if step == 0 {
			if _, err := s.assign(context.Background(), x, xn, nil, 0, centres, labels, dist); err != nil {
				t.Fatal(err)
			}
			for i := range labels {
				if labels[i] != wl[i] || math.Float32bits(dist[i]) != math.Float32bits(wd[i]) {
					wrong++
				}
			}
			total += b
		}
		if _, err := s.assign(context.Background(), x, xn, ids, step, centres, labels, dist); err != nil {
			t.Fatal(err)
		}
		for i := range labels {
			if labels[i] != wl[i] || math.Float32bits(dist[i]) != math.Float32bits(wd[i]) {
				wrong++
			}
		}
		total += b
		revisited += s.revisited
		// Move a few centres a little towards points of the batch.
		for j := 0; j < k/20; j++ {
			cc, p := rng.IntN(k), rng.IntN(b)
			row := centres[cc*d : (cc+1)*d]
			copy(old, row)
			var sq float64
			for t := range row {
				row[t] = row[t] + (x[p*d+t]-row[t])/float32(8+step)
				e := float64(row[t]) - float64(old[t])
				sq += e * e
			}
			s.moved(cc, sq)
		}
		if step%7 == 3 {
			for j := 0; j < 3; j++ {
				cc := rng.IntN(k)
				copy(centres[cc*d:(cc+1)*d], x[rng.IntN(b)*d:])
				s.jumped(cc, step)
			}
		}
	}
	return wrong, total, revisited, s.prunedScans
}

// lowRank returns k centres of d floats on a latent-dimensional subspace
// with a decaying spectrum, off-centre by offset, with a little noise.
func lowRank(d, k, latent int, offset, noise float64) func(*rand.Rand) []float32 {
	return func(rng *rand.Rand) []float32 {
		w := make([]float64, d*latent)
		for i := range w {
			w[i] = rng.NormFloat64() / math.Sqrt(1+float64(i%latent)/2)
		}
		c := make([]float32, k*d)
		z := make([]float64, latent)
		for i := 0; i < k; i++ {
			for j := range z {
				z[j] = rng.NormFloat64()
			}
			for r := 0; r < d; r++ {
				v := offset + noise*rng.NormFloat64()
				for j, zj := range z {
					v += w[r*latent+j] * zj
				}
				c[i*d+r] = float32(v)
			}
		}
		return c
	}
}

// TestNearestPrunedMatchesExhaustive runs the steps with the pruned search
// of the centres (down to 128 of them here) on structured centres, off-centre,
// with duplicate centres, points on centres and points halfway between two
// (near-ties), and on centres without structure, where it must give way to
// the matrix product; every assignment must be the exhaustive scan's.
func TestNearestPrunedMatchesExhaustive(t *testing.T) {
	defer func(v int) { prunedCentres = v }(prunedCentres)
	prunedCentres = 128
	const d = 96
	ties := func(rng *rand.Rand, c []float32) []float32 {
		k := len(c) / d
		x := testvec.NearCopies(rng, c, d, 700, 0.01)
		for i := 0; i < 700; i++ {
			a, b := rng.IntN(k), rng.IntN(k)
			switch i % 3 {
			case 0: // halfway between two centres
				for j := 0; j < d; j++ {
					x[i*d+j] = (c[a*d+j] + c[b*d+j]) / 2
				}
			case 1: // on a centre
				copy(x[i*d:(i+1)*d], c[a*d:(a+1)*d])
			}
		}
		return x
	}
	dupes := func(rng *rand.Rand) []float32 {
		c := lowRank(d, 800, 6, 40, 0.01)(rng)
		for i := 0; i < 200; i++ { // a quarter are copies of others
			a, b := rng.IntN(800), rng.IntN(800)
			copy(c[a*d:(a+1)*d], c[b*d:(b+1)*d])
		}
		return c
	}
	cases := []nearestCase{
		{name: "lowrank", d: d, k: 1000, centres: lowRank(d, 1000, 8, 0, 0.02), points: ties},
		{name: "lowrank-offset", d: d, k: 1000, centres: lowRank(d, 1000, 8, 2000, 0.001), points: ties},
		{name: "lowrank-duplicates", d: d, k: 800, centres: dupes, points: ties},
		{name: "isotropic", d: d, k: 600, centres: func(rng *rand.Rand) []float32 { return gauss(rng, 600*d, 1, 3) },
			points: func(rng *rand.Rand, _ []float32) []float32 { return gauss(rng, 700*d, 1, 3) }},
	}
	if testing.Short() { // emulated arm64, race: the adversarial structured cases
		cases = []nearestCase{cases[2], cases[3]}
	} else {
		for _, c := range nearestCases() {
			if c.d >= 64 {
				cases = append(cases, c)
			}
		}
	}
	for _, c := range cases {
		wrong, total, revisited, answered := checkNearestPruned(t, c, 1)
		if wrong != 0 {
			t.Errorf("%s: %d of %d points assigned unlike the exhaustive scan", c.name, wrong, total)
		}
		t.Logf("%s: %d of %d points answered from memory, %d by the pruned search", c.name, revisited, total, answered)
		if strings.HasPrefix(c.name, "lowrank") && answered < int64(total-revisited)/2 {
			t.Errorf("%s: the pruned search answered %d of %d points scanned", c.name, answered, total-revisited)
		}
		if c.name == "isotropic" && answered > 1024 {
			t.Errorf("%s: the pruned search answered %d points where it does not pay", c.name, answered)
		}
	}
}

func TestNearestMatchesExhaustive(t *testing.T) {
	seeds := uint64(2)
	if testing.Short() { // one seed under emulation and the race detector
		seeds = 1
	}
	for _, c := range nearestCases() {
		for seed := uint64(1); seed <= seeds; seed++ {
			wrong, total, revisited := checkNearest(t, c, seed)
			if wrong != 0 {
				t.Errorf("%s, seed %d: %d of %d points assigned unlike the exhaustive scan", c.name, seed, wrong, total)
			}
			t.Logf("%s, seed %d: %d of %d points answered from memory", c.name, seed, revisited, total)
			if c.name == "blobs" && revisited < total/4 {
				t.Errorf("%s: only %d of %d points answered from memory", c.name, revisited, total)
			}
		}
	}
}

// Without the margins the adversarial cases go wrong: they test them.
func TestNearestNeedsMargins(t *testing.T) {
	defer func(m float64) { marginScale = m }(marginScale)
	marginScale = 0
	for _, c := range nearestCases() {
		if c.name != "crowded" {
			continue
		}
		wrong := 0
		for seed := uint64(1); seed <= 2; seed++ {
			w, _, _ := checkNearest(t, c, seed)
			wrong += w
		}
		if wrong == 0 {
			t.Errorf("%s: no point assigned wrongly without the margins", c.name)
		}
	}
}
