// Package pruned answers exact nearest-neighbour searches (L2, and largest
// inner product) and L2 range searches over a fixed set of vectors, such as
// the centroids of an IVF index or a flat index's rows, without computing
// most of the distances.
//
// A Set projects its centred rows onto an orthonormal basis B of the m
// directions in which they spread most (found by subspace iteration) and
// keeps, for every row y, the m coordinates By and the norm of what the
// projection leaves out, r(y) = ||y - BᵀBy||. For a query x, with P the
// projector onto B's rows,
//
//	||x - y||² = ||P(x-y)||² + ||(I-P)(x-y)||² >= ||Bx - By||² + (r(x) - r(y))²
//
// so the m+1 numbers of each side give a lower bound of the distance in m+1
// multiply-adds instead of d, and a batch gets all of them from one small
// matrix product. A query measures the rows with the smallest bounds with
// the one-query kernel (asm.L2Sqr) until it holds k distances, and then
// every row whose bound does not exceed the k-th of them; every other row
// is farther than the k it keeps. On data that lies near an m-dimensional
// subspace, as centroids of real embeddings do, a few rows per query are
// measured instead of all of them.
//
// The bound is applied with a margin that covers every rounding error of its
// computation (the centring, the projection, a basis that is orthonormal
// only to float32's precision, the residual norms and the matrix product)
// and of the one-query kernel, so the rows kept are always a superset of the
// exact answer and the answer is the exhaustive search's, bit for bit:
// distances as asm.L2Sqr computes them, ties ordered by smaller id. When the
// bound prunes little (data with no low-dimensional structure), a query
// falls back to measuring every row, at about the cost of the exhaustive
// search.
//
// For the largest inner products (NewIP) the rows are lifted to a common
// norm, y' = (y, sqrt(M² - ||y||²)) with M the largest norm, and the
// queries to x' = (x, 0): then ||x' - y'||² = ||x||² + M² - 2<x, y>, so the
// rows of largest product are the lifted rows nearest the lifted query, and
// the same bound applies to them; the products themselves are measured
// with asm.Dot.
package pruned

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/exact"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/metric"
)

const (
	// width is the length of a projected row: the coordinates on the
	// basis and the residual norm. 32 floats keep the bound's matrix
	// product on whole SIMD registers.
	width = 32
	// MinRows is the smallest set worth a Set: below it the exhaustive
	// search is about as fast.
	MinRows = 128
	// minDim is the smallest dimension worth a Set: the bound costs width
	// multiply-adds per row against d for the distance.
	minDim = 2 * width
	// sampleRows bounds the rows the basis is computed from; any
	// orthonormal basis keeps the bound valid, a sample finds a good one.
	sampleRows = 4096
	// iterations of the subspace iteration that finds the basis.
	iterations = 3
	// exhaustive: a query whose bound keeps more than 1/exhaustive of the
	// rows measures all of them with the one-to-many kernel instead.
	exhaustive = 4
	// maxSqNorm bounds the centred squared norms a Set handles; beyond it
	// the products of the bound could overflow, and such queries are
	// answered exhaustively.
	maxSqNorm = 1e30
	// tileBytes bounds the bound matrix of one tile of queries.
	tileBytes = 1 << 20
	// maxTile is the most queries in one tile.
	maxTile = 64
)

// u is float32's unit roundoff.
const u = 1.0 / (1 << 24)

// Set is a fixed set of n rows of d floats, ready for pruned exact L2
// search. It is immutable once built and safe for concurrent searches.
type Set struct {
	d, n   int
	pd     int       // the dimension of the projected vectors: d, or d+1 under inner product
	m      int       // basis vectors: width-2
	rows   []float32 // the rows, not copied: they must not change
	mean   []float32 // pd
	basis  []float32 // m x pd, orthonormal to float32 precision
	basisT []float32 // pd x m, its transpose
	proj   []float32 // n x width: By, then r(y), then ||(By, r(y))||²

	// Under inner product (NewIP) the projected vectors are the rows
	// lifted to equal norms, y' = (y, t(y)) with t(y)² ≈ m2 - ||y||², and
	// the queries x' = (x, 0): ||x' - y'||² = ||x||² + ||y'||² - 2<x, y>,
	// with ||y'||² within eps of m2.
	ip      bool
	m2, eps float64
	normMax float64 // sqrt(m2), rounded up

	tau   float64 // ||BBᵀ - I||_F, a bound of the basis' departure from orthonormal
	gd    float64 // relative error bound of a d-term product, as the kernels sum it
	gamma float64 // relative error bound of asm.L2Sqr
	hmax  float64 // largest error term h(y) of a row
	amax  float64 // largest ||proj row||²
	scale float64 // error scale of the bound's matrix product

	tile      int
	maxFollow int // the most candidates a query answers from its leader's scores
	scratch   sync.Pool
	rscratch  sync.Pool    // *rangeScratch
	followed  atomic.Int64 // queries answered from a leader's scores, for tests

	// answered and rowsMeasured count the queries answered and the rows
	// they measured, over the Set's life (see Measured).
	answered, rowsMeasured atomic.Int64

	// gen counts the calls of Update; a scratch's leader is of the
	// generation it was scored in.
	gen atomic.Int64

	// queries answered, and those of them that measured every row, since
	// the judgement of Pays began; probe is how many it needs, skips counts
	// the calls of Pays that said no since the last judgement, retry how
	// many it waits for before the next (payRetry when 0).
	queries, unpruned, probe, skips, retry atomic.Int64
}

// New returns a Set over rows (row-major, d floats each), or nil when
// pruning would not pay: fewer than MinRows rows, d below 64, or rows so
// large that the bound's arithmetic could overflow. The Set keeps rows; they
// must not change while it is used. Building costs a few matrix products of
// the rows with width vectors: milliseconds for thousands of rows.
func New(rows []float32, d int) *Set {
	s, _ := Build(context.Background(), rows, d, false)
	return s
}

// NewIP is New for the largest inner products: its Search returns the k
// rows of largest asm.Dot with each query (the products in dist, largest
// first, ties by smaller id), as comparing each query with every row by
// asm.Dot would. The bound works on the rows lifted to a common norm (see
// Set), which costs a copy of the rows while building. Within is for L2
// Sets only.
func NewIP(rows []float32, d int) *Set {
	s, _ := Build(context.Background(), rows, d, true)
	return s
}

// Build is New (NewIP when ip is set) that stops when ctx is done, checking
// it between blocks of rows (about a millisecond of work each), and then
// returns ctx's error.
func Build(ctx context.Context, rows []float32, d int, ip bool) (*Set, error) {
	if d < minDim || len(rows)%d != 0 || len(rows)/d < MinRows {
		return nil, nil
	}
	n := len(rows) / d
	s := &Set{d: d, pd: d, n: n, m: width - 2, rows: rows, ip: ip}
	prows := rows
	if ip {
		if prows = s.lift(); prows == nil {
			return nil, nil
		}
	}
	pd := s.pd
	s.mean = centre(prows, pd)
	s.basis = s.findBasis(prows)
	if s.basis == nil {
		return nil, nil
	}
	s.basisT = transpose(s.basis, s.m, pd)
	s.tau = departure(s.basis, s.m, pd)
	gd := gammaOf(pd + pd/64 + 16)
	s.gd = gd
	s.gamma = gammaOf(2*d + 16)
	s.scale = 2 * float64(exact.ErrorScale(width, metric.L2))
	if ok, err := s.project(ctx, prows); !ok {
		return nil, err
	}
	s.tile = max(1, min(maxTile, tileBytes/(4*n)))
	// A follower measures its candidates (d multiply-adds each) where a
	// leader projects itself (m·d) and scores every row (width·n); half of
	// that leaves room for the candidates' cache misses.
	s.maxFollow = (s.m + n*width/d) / 2
	s.probe.Store(payProbe)
	return s, nil
}

