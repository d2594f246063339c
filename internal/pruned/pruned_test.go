package pruned

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/simdtest"
)

// bruteForce returns the k nearest rows of q by asm.L2Sqr, ordered by
// (distance, id): what an exhaustive search returns.
func bruteForce(rows, q []float32, d, k int, rowIDs []int64) ([]float32, []int64) {
	return bruteForceOf(false, rows, q, d, k, rowIDs)
}

// bruteForceIP returns the k rows of largest asm.Dot with q, ties by
// smaller id: what an exhaustive inner-product search returns.
func bruteForceIP(rows, q []float32, d, k int, rowIDs []int64) ([]float32, []int64) {
	return bruteForceOf(true, rows, q, d, k, rowIDs)
}

func bruteForceOf(ip bool, rows, q []float32, d, k int, rowIDs []int64) ([]float32, []int64) {
	n := len(rows) / d
	type hit struct {
		key float32 // smaller is better: the distance, or minus the product
		id  int64
	}
	hits := make([]hit, n)
	for j := 0; j < n; j++ {
		id := int64(j)
		if rowIDs != nil {
			id = rowIDs[j]
		}
		if ip {
			hits[j] = hit{-asm.Dot(q, rows[j*d:(j+1)*d]), id}
		} else {
			hits[j] = hit{asm.L2Sqr(q, rows[j*d:(j+1)*d]), id}
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return int(a.id - b.id)
	})
	dist, ids := make([]float32, k), make([]int64, k)
	for i := 0; i < k; i++ {
		dist[i], ids[i] = hits[i].key, hits[i].id
		if ip {
			dist[i] = -dist[i]
		}
	}
	return dist, ids
}

// checkSet compares the Set's answers with the brute force, bit for bit,
// for every query and each k, in one batch and one query at a time.
func checkSet(t *testing.T, rows, queries []float32, d int, ks []int, rowIDs []int64) {
	t.Helper()
	checkSetOf(t, false, rows, queries, d, ks, rowIDs, 1)
}

// checkSetIP is checkSet for an inner-product Set (NewIP), with every
// fifth query also searched alone; it returns the Set.
func checkSetIP(t *testing.T, rows, queries []float32, d int, ks []int, rowIDs []int64) *Set {
	t.Helper()
	return checkSetOf(t, true, rows, queries, d, ks, rowIDs, 5)
}

func checkSetOf(t *testing.T, ip bool, rows, queries []float32, d int, ks []int, rowIDs []int64, aloneEvery int) *Set {
	t.Helper()
	s := New(rows, d)
	if ip {
		s = NewIP(rows, d)
	}
	if s == nil {
		t.Fatalf("no Set (inner product %v) for %d rows of %d", ip, len(rows)/d, d)
	}
	nq := len(queries) / d
	for _, k := range ks {
		dist, ids := make([]float32, nq*k), make([]int64, nq*k)
		if err := s.Search(context.Background(), queries, k, dist, ids, rowIDs); err != nil {
			t.Fatal(err)
		}
		one, oneIDs := make([]float32, k), make([]int64, k)
		for i := 0; i < nq; i++ {
			q := queries[i*d : (i+1)*d]
			wantD, wantI := bruteForceOf(ip, rows, q, d, k, rowIDs)
			gotD, gotI := dist[i*k:(i+1)*k], ids[i*k:(i+1)*k]
			if !slices.Equal(gotD, wantD) || !slices.Equal(gotI, wantI) {
				t.Fatalf("k=%d query %d: batch (%v, %v), exhaustive (%v, %v)", k, i, gotI, gotD, wantI, wantD)
			}
			if i%aloneEvery != 0 {
				continue
			}
			if err := s.Search(context.Background(), q, k, one, oneIDs, rowIDs); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(one, wantD) || !slices.Equal(oneIDs, wantI) {
				t.Fatalf("k=%d query %d alone: (%v, %v), exhaustive (%v, %v)", k, i, oneIDs, one, wantI, wantD)
			}
		}
	}
	return s
}

// clustered returns n points of d floats near a latent-dimensional subspace,
// off-centre by offset, and queries drawn the same way with extra noise.
func clustered(rng *rand.Rand, n, nq, d, latent int, offset, noise float64) (rows, queries []float32) {
	w := make([]float64, d*latent)
	for i := range w {
		w[i] = rng.NormFloat64() / math.Sqrt(float64(latent)*(1+float64(i%latent)/4))
	}
	draw := func(m int, extra float64) []float32 {
		out := make([]float32, m*d)
		z := make([]float64, latent)
		for r := 0; r < m; r++ {
			for j := range z {
				z[j] = 2 * rng.NormFloat64()
			}
			for i := 0; i < d; i++ {
				v := offset
				for j, zj := range z {
					v += w[i*latent+j] * zj
				}
				out[r*d+i] = float32(v + (noise+extra)*rng.NormFloat64())
			}
		}
		return out
	}
	return draw(n, 0), draw(nq, noise)
}

func TestMatchesExhaustive(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, c := range dataCases(1282, 600) {
			t.Run(c.name, func(t *testing.T) {
				rows, queries := c.draw(rng, 40)
				checkSet(t, rows, queries, c.d, []int{1, 3, 8}, nil)
			})
		}
	})
}

// dataCase is a kind of rows the searches are tested on: clustered rows
// (see clustered) of intrinsic dimension latent, off-centre by offset, with
// noise; "tiny" ones scaled down by 1e-18.
type dataCase struct {
	name          string
	n, d, latent  int
	offset, noise float64
	prunes        bool // the bound prunes most rows
}

// dataCases returns the kinds tested: RVC-like 768-d centroids (n768 of
// them) and 256-d ones (n256), off-centre, tiny, huge, structureless and
// exactly low-dimensional rows.
func dataCases(n768, n256 int) []dataCase {
	return []dataCase{
		{"rvc768", n768, 768, 32, 0.5, 0.05, true},
		{"rvc256", n256, 256, 32, 0, 0.05, true},
		{"offcentre", 400, 128, 8, 1000, 0.01, true},
		{"tiny", 300, 96, 16, 0, 1e-19, false},
		{"huge", 300, 64, 16, 1e15, 1e12, false},
		{"nostructure", 500, 128, 128, 0, 1, false},
		{"exactsubspace", 400, 64, 31, 0, 0, true},
	}
}