// lift returns the rows lifted to a common norm, rows of d+1 floats (y,
// t(y)) with t(y) = sqrt(m2 - ||y||²) rounded, m2 the largest ||y||², and
// sets pd, m2, eps (the most by which ||y'||² differs from m2) and normMax;
// nil when the norms are beyond the bound's range.
func (s *Set) lift() []float32 {
	d, n := s.d, s.n
	s.pd = d + 1
	norms := make([]float64, n)
	for r := 0; r < n; r++ {
		var a float64
		for _, v := range s.rows[r*d : (r+1)*d] {
			a += float64(v) * float64(v)
		}
		norms[r] = a
		s.m2 = max(s.m2, a)
	}
	if !(s.m2 <= maxSqNorm/4) {
		return nil
	}
	out := make([]float32, n*(d+1))
	for r := 0; r < n; r++ {
		copy(out[r*(d+1):r*(d+1)+d], s.rows[r*d:(r+1)*d])
		t := float32(math.Sqrt(s.m2 - norms[r]))
		out[r*(d+1)+d] = t
		s.eps = max(s.eps, math.Abs(norms[r]+float64(t)*float64(t)-s.m2))
	}
	// The float64 sums of squares are within about d·2⁻⁵³ of exact.
	s.eps += 1e-13 * s.m2
	s.normMax = math.Sqrt(s.m2) * (1 + 1e-14)
	return out
}

// gammaOf is the classic bound n·u/(1-n·u) on the relative error of a sum
// of n non-negative rounded terms.
func gammaOf(n int) float64 {
	nu := float64(n) * u
	return nu / (1 - nu)
}

// centre returns the mean of the rows, computed in float64.
func centre(rows []float32, d int) []float32 {
	n := len(rows) / d
	acc := make([]float64, d)
	for r := 0; r < n; r++ {
		for i, v := range rows[r*d : (r+1)*d] {
			acc[i] += float64(v)
		}
	}
	mean := make([]float32, d)
	for i, v := range acc {
		mean[i] = float32(v / float64(n))
	}
	return mean
}

// findBasis returns m orthonormal rows of d floats spanning, approximately,
// the directions of largest spread of the centred rows (of a strided sample
// of them): subspace iteration from a fixed random start, with float32
// matrix products and float64 orthonormalisation.
func (s *Set) findBasis(prows []float32) []float32 {
	d, m := s.pd, s.m
	ns := min(s.n, sampleRows)
	step := s.n / ns
	xs := make([]float32, ns*d) // centred sample, ns x d
	for i := 0; i < ns; i++ {
		row := prows[i*step*d : (i*step+1)*d]
		dst := xs[i*d : (i+1)*d]
		for j, v := range row {
			dst[j] = v - s.mean[j]
		}
	}
	xt := transpose(xs, ns, d) // d x ns
	rng := rand.New(rand.NewPCG(0x6b756d65, uint64(d)))
	omega := make([]float64, m*d)
	for i := range omega {
		omega[i] = rng.NormFloat64()
	}
	b := make([]float32, m*d)
	y := make([]float32, ns*m)
	z := make([]float32, m*d)
	for it := 0; ; it++ {
		if !orthonormalize(omega, m, d, rng) {
			return nil
		}
		for i, v := range omega {
			b[i] = float32(v)
		}
		if it == iterations {
			return b
		}
		asm.DotTile(y, xs, b, d)   // y = xs·bᵀ, ns x m
		yt := transpose(y, ns, m)  // m x ns
		asm.DotTile(z, yt, xt, ns) // z = yᵀ·xs, m x d
		for i, v := range z {
			omega[i] = float64(v)
		}
	}
}

// transpose returns the c x r transpose of the r x c matrix a, in blocks
// that keep both sides in cache.
func transpose(a []float32, r, c int) []float32 {
	const b = 32
	t := make([]float32, r*c)
	for i0 := 0; i0 < r; i0 += b {
		i1 := min(i0+b, r)
		for j0 := 0; j0 < c; j0 += b {
			j1 := min(j0+b, c)
			for i := i0; i < i1; i++ {
				row := a[i*c : (i+1)*c]
				for j := j0; j < j1; j++ {
					t[j*r+i] = row[j]
				}
			}
		}
	}
	return t
}

// orthonormalize makes the m rows of d numbers of a orthonormal, by modified
// Gram-Schmidt applied twice; a row that the others (nearly) span is
// replaced by a random one. It fails only when every attempt does, which
// needs d < m.
func orthonormalize(a []float64, m, d int, rng *rand.Rand) bool {
	for i := 0; i < m; i++ {
		row := a[i*d : (i+1)*d]
		for try := 0; ; try++ {
			before := norm64(row)
			for pass := 0; pass < 2; pass++ {
				for j := 0; j < i; j++ {
					prev := a[j*d : (j+1)*d]
					var dot float64
					for t := range row {
						dot += row[t] * prev[t]
					}
					for t := range row {
						row[t] -= dot * prev[t]
					}
				}
			}
			after := norm64(row)
			if after > 1e-6*before && after > 0 && !math.IsInf(after, 0) {
				for t := range row {
					row[t] /= after
				}
				break
			}
			if try == 8 {
				return false
			}
			for t := range row {
				row[t] = rng.NormFloat64()
			}
		}
	}
	return true
}