// draw returns the case's rows and nq queries.
func (c dataCase) draw(rng *rand.Rand, nq int) (rows, queries []float32) {
	rows, queries = clustered(rng, c.n, nq, c.d, c.latent, c.offset, c.noise)
	if c.name == "tiny" {
		for i := range rows {
			rows[i] *= 1e-18
		}
		for i := range queries {
			queries[i] *= 1e-18
		}
	}
	return rows, queries
}

// TestTiesAndDuplicates: rows on an integer lattice, exact duplicates and
// queries at lattice points and half-way between them, where many rows are
// at exactly the same distance: the order must be by id, with ids that are
// not the row numbers.
func TestTiesAndDuplicates(t *testing.T) {
	const d, n = 64, 512
	rng := rand.New(rand.NewPCG(3, 4))
	rows := make([]float32, n*d)
	for r := 0; r < n; r++ {
		src := r
		if r%5 == 4 {
			src = r - 1 - rng.IntN(3) // an exact duplicate of an earlier row
		}
		for i := 0; i < 3; i++ {
			rows[r*d+i] = float32((src >> (3 * i)) & 7)
		}
		if src != r {
			copy(rows[r*d:(r+1)*d], rows[src*d:(src+1)*d])
		}
	}
	var queries []float32
	for i := 0; i < 60; i++ {
		q := make([]float32, d)
		for j := 0; j < 3; j++ {
			q[j] = float32(rng.IntN(16)) / 2
		}
		queries = append(queries, q...)
	}
	ids := make([]int64, n)
	for i, p := range rng.Perm(n) {
		ids[i] = int64(p) * 3
	}
	checkSet(t, rows, queries, d, []int{1, 2, 5, 20}, nil)
	checkSet(t, rows, queries, d, []int{1, 2, 5, 20}, ids)
}

// TestEquidistant: rows on a sphere around the query, all at nearly the same
// distance, so that every bound is within rounding of the answer.
func TestEquidistant(t *testing.T) {
	const d, n = 96, 300
	rng := rand.New(rand.NewPCG(5, 6))
	centre := make([]float32, d)
	for i := range centre {
		centre[i] = float32(3 + rng.NormFloat64())
	}
	rows := make([]float32, n*d)
	for r := 0; r < n; r++ {
		v := make([]float64, d)
		var nn float64
		for i := 0; i < 20; i++ { // a 20-dimensional sphere
			v[i] = rng.NormFloat64()
			nn += v[i] * v[i]
		}
		for i := range v {
			rows[r*d+i] = centre[i] + float32(v[i]/math.Sqrt(nn))
		}
	}
	queries := append([]float32(nil), centre...)
	for i := 0; i < 10; i++ {
		for j := range centre {
			queries = append(queries, centre[j]+float32(1e-4*rng.NormFloat64()))
		}
	}
	checkSet(t, rows, queries, d, []int{1, 4, 16}, nil)
}

// TestLargeQueries: queries whose centred norm is beyond the bound's range
// are answered exhaustively, still exactly.
func TestLargeQueries(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rows, queries := clustered(rng, 256, 4, 64, 8, 0, 0.1)
	queries[0] = 1e17
	queries[64+5] = -3e16
	checkSet(t, rows, queries, 64, []int{1, 3}, nil)
}

func TestNewDeclines(t *testing.T) {
	if New(make([]float32, 100*64), 64) != nil {
		t.Error("New accepted fewer rows than MinRows")
	}
	if New(make([]float32, 1000*32), 32) != nil {
		t.Error("New accepted a dimension below minDim")
	}
	rows := make([]float32, 200*64)
	rows[7] = 1e20 // squared norm 1e40: beyond the bound's arithmetic
	if New(rows, 64) != nil {
		t.Error("New accepted rows whose squared norms overflow the bound")
	}
	if s := New(make([]float32, 200*64), 64); s == nil {
		t.Error("New declined 200 identical rows")
	}
}

func TestCancel(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	rows, queries := clustered(rng, 300, 10, 64, 8, 0, 0.1)
	s := New(rows, 64)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Search(ctx, queries, 1, make([]float32, 10), make([]int64, 10), nil)
	if err != context.Canceled {
		t.Fatalf("cancelled search: %v", err)
	}
}

// countdown is a context that is done after its Err has been asked n
// times: a cancellation in the middle of a long call.
type countdown struct {
	context.Context
	n int
}

func (c *countdown) Err() error {
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

// TestCancelMidway: Build and Within check their context inside long calls
// (between blocks of rows), not only at their start.
func TestCancelMidway(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	n := 2*rangeCheck*rangeRows + 100
	rows, queries := clustered(rng, n, 3, 64, 8, 0, 0.1)
	if s, err := Build(&countdown{context.Background(), 1}, rows, 64, false); s != nil || err != context.Canceled {
		t.Fatalf("Build cancelled after its first block: %v, %v", s != nil, err)
	}
	s := New(rows, 64)
	calls := 0
	err := s.Within(&countdown{context.Background(), 1}, queries, float32(math.Inf(1)), func(int, []int32) error {
		calls++
		return nil
	})
	if err != context.Canceled || calls != 0 {
		t.Fatalf("Within cancelled while scoring its first group: %v after %d queries", err, calls)
	}
}

func BenchmarkSearch(b *testing.B) {
	for _, c := range []struct{ n, d, latent int }{{1282, 768, 32}, {5128, 768, 32}, {1282, 256, 32}, {1282, 768, 128}} {
		rng := rand.New(rand.NewPCG(11, 12))
		rows, queries := clustered(rng, c.n, 512, c.d, c.latent, 0.5, 0.05)
		s := New(rows, c.d)
		dist, ids := make([]float32, 512), make([]int64, 512)
		b.Run(fmt.Sprintf("n=%d/d=%d/latent=%d", c.n, c.d, c.latent), func(b *testing.B) {
			for b.Loop() {
				if err := s.Search(context.Background(), queries, 1, dist, ids, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*512), "µs/query")
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for _, c := range []struct{ n, d int }{{1282, 768}, {5128, 768}, {16384, 256}} {
		rng := rand.New(rand.NewPCG(11, 12))
		rows, _ := clustered(rng, c.n, 1, c.d, 32, 0.5, 0.05)
		b.Run(fmt.Sprintf("n=%d/d=%d", c.n, c.d), func(b *testing.B) {
			for b.Loop() {
				if New(rows, c.d) == nil {
					b.Fatal("nil")
				}
			}
		})
	}
}

// TestPointErrors checks the error terms of computed points against points
// computed in float64 from the exact centred vectors: the distance between
// the two never exceeds h, for residuals found from the norms (queries) and
// by reconstruction (rows), on data where the residual is large, small and
// zero, and at large and tiny magnitudes.
func TestPointErrors(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		var fromNorms, rebuilt int
		for _, c := range []struct {
			name          string
			d, latent     int
			offset, noise float64
			scale         float64
		}{
			{"rvc768", 768, 32, 0.5, 0.05, 1},
			{"lowresidual", 256, 30, 3, 1e-4, 1},
			{"highresidual", 128, 64, 0, 0.5, 1},
			{"exactsubspace", 64, 30, 0, 0, 1},
			{"offcentre", 128, 8, 1000, 0.01, 1},
			{"huge", 96, 16, 0, 0.1, 1e12},
			{"tiny", 96, 16, 0, 0.1, 1e-17},
		} {
			rows, queries := clustered(rng, 400, 64, c.d, c.latent, c.offset, c.noise)
			for i := range rows {
				rows[i] *= float32(c.scale)
			}
			for i := range queries {
				queries[i] *= float32(c.scale)
			}
			s := New(rows, c.d)
			if s == nil {
				t.Fatalf("%s: no Set", c.name)
			}
			d, m := s.d, s.m
			nq := len(queries) / d
			qc := make([]float32, nq*d)
			for i := 0; i < nq; i++ {
				s.centreInto(qc[i*d:(i+1)*d], queries[i*d:(i+1)*d])
			}
			for _, norms := range []bool{true, false} {
				out := make([]float32, nq*width)
				h := make([]float64, nq)
				redone := s.points(out, h, qc, make([]float32, nq*m), make([]float32, nq*d), make([]float32, nq),
					norms, make([]float32, nq*m), make([]int32, 0, nq))
				if norms {
					fromNorms += nq - redone
					rebuilt += redone
				}
				for i := 0; i < nq; i++ {
					y := make([]float64, d)
					var ny float64
					for j := range y {
						y[j] = float64(queries[i*d+j]) - float64(s.mean[j])
						ny += y[j] * y[j]
					}
					res := append([]float64(nil), y...)
					var e2 float64
					for b := 0; b < m; b++ {
						var p float64
						for j := range y {
							p += float64(s.basis[b*d+j]) * y[j]
						}
						for j := range res {
							res[j] -= float64(s.basis[b*d+j]) * p
						}
						e := float64(out[i*width+b]) - p
						e2 += e * e
					}
					var r float64
					for _, v := range res {
						r += v * v
					}
					e := float64(out[i*width+m]) - math.Sqrt(r)
					e2 += e * e
					if got := math.Sqrt(e2); got > h[i]+1e-12*math.Sqrt(ny) {
						t.Errorf("%s, query %d (residual from norms %v): point error %.3g > h = %.3g (||y|| %.3g, r %.3g)",
							c.name, i, norms, got, h[i], math.Sqrt(ny), math.Sqrt(r))
					}
				}
			}
		}
		// Both ways of finding the residual are exercised.
		if fromNorms == 0 || rebuilt == 0 {
			t.Errorf("residuals from norms %d, reconstructed %d: want both", fromNorms, rebuilt)
		}
	})
}

// walk returns runs of queries that stay near one row each, as frames of
// speech stay near one stored frame: each run starts at a random row and
// moves by steps of the given spread per coordinate; some frames repeat the
// one before exactly, and some are a row itself.
func walk(rng *rand.Rand, rows []float32, d, nq int, spread float64) []float32 {
	n := len(rows) / d
	out := make([]float32, 0, nq*d)
	var cur []float32
	for len(out) < nq*d {
		switch r := rng.IntN(12); {
		case cur == nil || r == 0: // a new run
			cur = append([]float32(nil), rows[rng.IntN(n)*d:][:d]...)
		case r == 1: // the same frame again
		case r == 2: // a stored row exactly
			cur = append(cur[:0], rows[rng.IntN(n)*d:][:d]...)
		default:
			for i := range cur {
				cur[i] += float32(spread * rng.NormFloat64())
			}
		}
		out = append(out, cur...)
	}
	return out
}

// TestFollowers checks the answers of queries answered from an earlier
// query's bound scores (follow) against the exhaustive search, on runs of
// close queries over clustered rows, offset rows and a lattice with exact
// duplicates and ties, and that the followers' path is taken.
func TestFollowers(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		lattice := make([]float32, 512*64)
		for r := 0; r < 512; r++ {
			src := r
			if r%5 == 4 {
				src = r - 1 - rng.IntN(3)
			}
			for i := 0; i < 3; i++ {
				lattice[r*64+i] = float32((src >> (3 * i)) & 7)
			}
		}
		rvc768, _ := clustered(rng, 1282, 1, 768, 32, 0.5, 0.05)
		rvc256, _ := clustered(rng, 600, 1, 256, 32, 0, 0.05)
		offcentre, _ := clustered(rng, 400, 1, 128, 8, 1000, 0.01)
		for _, c := range []struct {
			name   string
			rows   []float32
			d      int
			spread float64
		}{
			{"rvc768", rvc768, 768, 0.01},
			{"rvc256", rvc256, 256, 0.02},
			{"rvc256far", rvc256, 256, 0.2},
			{"offcentre", offcentre, 128, 0.001},
			{"lattice", lattice, 64, 0},
		} {
			t.Run(c.name, func(t *testing.T) {
				if testing.Short() && c.d > 256 {
					t.Skip("768-d brute force: not with -short (emulated arm64, race detector)")
				}
				d := c.d
				var queries []float32
				if c.spread == 0 {
					// Half-integer steps on the lattice: every step ties.
					q := make([]float32, d)
					for i := 0; i < 300; i++ {
						q[rng.IntN(3)] = float32(rng.IntN(16)) / 2
						queries = append(queries, q...)
					}
				} else {
					queries = walk(rng, c.rows, d, 300, c.spread)
				}
				s := New(c.rows, d)
				nq := len(queries) / d
				ids := make([]int64, len(c.rows)/d)
				for i, p := range rng.Perm(len(ids)) {
					ids[i] = int64(p) * 7
				}
				for _, rowIDs := range [][]int64{nil, ids} {
					for _, k := range []int{1, 3, 8} {
						dist, got := make([]float32, nq*k), make([]int64, nq*k)
						if err := s.Search(context.Background(), queries, k, dist, got, rowIDs); err != nil {
							t.Fatal(err)
						}
						for i := 0; i < nq; i++ {
							wantD, wantI := bruteForce(c.rows, queries[i*d:(i+1)*d], d, k, rowIDs)
							if !slices.Equal(dist[i*k:(i+1)*k], wantD) || !slices.Equal(got[i*k:(i+1)*k], wantI) {
								t.Fatalf("k=%d query %d: (%v, %v), exhaustive (%v, %v)", k, i, got[i*k:(i+1)*k], dist[i*k:(i+1)*k], wantI, wantD)
							}
						}
					}
				}
				if f := s.followed.Load(); f < int64(nq) {
					t.Errorf("%d of %d queries answered from a leader's scores in 6 searches", f, 6*nq)
				}
			})
		}
	})
}