func norm64(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// departure returns ||BBᵀ - I||_F for the m float32 rows of b, computed in
// float64: every eigenvalue of BBᵀ is within it of 1.
func departure(b []float32, m, d int) float64 {
	var f float64
	for i := 0; i < m; i++ {
		for j := 0; j <= i; j++ {
			var dot float64
			for t := 0; t < d; t++ {
				dot += float64(b[i*d+t]) * float64(b[j*d+t])
			}
			if i == j {
				dot--
				f += dot * dot
			} else {
				f += 2 * dot * dot
			}
		}
	}
	return math.Sqrt(f)
}

// project fills the projected rows, their norms and the error maxima. It
// reports false when a row is too large for the bound's arithmetic, or
// when ctx is done (with its error).
func (s *Set) project(ctx context.Context, prows []float32) (bool, error) {
	s.proj = make([]float32, s.n*width)
	var mg Margin
	ok, err := s.projectInto(ctx, s.proj, prows, &mg)
	s.hmax, s.amax = mg.hmax, mg.amax
	return ok, err
}

// projectInto writes the projected points of rows (rows of pd floats) into
// out (rows of width), with ||(By, r(y))||² last, and widens mg to cover
// them; false when a row is too large for the bound's arithmetic.
func (s *Set) projectInto(ctx context.Context, out, prows []float32, mg *Margin) (bool, error) {
	d := s.pd
	n := len(prows) / d
	const block = 512
	nb0 := min(block, n)
	c := make([]float32, nb0*d)
	rec := make([]float32, nb0*d)
	p := make([]float32, nb0*s.m)
	a := make([]float32, nb0)
	h := make([]float64, nb0)
	norms := make([]float32, nb0)
	redo := make([]int32, 0, nb0)
	pg := make([]float32, nb0*s.m)
	hmax, amax := mg.hmax, mg.amax
	for r0 := 0; r0 < n; r0 += block {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		nb := min(block, n-r0)
		for i := 0; i < nb; i++ {
			asm.Sub(c[i*d:(i+1)*d], prows[(r0+i)*d:(r0+i+1)*d], s.mean)
		}
		pts := out[r0*width : (r0+nb)*width]
		s.points(pts, h[:nb], c[:nb*d], p[:nb*s.m], rec[:nb*d], a[:nb], false, pg, redo)
		for _, v := range h[:nb] {
			if math.IsNaN(v) {
				return false, nil
			}
			hmax = max(hmax, v)
		}
		asm.SqNorms(norms[:nb], pts, width)
		for i, v := range norms[:nb] {
			pts[i*width+s.m+1] = v
			amax = max(amax, float64(v)*(1+4*u))
		}
	}
	mg.hmax, mg.amax = hmax, amax
	return true, nil
}

// Margin is what the bound must allow for rows projected outside the Set
// they are scored against (ProjectRows): the largest error term of their
// points and the largest squared norm of a point. The zero Margin covers no
// rows.
type Margin struct {
	hmax, amax float64
}

// ProjectRows appends to out the projected points of rows (row-major, d
// floats each, finite) on s's basis, Width floats per row, widens mg to
// cover them, and returns out. It returns false, and
// out and mg as they were, when a row is too large for the bound's
// arithmetic. Only the Set's basis and centre are used: the rows it was
// built over need not outlive it for this. L2 Sets only.
func (s *Set) ProjectRows(out, rows []float32, mg *Margin) ([]float32, bool) {
	s.mustBeL2("ProjectRows")
	n := len(rows) / s.d
	n0 := len(out)
	out = append(out, make([]float32, n*width)...)
	m := *mg
	if ok, _ := s.projectInto(context.Background(), out[n0:], rows[:n*s.d], &m); !ok {
		return out[:n0], false
	}
	*mg = m
	return out, true
}

// Width is the number of floats of a projected row.
const Width = width

// Query returns pt's left side of the bound scores, Width floats: the
// score of a row projected by ProjectRows is its inner product with them,
// summed in any order (asm.Dot, or asm.DotMany over consecutive rows), and
// a row whose score exceeds LimitRows(pt, D, mg), mg covering it, is
// farther than D from the query.
func (pt *Point) Query() []float32 { return pt.row[:] }

// LimitRows is Limit for rows projected by ProjectRows and covered by mg.
func (s *Set) LimitRows(pt *Point, dist float64, mg Margin) float32 {
	if !pt.ok {
		return float32(math.Inf(1))
	}
	return s.limitWith(dist, pt.an, pt.h, mg)
}

// centreInto writes the query v (d floats), centred, into dst (pd
// floats): v - mean, or under inner product (v, 0) - mean.
func (s *Set) centreInto(dst, v []float32) {
	if !s.ip {
		asm.Sub(dst, v, s.mean)
		return
	}
	asm.Sub(dst[:s.d], v, s.mean[:s.d])
	dst[s.d] = -s.mean[s.d]
}

// points writes the projected points of the centred vectors c (rows of d)
// into out (rows of width: the m coordinates p = By, then the residual norm
// r = ||y - Bᵀp||) and their error terms into h: the most by which the
// computed point can be farther from another than the exact projection of
// the exact centred vector is,
//
//	h = sqrt(1+τ)·u·||y||                   the centring's rounding
//	  + σ = sqrt(m)·γd·sqrt(1+τ)·||y||       the projection's
//	  + |r - r_exact|                        the residual's.
//
// The residual is found by reconstruction, r = ||y - Bᵀp||, with
//
//	|r - r_exact| <= sqrt(1+τ)·σ + sqrt(m(1+τ))·γm·||p|| + τ·||y|| + (γd+3u)·r
//
// (the reconstruction Bᵀp, the departure of BᵀB from a projector, the
// subtraction and the norm), or, when fromNorms is set (queries), first
// from the norms: r² = ||y||² - ||p||², which differs from r_exact² by at
// most E = γd·||y||² + σ(2||p|| + σ) + τ(||p|| + σ)² (the squared norm's
// rounding, the projection's, and pᵀ(BBᵀ-I)p, the exact difference), so
// that |r - r_exact| <= min(sqrt(E), E/r). That costs no second product;
// the vectors whose bound it leaves much looser than the reconstruction's
// are reconstructed. A vector whose squared norm exceeds maxSqNorm gets h =
// NaN and a zero point. p (rows of m), rec (rows of d), a (one per vector)
// redo (capacity one per vector) and pg (rows of m) are scratch. It returns
// how many vectors were reconstructed.
func (s *Set) points(out []float32, h []float64, c, p, rec, a []float32, fromNorms bool, pg []float32, redo []int32) int {
	d, m := s.pd, s.m
	nv := len(h)
	asm.SqNorms(a, c, d)
	if nv == 1 {
		// One vector (a query projected alone): the one-to-many kernel
		// is the faster product, and any summation order is within the
		// error terms below.
		asm.DotMany(p[:m], c[:d], s.basis)
	} else {
		asm.DotTile(p, c, s.basis, d) // p = B·y
	}
	st := math.Sqrt(1 + s.tau)
	gm := gammaOf(m + m/64 + 16)
	sqm := math.Sqrt(float64(m))
	// reconstructed is the residual error of the reconstruction.
	reconstructed := func(sigma, pn, ny, r float64) float64 {
		return st*sigma + sqm*st*gm*math.Sqrt(pn) + s.tau*ny + (s.gd+3*u)*r
	}
	redo = redo[:0]
	for i := 0; i < nv; i++ {
		dst := out[i*width : (i+1)*width]
		if !(a[i] <= maxSqNorm) { // also NaN
			clear(dst)
			h[i] = math.NaN()
			continue
		}
		pi := p[i*m : (i+1)*m]
		var pn float64
		for _, v := range pi {
			pn += float64(v) * float64(v)
		}
		pn *= 1 + 1e-14 // float64 rounding of m terms, generously
		ny := math.Sqrt(float64(a[i]) * (1 + s.gd))
		sigma := sqm * s.gd * st * ny
		copy(dst, pi)
		dst[m+1] = 0
		if !fromNorms {
			redo = append(redo, int32(i))
			h[i] = st*u*ny + sigma // the residual's error is added below
			continue
		}
		np := math.Sqrt(pn)
		e := s.gd*ny*ny + sigma*(2*np+sigma) + s.tau*(np+sigma)*(np+sigma) +
			1e-14*(float64(a[i])+pn) // ||p||²'s and the subtraction's float64 rounding
		r := math.Sqrt(max(0, float64(a[i])-pn/(1+1e-14)))
		dr := math.Sqrt(e)
		if r > 0 {
			dr = min(dr, e/r)
		}
		dr += 2 * u * r // r's rounding to float32 and sqrt's
		if dr > 4*reconstructed(sigma, pn, ny, r) {
			redo = append(redo, int32(i))
			h[i] = st*u*ny + sigma
			continue
		}
		dst[m] = float32(r)
		h[i] = st*u*ny + sigma + dr
	}
	if len(redo) == 0 {
		return 0
	}
	// Reconstruct the residuals of the vectors in redo.
	ps := p
	if len(redo) < nv {
		ps = pg[:len(redo)*m]
		for j, i := range redo {
			copy(ps[j*m:(j+1)*m], p[int(i)*m:(int(i)+1)*m])
		}
	}
	rs := rec[:len(redo)*d]
	if len(redo) == 1 {
		asm.DotMany(rs, ps[:m], s.basisT)
	} else {
		asm.DotTile(rs, ps, s.basisT, m) // rec = Bᵀ·p
	}
	for j, i := range redo {
		r := math.Sqrt(float64(asm.L2Sqr(c[int(i)*d:(int(i)+1)*d], rs[j*d:(j+1)*d])))
		var pn float64
		for _, v := range ps[j*m : (j+1)*m] {
			pn += float64(v) * float64(v)
		}
		ny := math.Sqrt(float64(a[i]) * (1 + s.gd))
		sigma := sqm * s.gd * st * ny
		out[int(i)*width+m] = float32(r)
		h[i] += reconstructed(sigma, pn, ny, r)
	}
	return len(redo)
}

const (
	// payProbe is the number of queries after which Pays first judges.
	payProbe = 512
	// payRetry: while the set does not pay, the payRetry-th call of Pays
	// starts a new judgement over the next payRecheck queries, so that a
	// set that stopped paying on one kind of queries (say, adding
	// unstructured rows to an IVF index) is used again for another. Each
	// judgement that finds it still not paying doubles the wait, up to
	// payRetryMax calls, so that rows the bound never prunes cost little
	// (a judgement's queries pay the bound's product on top of measuring
	// every row).
	payRetry    = 16
	payRetryMax = 1024
	payRecheck  = 64
)

// Pays reports whether the bound has pruned: true until payProbe queries
// have been answered, then whether at most half of them measured every row
// (each of those costs about what an exhaustive search by a matrix product
// costs several queries). Callers with an exhaustive path of their own that
// returns the same answers use it when the set does not pay. While it does
// not, after payRetry calls (twice as many after each judgement that found
// it not paying, up to payRetryMax) it reports true again and the next
// payRecheck queries are judged afresh.
func (s *Set) Pays() bool {
	q := s.queries.Load()
	if q < s.probe.Load() {
		return true
	}
	if 2*s.unpruned.Load() <= q {
		if s.retry.Load() != 0 {
			s.retry.Store(0) // judged paying: the wait starts short again
		}
		return true
	}
	wait := max(s.retry.Load(), payRetry)
	if s.skips.Add(1) < wait {
		return false
	}
	s.skips.Store(0)
	s.retry.Store(min(2*wait, payRetryMax))
	s.probe.Store(payRecheck)
	s.unpruned.Store(0)
	s.queries.Store(0)
	return true
}

// Len returns the number of rows.
func (s *Set) Len() int { return s.n }

// Measured returns the number of queries the Set has answered and of the
// rows they measured (asm.L2Sqr, one row at a time, or every row): callers
// that weigh the search against an exhaustive product of their own judge by
// the rows measured a query, which Pays does not see when many queries
// measure most rows one at a time.
func (s *Set) Measured() (queries, rows int64) {
	return s.answered.Load(), s.rowsMeasured.Load()
}

// GroupLowerBounds writes into out, for each query (row-major, d floats;
// finite), a lower bound of its exact L2 distance (not squared) to each of
// the groups of rows the offsets starts name (group g: rows starts[g] to
// starts[g+1]-1; starts[0] = 0, the last is the number of rows), len(starts)-1
// per query: the least distance of the projected points, less the error
// terms of the query's and the rows' points and the rounding of the bound's
// matrix product, as limit bounds them, so that no row of the group is
// nearer. Row skip[i] (none when negative) is left out for query i; a group
// left empty gets +Inf. It costs the projection of the queries and one
// product of width floats a row, as Search's scores do. A query too large
// for the bound's arithmetic gets bounds of 0. L2 Sets only.
func (s *Set) GroupLowerBounds(queries []float32, starts []int, skip []int64, out []float32) {
	s.mustBeL2("GroupLowerBounds")
	sc := s.getScratch()
	defer s.scratch.Put(sc)
	d, n := s.d, s.n
	t := len(starts) - 1
	nq := len(queries) / d
	for q0 := 0; q0 < nq; q0 += s.tile {
		q1 := min(q0+s.tile, nq)
		nt := q1 - q0
		s.boundRows(&sc.queryPoints, queries[q0*d:q1*d])
		pq := sc.pq[:nt*width]
		w := sc.w[:nt*n]
		asm.DotTile(w, pq, s.proj, width)
		for i := 0; i < nt; i++ {
			row, dst := w[i*n:(i+1)*n], out[(q0+i)*t:(q0+i+1)*t]
			if math.IsNaN(sc.h[i]) {
				clear(dst)
				continue
			}
			if j := skip[q0+i]; j >= 0 {
				row[j] = float32(math.Inf(1))
			}
			b := s.scoreBound(float64(sc.an[i]), sc.h[i])
			for g := range dst {
				dst[g] = b.lower(asm.Min(row[starts[g]:starts[g+1]]))
			}
		}
	}
}

// Point is a query projected on a Set's basis, for bounds to single rows
// (Score and Limit).
type Point struct {
	row   [width]float32 // the left side of the bound's product
	an, h float64        // its projected squared norm and error term
	ok    bool           // false: too large for the bound's arithmetic
}

// Project fills pt with the projected point of the query q (d floats,
// finite): m·d multiply-adds. L2 Sets only.
func (s *Set) Project(q []float32, pt *Point) {
	s.mustBeL2("Project")
	sc := s.getScratch()
	defer s.scratch.Put(sc)
	s.boundRows(&sc.queryPoints, q)
	copy(pt.row[:], sc.pq[:width])
	pt.an, pt.h = float64(sc.an[0]), sc.h[0]
	pt.ok = !math.IsNaN(pt.h)
}

// Score returns row j's bound score for pt's query, width multiply-adds: a
// row whose score exceeds Limit(pt, D) is farther than D.
func (s *Set) Score(pt *Point, j int) float32 {
	return asm.Dot32(&pt.row, (*[width]float32)(s.proj[j*width:(j+1)*width]))
}

// Prefetch asks for row j's projection (two cache lines), for a caller
// about to Score several scattered rows.
func (s *Set) Prefetch(j int) {
	asm.Prefetch(s.proj[j*width : (j+1)*width])
}

// Limit returns the largest score (Score) a row at an exact L2 distance of
// at most dist from pt's query can have, whatever the rounding (+Inf for a
// query too large for the bound's arithmetic).
func (s *Set) Limit(pt *Point, dist float64) float32 {
	if !pt.ok {
		return float32(math.Inf(1))
	}
	return s.limitAt(dist, pt.an, pt.h)
}

// Reach returns the largest exact L2 distance (not squared) a row can be at
// from a query when asm.L2Sqr gives at most key for the pair (+Inf for
// +Inf): a row whose Score exceeds Limit(pt, Reach(key)) has an asm.L2Sqr
// above key. L2 Sets only.
func (s *Set) Reach(key float32) float64 {
	s.mustBeL2("Reach")
	return s.reach(key)
}

// scoreBound inverts limitAt for one query (projected squared norm an,
// error term hq): a row at exact distance D has a score w of at most
// (R²(1+8u) + scale·(an+2amax) - an) plus 4u of its size, with R =
// sqrt(1+τ)·D + hq + hmax; so a score w gives D at least lower(w). It holds
// the terms that depend on the query only.
type scoreBound struct {
	base, hs, scale float64
}

func (s *Set) scoreBound(an, hq float64) scoreBound {
	e := s.scale * (an + 2*s.amax)
	return scoreBound{
		base:  an - e - 8*u*(an+e),
		hs:    hq + s.hmax,
		scale: (1 - 1e-9) / math.Sqrt(1+s.tau),
	}
}

// lower returns the least exact distance a row of score v can be at,
// rounded down to float32 (+Inf for +Inf).
func (b scoreBound) lower(v float32) float32 {
	if math.IsInf(float64(v), 1) {
		return v
	}
	wv := float64(v)
	r2 := (wv - 8*u*math.Abs(wv) + b.base) / (1 + 8*u)
	if !(r2 > 0) {
		return 0
	}
	lb := (math.Sqrt(r2)*(1-1e-12) - b.hs) * b.scale
	if !(lb > 0) {
		return 0
	}
	f := float32(lb)
	if float64(f) > lb {
		f = math.Float32frombits(math.Float32bits(f) - 1) // the next float32 down
	}
	return f
}

// Update takes in rows the caller has changed in place since the Set was
// built (or last updated), listed by number (repeats allowed): their
// projections are computed again on the Set's basis and centre, which stay
// as they were, and the error maxima of the bound only grow, so the
// answers stay exact. It reports false, and the Set must no longer be
// searched, when a changed row is too large for the bound's arithmetic.
// Update must not run while the Set is searched. It costs two products of
// the changed rows with the basis: far less than a new Set when few rows
// change, as when the centres of mini-batch k-means move. L2 Sets only
// (an inner-product Set's lift depends on every row's norm).
func (s *Set) Update(rows []int32) bool {
	s.mustBeL2("Update")
	if len(rows) == 0 {
		return true
	}
	s.gen.Add(1)
	d, m := s.d, s.m
	const block = 512
	nb := min(block, len(rows))
	c := make([]float32, nb*d)
	rec := make([]float32, nb*d)
	p := make([]float32, nb*m)
	pg := make([]float32, nb*m)
	a := make([]float32, nb)
	h := make([]float64, nb)
	out := make([]float32, nb*width)
	norms := make([]float32, nb)
	redo := make([]int32, 0, nb)
	for r0 := 0; r0 < len(rows); r0 += block {
		part := rows[r0:min(r0+block, len(rows))]
		nv := len(part)
		for i, r := range part {
			s.centreInto(c[i*d:(i+1)*d], s.rows[int(r)*d:(int(r)+1)*d])
		}
		s.points(out[:nv*width], h[:nv], c[:nv*d], p[:nv*m], rec[:nv*d], a[:nv], false, pg, redo)
		for _, v := range h[:nv] {
			if math.IsNaN(v) {
				return false
			}
			s.hmax = max(s.hmax, v)
		}
		asm.SqNorms(norms[:nv], out[:nv*width], width)
		for i, r := range part {
			dst := s.proj[int(r)*width : (int(r)+1)*width]
			copy(dst, out[i*width:(i+1)*width])
			dst[m+1] = norms[i]
			s.amax = max(s.amax, float64(norms[i])*(1+4*u))
		}
	}
	return true
}

// mustBeL2 panics on a Set made by NewIP: the distances and updates of
// name are those of the rows themselves, not of their lifted vectors.
func (s *Set) mustBeL2(name string) {
	if s.ip {
		panic("pruned: " + name + " on an inner-product Set")
	}
}

// queryPoints holds the bound's left sides for a group of queries and the
// buffers that compute them (boundRows).
type queryPoints struct {
	qc   []float32 // group x pd: centred queries
	rec  []float32 // group x pd
	p    []float32 // group x m
	pg   []float32 // group x m: the p of the queries reconstructed
	redo []int32   // group: the queries reconstructed
	pq   []float32 // group x width: the left sides of the bound's product
	aq   []float32 // group: centred squared norms
	an   []float32 // group: projected squared norms
	h    []float64 // group: the queries' error terms; NaN: too large for the bound
}

func (s *Set) newQueryPoints(g int) queryPoints {
	return queryPoints{
		qc: make([]float32, g*s.pd), rec: make([]float32, g*s.pd),
		p: make([]float32, g*s.m), pg: make([]float32, g*s.m), redo: make([]int32, 0, g),
		pq: make([]float32, g*width), aq: make([]float32, g), an: make([]float32, g),
		h: make([]float64, g),
	}
}

// boundRows fills qp for the queries qs (rows of d floats, as many as qp
// holds at most): their projected points (points, from the norms) turned
// into the left sides of the bound's product (boundRow) in pq, their
// projected squared norms in an and their error terms in h.
func (s *Set) boundRows(qp *queryPoints, qs []float32) {
	d, pd, m := s.d, s.pd, s.m
	nq := len(qs) / d
	qc, pq := qp.qc[:nq*pd], qp.pq[:nq*width]
	for i := 0; i < nq; i++ {
		s.centreInto(qc[i*pd:(i+1)*pd], qs[i*d:(i+1)*d])
	}
	s.points(pq, qp.h[:nq], qc, qp.p[:nq*m], qp.rec[:nq*pd], qp.aq[:nq], true, qp.pg[:nq*m], qp.redo)
	asm.SqNorms(qp.an[:nq], pq, width)
	for i := 0; i < nq; i++ {
		boundRow(pq[i*width:(i+1)*width], m)
	}
}

// scratch holds one search's buffers.
type scratch struct {
	queryPoints
	w     []float32 // tile x n: bound scores ||proj_j||² - 2<pq, proj_j>
	cand  []int32
	mins  []float32
	sel   topk.Heap
	selK  []float32
	selID []int64
	heap  topk.Heap

	// The leader: the last query answered from bound scores of its own,
	// which the queries after it may be answered from (follow).
	lead  bool      // the fields below hold a leader
	lq    []float32 // d: its vector
	lw    []float32 // n: its bound scores, measured rows NaN
	lrows []int32   // the rows it measured
	lan   float64   // its projected squared norm
	lh    float64   // its error term

	gen int64 // the Set's generation the leader belongs to

	measured int64 // rows measured in the tile under way

	// Whether to answer in turn: tiles to answer from one product first,
	// and how many the next tile where few queries follow will cost.
	// Leaders and these carry over from one search to the next: any leader
	// gives exact answers.
	batched, backoff int
}

func (s *Set) getScratch() *scratch {
	if sc, ok := s.scratch.Get().(*scratch); ok {
		if g := s.gen.Load(); sc.gen != g {
			// Rows changed since the leader was scored.
			sc.lead, sc.gen = false, g
		}
		return sc
	}
	t := s.tile
	return &scratch{
		gen:         s.gen.Load(),
		queryPoints: s.newQueryPoints(t),
		w:           make([]float32, t*s.n),
		lq:          make([]float32, s.d),
		lw:          make([]float32, s.n),

		backoff: minBatched,
	}
}

// Search writes the k nearest rows of each query (row-major, d floats) into
// dist and ids (k per query, nearest first, equal distances by smaller id),
// exactly as comparing each query with every row by asm.L2Sqr would. A
// row's id is rowIDs[row], or the row number when rowIDs is nil; k must not
// exceed the number of rows, and the queries must be finite with squared
// norms below float32's range (check.Vectors). On a Set made by NewIP it
// writes the k rows of largest asm.Dot instead, the products in dist. ctx
// is checked between tiles of queries.
//
// Queries that follow one another closely, as the frames of speech do, are
// answered in turn, each from the bound scores of the last query that
// needed scores of its own (see follow); while too few of them can be, tiles
// of queries get their scores from one matrix product instead.
func (s *Set) Search(ctx context.Context, queries []float32, k int, dist []float32, ids []int64, rowIDs []int64) error {
	sc := s.getScratch()
	defer s.scratch.Put(sc)
	nq := len(queries) / s.d
	for q0 := 0; q0 < nq; q0 += s.tile {
		if err := ctx.Err(); err != nil {
			return err
		}
		q1 := min(q0+s.tile, nq)
		qs, dt, it := queries[q0*s.d:q1*s.d], dist[q0*k:q1*k], ids[q0*k:q1*k]
		var followed, unpruned int
		inTurn := sc.batched == 0
		if inTurn {
			followed, unpruned = s.searchInTurn(sc, qs, k, dt, it, rowIDs)
		} else {
			sc.batched--
			unpruned = s.searchTile(sc, qs, k, dt, it, rowIDs)
		}
		// Counted once a tile: the counters are shared by every search.
		s.queries.Add(int64(q1 - q0))
		s.answered.Add(int64(q1 - q0))
		s.rowsMeasured.Add(sc.measured)
		sc.measured = 0
		s.unpruned.Add(int64(unpruned))
		if !inTurn {
			continue
		}
		s.followed.Add(int64(followed))
		if followed*followRate >= q1-q0 {
			sc.backoff = minBatched
		} else {
			sc.batched = sc.backoff
			sc.backoff = min(2*sc.backoff, maxBatched)
		}
	}
	return nil
}

const (
	// followRate: after a tile answered in turn where fewer than
	// 1/followRate of the queries followed a leader, tiles are answered
	// from one matrix product each, minBatched of them, twice as many after
	// each such tile again, up to maxBatched.
	followRate = 4
	minBatched = 4
	maxBatched = 16
)

// searchInTurn answers the queries qs one after another, each following the
// leader when it can and leading otherwise, and returns how many followed
// and how many measured every row.
func (s *Set) searchInTurn(sc *scratch, qs []float32, k int, dist []float32, ids []int64, rowIDs []int64) (followed, unpruned int) {
	d := s.d
	for i := 0; i < len(qs)/d; i++ {
		q, dq, iq := qs[i*d:(i+1)*d], dist[i*k:(i+1)*k], ids[i*k:(i+1)*k]
		if s.follow(sc, q, dq, iq, rowIDs) {
			followed++
			continue
		}
		s.boundRows(&sc.queryPoints, q)
		asm.DotMany(sc.lw, sc.pq[:width], s.proj)
		scored := s.answer(sc, q, 0, sc.lw, dq, iq, rowIDs)
		if !scored {
			unpruned++
		}
		s.setLeader(sc, q, 0, scored)
	}
	return followed, unpruned
}

// boundRow turns a query's point into the left side of the bound's
// product: (-2·point, 1)·(point_j, ||point_j||²).
func boundRow(row []float32, m int) {
	for t := range row[:m+1] {
		row[t] *= -2
	}
	row[m+1] = 1
}

// searchTile answers up to s.tile queries from one matrix product of their
// points with the rows'; the last of them becomes the leader. It returns how
// many measured every row.
func (s *Set) searchTile(sc *scratch, qs []float32, k int, dist []float32, ids []int64, rowIDs []int64) (unpruned int) {
	d, n := s.d, s.n
	nq := len(qs) / d
	s.boundRows(&sc.queryPoints, qs)
	w := sc.w[:nq*n]
	asm.DotTile(w, sc.pq[:nq*width], s.proj, width)
	for i := 0; i < nq-1; i++ {
		if !s.answer(sc, qs[i*d:(i+1)*d], i, w[i*n:(i+1)*n], dist[i*k:(i+1)*k], ids[i*k:(i+1)*k], rowIDs) {
			unpruned++
		}
	}
	// The last query's scores are kept for the queries after it.
	i := nq - 1
	copy(sc.lw, w[i*n:(i+1)*n])
	q := qs[i*d : (i+1)*d]
	scored := s.answer(sc, q, i, sc.lw, dist[i*k:(i+1)*k], ids[i*k:(i+1)*k], rowIDs)
	if !scored {
		unpruned++
	}
	s.setLeader(sc, q, i, scored)
	return unpruned
}

// setLeader makes query i of the current tile, q, the leader, if its bound
// scores (in sc.lw) survived its answer.
func (s *Set) setLeader(sc *scratch, q []float32, i int, scored bool) {
	sc.lead = scored
	if scored {
		copy(sc.lq, q)
		sc.lan, sc.lh = float64(sc.an[i]), sc.h[i]
	}
}

// follow answers q from the leader's bound scores, when that is cheap, and
// reports whether it did. The rows the leader measured give q k distances
// and so a bound B on its k-th; a row y within B of q is within D + δ of
// the leader, with D = sqrt(B/(1-γ)) the distance B allows and δ >= ||q -
// leader||, so the leader's scores with limitAt(D + δ) select a superset of
// q's answer, which is measured. Followers cost no projection and no matrix
// product: on speech, whose successive frames lie close together, most
// frames are answered from a few rows.
func (s *Set) follow(sc *scratch, q []float32, dist []float32, ids []int64, rowIDs []int64) bool {
	if !sc.lead || len(sc.lrows) < len(dist) {
		return false
	}
	h := &sc.heap
	h.Reset(dist, ids)
	for _, j := range sc.lrows {
		h.Push(s.key(q, int(j)), rowID(rowIDs, int(j)))
	}
	sc.measured += int64(len(sc.lrows))
	delta := math.Sqrt(float64(asm.L2Sqr(q, sc.lq))/(1-s.gamma)) * (1 + 4*u)
	nq := s.sqNorm(q)
	bound := h.Threshold()
	thr := s.limitAt(s.reachOf(bound, nq)+delta, sc.lan, sc.lh)
	cand, few := atMostFew(sc.cand[:0], sc.lw, thr, s.maxFollow)
	sc.cand = cand
	if !few {
		return false
	}
	for _, j := range cand {
		if !(sc.lw[j] <= thr) { // the bound has tightened since
			continue
		}
		h.Push(s.key(q, int(j)), rowID(rowIDs, int(j)))
		sc.measured++
		if t := h.Threshold(); t < bound {
			bound = t
			thr = s.limitAt(s.reachOf(bound, nq)+delta, sc.lan, sc.lh)
		}
	}
	h.Finish(s.ip)
	return true
}

// followStep is how many scores a follower selects from at a time.
const followStep = 256

// atMostFew appends to dst the indices j of the scores w[j] <= thr, in
// order, followStep scores at a time, and stops, reporting false, as soon
// as it holds more than most.
func atMostFew(dst []int32, w []float32, thr float32, most int) ([]int32, bool) {
	for j0 := 0; j0 < len(w); j0 += followStep {
		n0 := len(dst)
		dst = asm.AppendAtMost(dst, w[j0:min(j0+followStep, len(w))], thr)
		for t := n0; t < len(dst); t++ {
			dst[t] += int32(j0)
		}
		if len(dst) > most {
			return dst, false
		}
	}
	return dst, true
}

// rowID is row r's id: rowIDs[r], or r when rowIDs is nil.
func rowID(rowIDs []int64, r int) int64 {
	if rowIDs == nil {
		return int64(r)
	}
	return rowIDs[r]
}

// measured marks a row already measured among the bound scores: a NaN,
// which no threshold test selects again.
var measured = float32(math.NaN())

// answer finds query i's k nearest rows from its bound scores w
// (overwritten: the rows it measures become NaN, and are listed in
// sc.lrows). It reports whether w still holds the scores, which it does not
// when the query measured every row.
func (s *Set) answer(sc *scratch, q []float32, i int, w []float32, dist []float32, ids []int64, rowIDs []int64) bool {
	n, k := s.n, len(dist)
	h := &sc.heap
	h.Reset(dist, ids)
	sc.lrows = sc.lrows[:0]
	if math.IsNaN(sc.h[i]) || k*exhaustive > n {
		sc.measured += int64(n)
		s.all(h, q, w, rowIDs)
		return false
	}
	measure := func(j int) {
		h.Push(s.key(q, j), rowID(rowIDs, j))
		sc.measured++
		w[j] = measured
		sc.lrows = append(sc.lrows, int32(j))
	}
	// The bound of row j is an + w[j]; measure the k rows of smallest bound
	// first.
	if k == 1 {
		measure(asm.ArgMin(w))
	} else {
		// A few more than k rows of small bounds: those at most the k-th
		// smallest of the minima of 2k runs of the scores, at least one
		// in each of k runs. Any rows would do (they only make the first
		// threshold); these are found in a pass of comparisons instead of
		// a heap's selection.
		seed := asm.AppendAtMost(sc.cand[:0], w, seedThreshold(w, k, &sc.mins))
		if len(seed) > 4*k {
			// Many equal scores: the k smallest of them, by a heap.
			seed = s.smallest(sc, w, seed, k)
		}
		sc.cand = seed
		s.prefetchRows(seed)
		for _, j := range seed {
			measure(int(j))
		}
	}
	an, nq := float64(sc.an[i]), s.sqNorm(q)
	bound := h.Threshold()
	thr := s.limitAt(s.reachOf(bound, nq), an, sc.h[i])
	cand := asm.AppendAtMost(sc.cand[:0], w, thr)
	sc.cand = cand
	if len(cand)*exhaustive > n {
		h.Reset(dist, ids)
		sc.measured += int64(n)
		s.all(h, q, w, rowIDs)
		return false
	}
	s.prefetchRows(cand)
	for _, j := range cand {
		if !(w[j] <= thr) { // the bound has tightened since
			continue
		}
		measure(int(j))
		if t := h.Threshold(); t < bound {
			bound = t
			thr = s.limitAt(s.reachOf(bound, nq), an, sc.h[i])
		}
	}
	h.Finish(s.ip)
	return true
}

// prefetchRows asks for the first rows of js (asm.PrefetchL2Rows of them)
// into the second-level cache, so that the reads of the scattered rows a
// query is about to measure overlap (IVF16384,Flat on a million 256-d
// vectors, nprobe 8, an AMD EPYC: 5 % faster; RVC's coarse searches, whose
// rows are mostly cached, the same).
func (s *Set) prefetchRows(js []int32) {
	d := s.d
	for _, j := range js[:min(len(js), asm.PrefetchL2Rows(d))] {
		asm.PrefetchL2(s.rows[int(j)*d : (int(j)+1)*d])
	}
}

// seedThreshold returns a score that at least k of w's are at most: the
// k-th smallest of the minima of 2k runs of w (of about len(w)/2k scores,
// runStart; k <= len(w)/2). mins is scratch.
func seedThreshold(w []float32, k int, mins *[]float32) float32 {
	runs := 2 * k
	if cap(*mins) < runs {
		*mins = make([]float32, runs)
	}
	m := (*mins)[:runs]
	n := len(w)
	for r := range m {
		m[r] = asm.Min(w[runStart(r, n, runs):runStart(r+1, n, runs)])
	}
	// The k-th smallest of the 2k minima, by insertion: k is small.
	for i := 1; i <= k; i++ {
		v := m[i]
		j := i
		for j > 0 && v < m[j-1] {
			m[j] = m[j-1]
			j--
		}
		m[j] = v
	}
	thr := m[k-1]
	for _, v := range m[k+1:] {
		if v < thr {
			// v enters the k smallest: the new k-th is the larger of v
			// and the (k-1)-th.
			j := k - 1
			for j > 0 && v < m[j-1] {
				m[j] = m[j-1]
				j--
			}
			m[j] = v
			thr = m[k-1]
		}
	}
	if thr != thr {
		// NaN scores (none are expected): every row.
		return float32(math.Inf(1))
	}
	return thr
}

// runStart returns where run r of n values cut into runs begins: at r·n/runs,
// rounded down to a multiple of 8 (whole SIMD vectors for asm.Min) when runs
// are at least 8 long, which leaves none empty; n for r = runs.
func runStart(r, n, runs int) int {
	if r == runs {
		return n
	}
	s := r * n / runs
	if n >= 8*runs {
		s &^= 7
	}
	return s
}

// smallest returns the k rows of seed (indices into w) with the smallest
// scores, ties by smaller row, in place of seed.
func (s *Set) smallest(sc *scratch, w []float32, seed []int32, k int) []int32 {
	if cap(sc.selK) < k {
		sc.selK, sc.selID = make([]float32, k), make([]int64, k)
	}
	sel := &sc.sel
	sel.Reset(sc.selK[:k], sc.selID[:k])
	for _, j := range seed {
		if v := w[j]; v <= sel.Threshold() {
			sel.Push(v, int64(j))
		}
	}
	seed = seed[:0]
	for _, j := range sc.selID[:sel.Len()] {
		seed = append(seed, int32(j))
	}
	return seed
}

// all answers a query by measuring every row; buf holds n floats.
func (s *Set) all(h *topk.Heap, q, buf []float32, rowIDs []int64) {
	if s.ip {
		asm.DotMany(buf, q, s.rows)
		for j, v := range buf {
			buf[j] = -v
		}
	} else {
		asm.L2SqrMany(buf, q, s.rows)
	}
	thr := h.Threshold()
	for j, v := range buf {
		if v <= thr {
			h.Push(v, rowID(rowIDs, j))
			thr = h.Threshold()
		}
	}
	h.Finish(s.ip)
}

// key is row j's heap key for query q: asm.L2Sqr, or under inner product
// -asm.Dot (the heap keeps the smallest keys).
func (s *Set) key(q []float32, j int) float32 {
	row := s.rows[j*s.d : (j+1)*s.d]
	if s.ip {
		return -asm.Dot(q, row)
	}
	return asm.L2Sqr(q, row)
}

// sqNorm returns what reachOf needs of a query under inner product: its
// squared norm, in float64 (0 for L2 Sets, which do not need it).
func (s *Set) sqNorm(q []float32) float64 {
	if !s.ip {
		return 0
	}
	var a float64
	for _, v := range q {
		a += float64(v) * float64(v)
	}
	return a * (1 + 1e-13)
}

// reachOf is the most the exact distance between the projected vectors
// of a query and a row can be when the row's key could be at most key:
// reach(key) for L2. Under inner product the row's asm.Dot is at least
// -key, so its exact product is at least -key - γ·||x||·||y||, and with
// ||y'||² <= m2 + eps the lifted distance ||x'-y'||² = ||x||² + ||y'||² -
// 2<x,y> is at most ||x||² + m2 + eps + 2·key + 2γ·||x||·sqrt(m2), plus the
// float64 rounding of that sum (nq is ||x||², rounded up).
func (s *Set) reachOf(key float32, nq float64) float64 {
	if !s.ip {
		return s.reach(key)
	}
	if math.IsInf(float64(key), 1) || math.IsNaN(float64(key)) {
		return math.Inf(1)
	}
	k := float64(key)
	t := nq + s.m2 + s.eps + 2*k + 2*s.gamma*math.Sqrt(nq)*s.normMax
	t += 1e-14 * (nq + s.m2 + 2*math.Abs(k))
	return math.Sqrt(max(t, 0)) * (1 + 1e-15)
}

// limit returns the largest bound score w a row can have and still be at
// distance <= bound (as asm.L2Sqr computes it) from a query whose projected
// squared norm is an and whose error term is hq: a row with a larger score is
// farther, whatever the rounding. Derivation: asm.L2Sqr(q, y) <= bound gives
// ||q - y|| <= D = sqrt(bound/(1-γ)); the computed points are then at most
// R = sqrt(1+τ)·D + hq + hmax apart; the matrix product's expansion adds at
// most scale·(an + amax); a margin of a few roundings covers this
// arithmetic.
func (s *Set) limit(bound float32, an, hq float64) float32 {
	return s.limitAt(s.reach(bound), an, hq)
}

// reach is the most an exact distance can be when asm.L2Sqr gives at most
// bound: sqrt(bound/(1-γ)) (+Inf for +Inf).
func (s *Set) reach(bound float32) float64 {
	return math.Sqrt(float64(bound) / (1 - s.gamma))
}

// limitAt is limit for rows at an exact distance of at most dmax.
func (s *Set) limitAt(dmax, an, hq float64) float32 {
	return s.limitWith(dmax, an, hq, Margin{s.hmax, s.amax})
}

// limitWith is limitAt for rows covered by mg.
func (s *Set) limitWith(dmax, an, hq float64, mg Margin) float32 {
	if math.IsInf(dmax, 1) || math.IsNaN(dmax) {
		return float32(math.Inf(1))
	}
	r := math.Sqrt(1+s.tau)*dmax + hq + mg.hmax
	t := r*r*(1+8*u) + s.scale*(an+2*mg.amax) - an
	t += 4 * u * (math.Abs(t) + an)
	f := float32(t)
	if float64(f) < t {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}

const (
	// rangeGroup is how many queries share a pass over the projected rows
	// in Within, rangeRows how many rows one product of that pass covers
	// (their bound scores, rangeGroup x rangeRows floats, stay in cache).
	rangeGroup = 256
	rangeRows  = 256
	// rangeCheck is how many blocks of rows a group scores between checks
	// of the context (about 2 ms of work).
	rangeCheck = 64
)

// rangeScratch holds one Within call's buffers.
type rangeScratch struct {
	queryPoints
	thr  []float32 // rangeGroup: the largest score a candidate may have
	w    []float32 // rangeGroup x rangeRows: bound scores
	cand [][]int32 // per query
	all  []bool    // per query: measure every row instead
}

func (s *Set) getRangeScratch() *rangeScratch {
	if sc, ok := s.rscratch.Get().(*rangeScratch); ok {
		return sc
	}
	g := rangeGroup
	return &rangeScratch{
		queryPoints: s.newQueryPoints(g),
		thr:         make([]float32, g), w: make([]float32, g*rangeRows),
		cand: make([][]int32, g), all: make([]bool, g),
	}
}

// Within finds, for each query (row-major, d floats; finite, with squared
// norms below float32's range, as check.Vectors ensures), the rows that
// can be nearer than radius, and calls fn(i, cand) for query i, in order:
// cand lists, in increasing order, every row y with asm.L2Sqr(q_i, y) <
// radius, and usually a few more, which the caller measures; it is nil when
// the bound rules out too few rows to pay (fewer than 3 in 4), and the
// caller then measures every row. cand is valid only during the call. The
// queries are taken rangeGroup at a time: one product of their projected
// points with every row's gives the bound scores, and a row whose score
// exceeds the query's limit at radius (see limit) is farther. ctx is checked
// between groups and every rangeCheck blocks of rows; an error of fn ends
// the search.
func (s *Set) Within(ctx context.Context, queries []float32, radius float32, fn func(i int, cand []int32) error) error {
	if s.ip {
		return errors.New("pruned: Within on an inner-product Set")
	}
	d, n := s.d, s.n
	nq := len(queries) / d
	if !(radius > 0) {
		// asm.L2Sqr is never negative: nothing is nearer than radius.
		for i := 0; i < nq; i++ {
			if err := fn(i, []int32{}); err != nil {
				return err
			}
		}
		return nil
	}
	sc := s.getRangeScratch()
	defer s.rscratch.Put(sc)
	most := n / exhaustive
	for q0 := 0; q0 < nq; q0 += rangeGroup {
		if err := ctx.Err(); err != nil {
			return err
		}
		g := min(rangeGroup, nq-q0)
		s.boundRows(&sc.queryPoints, queries[q0*d:(q0+g)*d])
		pq := sc.pq[:g*width]
		unpruned := 0
		for i := 0; i < g; i++ {
			sc.cand[i] = sc.cand[i][:0]
			sc.all[i] = math.IsNaN(sc.h[i])
			if !sc.all[i] {
				sc.thr[i] = s.limit(radius, float64(sc.an[i]), sc.h[i])
				sc.all[i] = math.IsInf(float64(sc.thr[i]), 1)
			}
		}
		for r0 := 0; r0 < n; r0 += rangeRows {
			if r0%(rangeCheck*rangeRows) == 0 && r0 > 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			nb := min(rangeRows, n-r0)
			w := sc.w[:g*nb]
			asm.DotTile(w, pq, s.proj[r0*width:(r0+nb)*width], width)
			for i := 0; i < g; i++ {
				if sc.all[i] {
					continue
				}
				c := sc.cand[i]
				c0 := len(c)
				c = asm.AppendAtMost(c, w[i*nb:(i+1)*nb], sc.thr[i])
				for t := c0; t < len(c); t++ {
					c[t] += int32(r0)
				}
				sc.cand[i] = c
				if len(c) > most {
					sc.all[i] = true
				}
			}
		}
		for i := 0; i < g; i++ {
			if sc.all[i] {
				unpruned++
			}
		}
		s.queries.Add(int64(g))
		s.unpruned.Add(int64(unpruned))
		for i := 0; i < g; i++ {
			var cand []int32
			if !sc.all[i] {
				cand = sc.cand[i]
			}
			if err := fn(q0+i, cand); err != nil {
				return err
			}
		}
	}
	return nil
}