// seedThreshold's score is the k-th smallest of the minima of 2k runs, so
// at least k scores are at most it; with few distinct values (ties) too.
func TestSeedThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	var mins []float32
	for trial := 0; trial < 2000; trial++ {
		k := 2 + rng.IntN(30)
		n := 2*k + rng.IntN(1200)
		w := make([]float32, n)
		levels := 1 + rng.IntN(50)
		for i := range w {
			if trial%2 == 0 {
				w[i] = float32(rng.NormFloat64())
			} else {
				w[i] = float32(rng.IntN(levels))
			}
		}
		thr := seedThreshold(w, k, &mins)
		// The same by sorting.
		var ms []float32
		for r := 0; r < 2*k; r++ {
			lo, hi := runStart(r, n, 2*k), runStart(r+1, n, 2*k)
			if lo >= hi || (r == 0) != (lo == 0) || (r == 2*k-1) != (hi == n) {
				t.Fatalf("n %d, k %d: run %d is [%d, %d)", n, k, r, lo, hi)
			}
			ms = append(ms, slices.Min(w[lo:hi]))
		}
		slices.Sort(ms)
		if thr != ms[k-1] {
			t.Fatalf("trial %d (n %d, k %d): threshold %v, want %v", trial, n, k, thr, ms[k-1])
		}
		cnt := 0
		for _, v := range w {
			if v <= thr {
				cnt++
			}
		}
		if cnt < k {
			t.Fatalf("trial %d: %d scores at most the threshold, want >= %d", trial, cnt, k)
		}
	}
}

// Many rows with the same bound (identical rows, so identical scores): the
// seed is cut to the k smallest, and the answer is still exact.
func TestSeedOfEqualScores(t *testing.T) {
	const d, n = 64, 400
	rng := rand.New(rand.NewPCG(15, 16))
	rows := make([]float32, n*d)
	for r := 0; r < n; r++ {
		src := r
		if r%4 != 0 {
			src = 0 // three rows in four are row 0
		}
		for i := 0; i < 8; i++ {
			rows[r*d+i] = float32((src*7+i*3)%11) + float32(rng.IntN(2))*float32(src%2)
		}
	}
	var queries []float32
	for i := 0; i < 20; i++ {
		q := make([]float32, d)
		for j := 0; j < 8; j++ {
			q[j] = float32(rng.IntN(11))
		}
		queries = append(queries, q...)
	}
	checkSet(t, rows, queries, d, []int{2, 6, 16, 40}, nil)
}

// TestPaysAgain: a set that stopped paying on queries it cannot prune (too
// large for its bound, answered by measuring every row) is tried again
// after a few calls of Pays, and keeps paying on queries it prunes.
func TestPaysAgain(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	rows, queries := clustered(rng, 300, 64, 64, 8, 0, 0.05)
	s := New(rows, 64)
	huge := make([]float32, 600*64)
	for i := range huge {
		huge[i] = 1e17
	}
	dist, ids := make([]float32, 600), make([]int64, 600)
	if err := s.Search(context.Background(), huge, 1, dist, ids, nil); err != nil {
		t.Fatal(err)
	}
	if s.Pays() {
		t.Fatal("the set pays after 600 queries that measured every row")
	}
	calls := 1
	for ; !s.Pays(); calls++ {
		if calls > payRetry {
			t.Fatalf("Pays still false after %d calls", calls)
		}
	}
	for i := 0; i < 3; i++ {
		if err := s.Search(context.Background(), queries, 1, dist[:64], ids[:64], nil); err != nil {
			t.Fatal(err)
		}
		if !s.Pays() {
			t.Fatalf("after %d batches of prunable queries the set does not pay", i+1)
		}
	}
	// Unprunable queries again: each judgement that finds the set not
	// paying doubles the calls before the next, up to payRetryMax; one
	// that finds it paying makes the wait short again.
	for _, want := range []int{payRetry, 2 * payRetry, 4 * payRetry} {
		if err := s.Search(context.Background(), huge, 1, dist, ids, nil); err != nil {
			t.Fatal(err)
		}
		if s.Pays() {
			t.Fatal("the set pays after queries that measured every row")
		}
		calls := 1 // the call above
		for {
			calls++
			if s.Pays() {
				break
			}
		}
		if calls != want {
			t.Fatalf("a new judgement after %d calls, want %d", calls, want)
		}
	}
	if err := s.Search(context.Background(), queries, 1, dist[:64], ids[:64], nil); err != nil {
		t.Fatal(err)
	}
	if !s.Pays() || s.retry.Load() != 0 {
		t.Fatalf("prunable queries after the waits: pays %v, wait %d", s.Pays(), s.retry.Load())
	}
}

// TestFollowersAloneAndConcurrent: queries answered from leaders in a batch
// get what each gets alone, and what two goroutines searching the same set
// at once (GOMAXPROCS 2, leaders carried over in pooled scratch) get, on
// near-duplicate runs of un-centred rows.
func TestFollowersAloneAndConcurrent(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	rng := rand.New(rand.NewPCG(17, 18))
	const d, k = 256, 4
	rows, _ := clustered(rng, 600, 1, d, 32, 50, 0.05)
	queries := walk(rng, rows, d, 256, 0.002)
	s := New(rows, d)
	nq := len(queries) / d
	dist, ids := make([]float32, nq*k), make([]int64, nq*k)
	if err := s.Search(context.Background(), queries, k, dist, ids, nil); err != nil {
		t.Fatal(err)
	}
	if s.followed.Load() == 0 {
		t.Fatal("no query followed a leader")
	}
	one, oneIDs := make([]float32, k), make([]int64, k)
	for i := 0; i < nq; i++ {
		if err := s.Search(context.Background(), queries[i*d:(i+1)*d], k, one, oneIDs, nil); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(one, dist[i*k:(i+1)*k]) || !slices.Equal(oneIDs, ids[i*k:(i+1)*k]) {
			t.Fatalf("query %d alone (%v, %v), in the batch (%v, %v)", i, oneIDs, one, ids[i*k:(i+1)*k], dist[i*k:(i+1)*k])
		}
		if wantD, wantI := bruteForce(rows, queries[i*d:(i+1)*d], d, k, nil); !slices.Equal(one, wantD) || !slices.Equal(oneIDs, wantI) {
			t.Fatalf("query %d (%v, %v), exhaustive (%v, %v)", i, oneIDs, one, wantI, wantD)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 2)
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gd, gi := make([]float32, nq*k), make([]int64, nq*k)
			for rep := 0; rep < 3; rep++ {
				if err := s.Search(context.Background(), queries, k, gd, gi, nil); err != nil {
					errs <- err.Error()
					return
				}
				if !slices.Equal(gd, dist) || !slices.Equal(gi, ids) {
					errs <- "a concurrent batch answered unlike the first"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// checkWithin runs Within at each radius and fails unless every query's
// candidates are increasing rows that hold every row nearer than the
// radius by asm.L2Sqr. It returns how many queries got candidates (the
// others measure every row) and how many candidates they got in all.
func checkWithin(t *testing.T, s *Set, rows, queries []float32, d int, radii []float32) (pruned, cands int) {
	t.Helper()
	nq := len(queries) / d
	for _, radius := range radii {
		next := 0
		err := s.Within(context.Background(), queries, radius, func(i int, cand []int32) error {
			if i != next {
				t.Fatalf("radius %v: query %d after %d", radius, i, next-1)
			}
			next++
			if cand == nil {
				return nil
			}
			pruned++
			cands += len(cand)
			for t2 := 1; t2 < len(cand); t2++ {
				if cand[t2] <= cand[t2-1] {
					t.Fatalf("radius %v query %d: candidates not increasing: %v", radius, i, cand)
				}
			}
			q := queries[i*d : (i+1)*d]
			c := 0
			for j := 0; j < len(rows)/d; j++ {
				if asm.L2Sqr(q, rows[j*d:(j+1)*d]) >= radius {
					continue
				}
				for c < len(cand) && int(cand[c]) < j {
					c++
				}
				if c == len(cand) || int(cand[c]) != j {
					t.Fatalf("radius %v query %d: row %d at %v is not a candidate", radius, i, j, asm.L2Sqr(q, rows[j*d:(j+1)*d]))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if next != nq {
			t.Fatalf("radius %v: %d queries answered of %d", radius, next, nq)
		}
	}
	return pruned, cands
}

// radiiOf returns radii at which a range search is hardest for q: the
// distances of its nearest rows themselves (the row at exactly the radius
// is out, the next float above lets it in), and 0, a tiny and an infinite
// radius.
func radiiOf(rows, q []float32, d int) []float32 {
	dist, _ := bruteForce(rows, q, d, 20, nil)
	r := []float32{0, 1e-30, float32(math.Inf(1)), -1}
	for _, k := range []int{0, 4, 19} {
		r = append(r, dist[k], math.Nextafter32(dist[k], float32(math.Inf(1))), math.Nextafter32(dist[k], 0))
	}
	return r
}

// TestWithin: the candidates of a range search hold every row nearer than
// the radius, on clustered, off-centre, tiny, huge, unstructured and
// lattice data, at radii that fall exactly on rows' distances; on data near
// a subspace most queries get few candidates.
func TestWithin(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(41, 42))
		for _, c := range dataCases(1282, 1282) {
			t.Run(c.name, func(t *testing.T) {
				if testing.Short() && c.d > 256 {
					t.Skip("768-d brute force: not with -short (emulated arm64, race detector)")
				}
				rows, queries := c.draw(rng, 70)
				s := New(rows, c.d)
				if s == nil {
					t.Fatal("no set")
				}
				// Radii hard for the first query, then for a stored row.
				radii := append(radiiOf(rows, queries[:c.d], c.d), radiiOf(rows, rows[7*c.d:8*c.d], c.d)...)
				if testing.Short() {
					// Those on the first query's nearest rows, and 0 and
					// +Inf: a third of the brute force under emulation.
					radii = append(radii[:3], radii[4:10]...)
				}
				pruned, cands := checkWithin(t, s, rows, queries, c.d, radii)
				// A query that is a stored row, alone.
				checkWithin(t, s, rows, rows[7*c.d:8*c.d], c.d, radii)
				if c.prunes && (pruned < len(queries)/c.d*len(radii)/2 || cands > pruned*c.n/8) {
					t.Errorf("%d of %d searches pruned, %d candidates", pruned, len(queries)/c.d*len(radii), cands)
				}
			})
		}
	})
	t.Run("groups", func(t *testing.T) {
		// More queries than one group takes, and rows over several
		// products of a group.
		rng := rand.New(rand.NewPCG(45, 46))
		rows, queries := clustered(rng, 3*rangeRows+77, 2*rangeGroup+30, 64, 8, 0, 0.02)
		s := New(rows, 64)
		r := radiiOf(rows, queries[:64], 64)
		if pruned, _ := checkWithin(t, s, rows, queries, 64, r[4:]); pruned == 0 {
			t.Error("no query pruned")
		}
	})
	t.Run("lattice", func(t *testing.T) {
		const d, n = 64, 512
		rng := rand.New(rand.NewPCG(43, 44))
		rows := make([]float32, n*d)
		for r := 0; r < n; r++ {
			for i := 0; i < 3; i++ {
				rows[r*d+i] = float32((r >> (3 * i)) & 7)
			}
			if r%5 == 4 {
				copy(rows[r*d:(r+1)*d], rows[(r-1)*d:r*d])
			}
		}
		var queries []float32
		for i := 0; i < 30; i++ {
			for j := 0; j < d; j++ {
				v := float32(0)
				if j < 3 {
					v = float32(rng.IntN(16)) / 2
				}
				queries = append(queries, v)
			}
		}
		s := New(rows, d)
		// Every half-integer step ties: radii at integers and quarters.
		checkWithin(t, s, rows, queries, d, []float32{0.25, 0.5, 0.75, 1, 1.25, 2, 2.25, 3, 5})
	})
}

// TestIPMatchesExhaustive: an inner-product Set returns the exhaustive
// search's products and ids bit for bit on clustered, off-centre, tiny,
// huge and unstructured rows, on rows of widely different norms, on unit
// rows (cosine), on a lattice with exact duplicates and ties, and for runs
// of close queries (followers); on clustered rows it measures few.
func TestIPMatchesExhaustive(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(61, 62))
		n256 := 1282
		if testing.Short() {
			n256 = 600
		}
		for _, c := range dataCases(0, n256) {
			if c.name == "rvc768" {
				continue // 768-d brute force: the 256-d case covers it
			}
			if c.name == "huge" {
				// Lifted rows of norm 1e15·sqrt(d) would be beyond
				// the bound's range (NewIP declines them).
				c.offset, c.noise = 1e12, 1e9
			}
			t.Run(c.name, func(t *testing.T) {
				rows, queries := c.draw(rng, 40)
				s := checkSetIP(t, rows, queries, c.d, []int{1, 3, 8}, nil)
				t.Logf("%s: %d of %d queries measured every row", c.name, s.unpruned.Load(), s.queries.Load())
			})
		}
		t.Run("norms", func(t *testing.T) {
			// Rows scaled by factors from 1/30 to 30: the lift's extra
			// coordinate spans the whole range.
			const d = 96
			rows, queries := clustered(rng, 700, 40, d, 12, 0.3, 0.02)
			for r := 0; r < 700; r++ {
				f := float32(math.Exp(3.4 * (rng.Float64() - 0.5) * 2))
				for j := 0; j < d; j++ {
					rows[r*d+j] *= f
				}
			}
			checkSetIP(t, rows, queries, d, []int{1, 5}, nil)
		})
		t.Run("unit", func(t *testing.T) {
			const d = 128
			rows, queries := clustered(rng, 900, 40, d, 16, 1, 0.01)
			for _, v := range [][]float32{rows, queries} {
				for r := 0; r < len(v)/d; r++ {
					row := v[r*d : (r+1)*d]
					n := float32(math.Sqrt(float64(asm.Dot(row, row))))
					for j := range row {
						row[j] /= n
					}
				}
			}
			s := checkSetIP(t, rows, queries, d, []int{1, 8}, nil)
			if !s.Pays() {
				t.Error("the inner-product bound does not pay on clustered unit rows")
			}
		})
		t.Run("lattice", func(t *testing.T) {
			const d, n = 64, 512
			rows := make([]float32, n*d)
			for r := 0; r < n; r++ {
				src := r
				if r%5 == 4 {
					src = r - 1 - rng.IntN(3)
				}
				for i := 0; i < 3; i++ {
					rows[r*d+i] = float32((src>>(3*i))&7) - 3
				}
			}
			var queries []float32
			q := make([]float32, d)
			for i := 0; i < 200; i++ {
				q[rng.IntN(3)] = float32(rng.IntN(9)) - 4
				queries = append(queries, q...)
			}
			ids := make([]int64, n)
			for i, p := range rng.Perm(n) {
				ids[i] = int64(p) * 3
			}
			checkSetIP(t, rows, queries, d, []int{1, 2, 5, 20}, nil)
			checkSetIP(t, rows, queries, d, []int{1, 5}, ids)
		})
		t.Run("followers", func(t *testing.T) {
			const d = 256
			rows, _ := clustered(rng, 1000, 1, d, 32, 0, 0.05)
			queries := walk(rng, rows, d, 300, 0.02)
			s := checkSetIP(t, rows, queries, d, []int{1, 8}, nil)
			if f := s.followed.Load(); f < int64(len(queries)/d/2) {
				t.Errorf("%d queries answered from a leader's scores", f)
			}
		})
	})
}

// TestUpdate changes rows in place as mini-batch k-means moves its centres
// (small moves, jumps onto other rows: duplicates, far moves off-centre,
// near-ties) and checks, after each Update, every answer against the
// exhaustive search, also for queries that followed a leader scored before
// the change.
func TestUpdate(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		const n, d, nq = 700, 96, 120
		rows, _ := clustered(rng, n, nq, d, 12, 3, 0.02)
		queries := walk(rng, slices.Clone(rows), d, nq, 0.01)
		s := New(rows, d)
		if s == nil {
			t.Fatal("New returned nil")
		}
		check := func(round int) {
			for _, k := range []int{1, 16} {
				dist, ids := make([]float32, nq*k), make([]int64, nq*k)
				if err := s.Search(context.Background(), queries, k, dist, ids, nil); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < nq; i++ {
					wantD, wantI := bruteForce(rows, queries[i*d:(i+1)*d], d, k, nil)
					if !slices.Equal(dist[i*k:(i+1)*k], wantD) || !slices.Equal(ids[i*k:(i+1)*k], wantI) {
						t.Fatalf("round %d k=%d query %d: (%v, %v), exhaustive (%v, %v)", round, k, i, ids[i*k:(i+1)*k], dist[i*k:(i+1)*k], wantI, wantD)
					}
				}
			}
		}
		one := func(round int, q []float32) {
			dist, ids := make([]float32, 1), make([]int64, 1)
			if err := s.Search(context.Background(), q, 1, dist, ids, nil); err != nil {
				t.Fatal(err)
			}
			wantD, wantI := bruteForce(rows, q, d, 1, nil)
			if dist[0] != wantD[0] || ids[0] != wantI[0] {
				t.Fatalf("round %d, first query alone: (%v, %v), exhaustive (%v, %v)", round, ids, dist, wantI, wantD)
			}
		}
		check(0)
		for round := 1; round <= 6; round++ {
			// A query near a row leads; another row then moves onto
			// it, which its scores from before the move do not show.
			q := slices.Clone(rows[rng.IntN(n)*d:][:d])
			for i := range q {
				q[i] += float32(1e-3 * rng.NormFloat64())
			}
			for i := 0; i < 2*maxBatched; i++ { // past any batched tiles
				one(round, q)
			}
			target := int32(rng.IntN(n))
			copy(rows[int(target)*d:(int(target)+1)*d], q)
			changed := []int32{target}
			for j := 0; j < 60; j++ {
				r := rng.IntN(n)
				row := rows[r*d : (r+1)*d]
				switch j % 4 {
				case 0: // a small move
					for i := range row {
						row[i] += float32(0.01 * rng.NormFloat64())
					}
				case 1: // onto another row: a duplicate
					o := rng.IntN(n)
					copy(row, rows[o*d:(o+1)*d])
				case 2: // onto a query, a near-tie for it
					q := rng.IntN(nq)
					for i := range row {
						row[i] = queries[q*d+i] + float32(1e-6*rng.NormFloat64())
					}
				case 3: // far off the basis and the centre
					for i := range row {
						row[i] = float32(40 + 5*rng.NormFloat64())
					}
				}
				changed = append(changed, int32(r))
			}
			changed = append(changed, changed[0]) // repeats are allowed
			if !s.Update(changed) {
				t.Fatalf("round %d: Update declined", round)
			}
			one(round, q) // with a stale leader, it would follow it
			check(round)
		}
		// A row beyond the bound's range: Update declines.
		rows[3*d] = 1e20
		if s.Update([]int32{3}) {
			t.Error("Update took a row of squared norm 1e40")
		}
	})
}

// TestGroupLowerBounds checks that no row is nearer a query than
// GroupLowerBounds says for its group (against the distance in float64 of
// the float32 vectors), with groups of one row and of several, a row left
// out, on structured, off-centre, tiny, huge and unstructured rows, queries
// on rows and duplicates; and that on structured rows the bounds are close.
func TestGroupLowerBounds(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, c := range []struct {
			name          string
			n, d, latent  int
			offset, noise float64
			scale         float32
		}{
			{"rvc768", 1282, 768, 32, 0.5, 0.05, 1},
			{"offcentre", 400, 128, 8, 1000, 0.01, 1},
			{"tiny", 300, 96, 16, 0, 1e-3, 1e-18},
			{"huge", 300, 64, 16, 1e15, 1e12, 1},
			{"nostructure", 500, 128, 128, 0, 1, 1},
			{"exactsubspace", 400, 64, 31, 0, 0, 1},
		} {
			rows, queries := clustered(rng, c.n, 60, c.d, c.latent, c.offset, c.noise)
			d, n := c.d, c.n
			for i := range rows {
				rows[i] *= c.scale
			}
			for i := range queries {
				queries[i] *= c.scale
			}
			// Queries on rows, on duplicated rows and a hair off rows.
			copy(rows[:d], rows[d:2*d])
			for i := 0; i < 20; i++ {
				r := rng.IntN(n)
				q := queries[i*d : (i+1)*d]
				copy(q, rows[r*d:(r+1)*d])
				if i >= 10 {
					for t := range q {
						q[t] *= 1 + float32(1e-6*rng.NormFloat64())
					}
				}
			}
			s := New(rows, d)
			if s == nil {
				t.Fatalf("%s: New returned nil", c.name)
			}
			nq := len(queries) / d
			// Groups of one row, no row left out.
			ones := make([]int, n+1)
			for j := range ones {
				ones[j] = j
			}
			none := make([]int64, nq)
			for i := range none {
				none[i] = -1
			}
			lb := make([]float32, nq*n)
			s.GroupLowerBounds(queries, ones, none, lb)
			var sumLB, sumD float64
			dist := make([]float64, n)
			for i := 0; i < nq; i++ {
				q := queries[i*d : (i+1)*d]
				for j := 0; j < n; j++ {
					var e float64
					for t, v := range rows[j*d : (j+1)*d] {
						x := float64(q[t]) - float64(v)
						e += x * x
					}
					dist[j] = math.Sqrt(e)
					if float64(lb[i*n+j]) > dist[j] {
						t.Fatalf("%s: query %d row %d: bound %v above the distance %v", c.name, i, j, lb[i*n+j], dist[j])
					}
					sumLB += float64(lb[i*n+j])
					sumD += dist[j]
				}
				// Groups of 1 to 12 rows, the query's nearest row left
				// out: each bound is the least of its rows'.
				starts := []int{0}
				for starts[len(starts)-1] < n {
					starts = append(starts, min(n, starts[len(starts)-1]+1+rng.IntN(12)))
				}
				near := int64(0)
				for j := range dist {
					if dist[j] < dist[near] {
						near = int64(j)
					}
				}
				g := make([]float32, len(starts)-1)
				s.GroupLowerBounds(q, starts, []int64{near}, g)
				for k := range g {
					want, least := float32(math.Inf(1)), math.Inf(1)
					for j := starts[k]; j < starts[k+1]; j++ {
						if int64(j) != near {
							want, least = min(want, lb[i*n+j]), min(least, dist[j])
						}
					}
					// A product of one query may round unlike one of
					// many: the bounds agree to a few roundings.
					if float64(g[k]) > least || math.Abs(float64(g[k]-want)) > 1e-5*float64(want) {
						t.Fatalf("%s: query %d group %d: bound %v, least of its rows' %v, distance %v", c.name, i, k, g[k], want, least)
					}
				}
			}
			// One query and one row at a time, as Project, Score and
			// Limit give them: no row scores above the limit of its
			// own distance, and most rows score above the limit of
			// their batch bound less a little (the bound is tight).
			var pt Point
			above, tried := 0, 0
			for i := 0; i < nq; i += 7 {
				q := queries[i*d : (i+1)*d]
				s.Project(q, &pt)
				for j := 0; j < n; j += 3 {
					var e float64
					for t, v := range rows[j*d : (j+1)*d] {
						x := float64(q[t]) - float64(v)
						e += x * x
					}
					if sc, lim := s.Score(&pt, j), s.Limit(&pt, math.Sqrt(e)); sc > lim {
						t.Fatalf("%s: query %d row %d alone: score %v above the limit %v of its distance %v", c.name, i, j, sc, lim, math.Sqrt(e))
					}
					// Reach undoes the kernel's rounding: the exact
					// distance is within the reach of its key.
					if key := asm.L2Sqr(q, rows[j*d:(j+1)*d]); s.Reach(key) < math.Sqrt(e) {
						t.Fatalf("%s: query %d row %d: reach %v of the key %v below the distance %v", c.name, i, j, s.Reach(key), key, math.Sqrt(e))
					}
					if b := float64(lb[i*n+j]); b > 0 {
						tried++
						if s.Score(&pt, j) > s.Limit(&pt, b*0.999) {
							above++
						}
					}
				}
			}
			if tried > 0 && above*2 < tried {
				t.Errorf("%s: %d of %d rows score above the limit of 0.999 of their bound", c.name, above, tried)
			}
			t.Logf("%s: bounds %.4f of the distances", c.name, sumLB/sumD)
			if (c.name == "rvc768" || c.name == "offcentre") && sumLB < 0.9*sumD {
				t.Errorf("%s: bounds only %.3f of the distances", c.name, sumLB/sumD)
			}
		}
	})
}

// TestMeasured: on structured rows a query measures a few rows, on
// isotropic ones (latent 0 here) most.
func TestMeasured(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, c := range []struct {
		latent int
		most   float64 // of the rows measured a query
		least  float64
	}{{8, 0.1, 0}, {0, 1.01, 0.5}} { // a query may measure a few rows before all of them
		rows, queries := clustered(rng, 2000, 200, 128, max(c.latent, 1), 0, 0.01)
		if c.latent == 0 {
			for i := range rows {
				rows[i] = float32(rng.NormFloat64())
			}
			for i := range queries {
				queries[i] = float32(rng.NormFloat64())
			}
		}
		s := New(rows, 128)
		dist, ids := make([]float32, 200), make([]int64, 200)
		if err := s.Search(context.Background(), queries, 1, dist, ids, nil); err != nil {
			t.Fatal(err)
		}
		q, r := s.Measured()
		share := float64(r) / float64(q) / 2000
		if q != 200 || share > c.most || share < c.least {
			t.Errorf("latent %d: %d queries measured %d rows (%.3f of the rows a query), want %v to %v", c.latent, q, r, share, c.least, c.most)
		}
	}
}

// TestProjectRows: rows projected outside the Set they are scored against
// (more rows of the same data, far rows, duplicates, rows a hair off the
// queries) never score above the limit of their own exact distance, in
// one call or over several that widen the margin; on structured data most
// score above the limit of half their distance (the bound prunes); and rows
// too large for the bound's arithmetic are refused.
func TestProjectRows(t *testing.T) {
	simdtest.ForEach(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(41, 42))
		for _, c := range []struct {
			name          string
			d, latent     int
			offset, noise float64
			scale         float32
		}{
			{"rvc768", 768, 32, 0.5, 0.05, 1},
			{"offcentre", 128, 8, 1000, 0.01, 1},
			{"tiny", 96, 16, 0, 1e-3, 1e-18},
			{"huge", 64, 16, 1e15, 1e12, 1},
			{"nostructure", 128, 128, 0, 1, 1},
		} {
			t.Run(c.name, func(t *testing.T) {
				d := c.d
				// The Set over 300 rows (the centroids), the projected
				// rows 900 more of the same data and its queries.
				all, queries := clustered(rng, 1200, 40, d, c.latent, c.offset, c.noise)
				for i := range all {
					all[i] *= c.scale
				}
				for i := range queries {
					queries[i] *= c.scale
				}
				centres, rows := all[:300*d], all[300*d:]
				n := len(rows) / d
				copy(rows[d:2*d], rows[:d]) // a duplicate
				for i := 0; i < 10; i++ {   // rows a hair off queries
					r := rows[(10+i)*d : (11+i)*d]
					copy(r, queries[i*d:(i+1)*d])
					for j := range r {
						r[j] *= 1 + float32(1e-6*rng.NormFloat64())
					}
				}
				s := New(centres, d)
				if s == nil {
					t.Fatal("no Set")
				}
				var mg Margin
				var proj []float32
				ok := true
				for r0 := 0; r0 < n && ok; r0 += 250 { // several calls
					proj, ok = s.ProjectRows(proj, rows[r0*d:min(r0+250, n)*d], &mg)
				}
				if !ok || len(proj) != n*Width {
					t.Fatalf("projected %v: %d floats for %d rows", ok, len(proj), n)
				}
				var pt Point
				above, tried := 0, 0
				for i := 0; i < len(queries)/d; i++ {
					q := queries[i*d : (i+1)*d]
					s.Project(q, &pt)
					scores := make([]float32, n)
					asm.DotMany(scores, pt.Query(), proj)
					for j := 0; j < n; j++ {
						var e float64
						for t, v := range rows[j*d : (j+1)*d] {
							x := float64(q[t]) - float64(v)
							e += x * x
						}
						dist := math.Sqrt(e)
						if lim := s.LimitRows(&pt, dist, mg); scores[j] > lim {
							t.Fatalf("query %d row %d: score %v above the limit %v of its distance %v", i, j, scores[j], lim, dist)
						}
						if dist > 0 {
							tried++
							if scores[j] > s.LimitRows(&pt, 0.5*dist, mg) {
								above++
							}
						}
					}
				}
				t.Logf("%d of %d rows score above the limit of half their distance", above, tried)
				if c.name != "nostructure" && above*2 < tried {
					t.Errorf("only %d of %d rows score above the limit of half their distance", above, tried)
				}
			})
		}
		// Rows whose squared norms overflow the bound's arithmetic.
		rows, _ := clustered(rng, 400, 1, 64, 8, 0, 0.1)
		s := New(rows[:200*64], 64)
		var mg Margin
		big := append([]float32(nil), rows[200*64:]...)
		big[5*64] = 1e16
		if out, ok := s.ProjectRows([]float32{1, 2}, big, &mg); ok || len(out) != 2 || mg != (Margin{}) {
			t.Fatalf("rows beyond the bound's range: ok %v, %d floats, margin %v", ok, len(out), mg)
		}
	})
}
