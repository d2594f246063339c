package ivfpqfs

import (
	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/metric"
)

// cancelCodes is about how many codes a scan reads between checks of its
// context (a few milliseconds of work).
const cancelCodes = 1 << 18

// batchQueries bounds the queries whose tables a batch holds at once (2
// KiB each for M = 128).
const batchQueries = 1024

// scanner answers batches of queries over fast-scan lists. With one table
// per query (codes without residuals, or inner product), each list's blocks
// are scanned once for a group of up to fastscan.QueryGroup of the queries
// that probe it, each with its own table, bias, threshold and heap. With a
// table per probed list (L2 on residuals) the index hands it one query at a
// time.
type scanner struct {
	c  *Codec
	st *fastscan.Scanner

	// One query's tables (prepare).
	residual []float32
	tables   []float32
	bias     []float32
	luts     []byte   // one table, or one per probe when perList
	biasq    []uint16 // one per probe

	// The batch of the last Begin.
	nprobe  int
	perList bool
	heaps   []topk.Heap
	bluts   []byte    // each query's table (shared tables only)
	bbias   []uint16  // each probe's quantized bias
	bab     []float32 // each query's scale and offset
	btop    []uint32  // each query's top (inner product)
	gluts   []byte    // the tables of one group of queries, side by side
	gbias   []uint16
	useRes  bool             // the batch gathers candidates in reservoirs (reservoirMinK)
	res     []topk.Reservoir // each query's candidates, moved to its heap by Finish
	gres    []*topk.Reservoir
	gheaps  []*topk.Heap
}

// reservoirMinK is the smallest k for which a batch gathers each query's
// candidates in a topk.Reservoir rather than pushing them into its heap:
// a reservoir's appends and cuts cost less than a heap's sifts when many
// codes enter, which they do when k is large (with k_factor_rf, or a
// selective filter). Below it the heap is cheaper: on IVF64,PQ16x4fs
// (BenchmarkGather, 1,000 queries, nprobe 8) the heap takes 74.4 M
// instructions against 76.3 M at k = 10, 87.8 against 88.0 at k = 16,
// and 97.5 against 94.8 at k = 20.
var reservoirMinK = 20

// perListTables reports whether each probed list has its own table.
func (c *Codec) perListTables() bool { return c.byResidual && c.mt != metric.InnerProduct }

// MaxBatch is 1 with a table per probed list, else batchQueries.
func (s *scanner) MaxBatch() int {
	if s.c.perListTables() {
		return 1
	}
	return batchQueries
}

// WholeBatches is true when batches share tables (ivf.WholeBatcher): the
// larger they are, the fuller the groups of queries each block is scanned
// for.
func (s *scanner) WholeBatches() bool { return s.MaxBatch() > 1 }

// WorkPerCheck is cancelCodes.
func (s *scanner) WorkPerCheck() int { return cancelCodes }

// SetFilter restricts the following searches to the ids f contains: blocks
// whose ids a kume.IDMasker filters out are not scanned, other filters are
// asked about each vector that would enter the results.
func (s *scanner) SetFilter(f kume.IDFilter) { s.st.SetFilter(f) }

// Begin builds and quantizes every query's tables.
func (s *scanner) Begin(queries []float32, nprobe int, lists []int64, coarse []float32, heaps []topk.Heap) {
	c := s.c
	d, lb := c.d, fastscan.LUTBytes(c.m)
	nq := len(queries) / d
	s.nprobe, s.heaps, s.perList = nprobe, heaps, c.perListTables()
	if !s.perList {
		s.bluts = grow(s.bluts, nq*lb)
	}
	s.bab = grow(s.bab, 2*nq)
	s.bbias = grow(s.bbias, nq*nprobe)
	s.btop = grow(s.btop, nq)
	for i := 0; i < nq; i++ {
		a, b, top := s.prepare(queries[i*d:(i+1)*d], lists[i*nprobe:(i+1)*nprobe], coarse[i*nprobe:(i+1)*nprobe])
		if !s.perList {
			copy(s.bluts[i*lb:(i+1)*lb], s.luts[:lb])
		}
		copy(s.bbias[i*nprobe:(i+1)*nprobe], s.biasq)
		s.bab[2*i], s.bab[2*i+1], s.btop[i] = a, b, top
	}
	if len(s.gbias) < fastscan.QueryGroup {
		s.gluts = make([]byte, fastscan.QueryGroup*lb)
		s.gbias = make([]uint16, fastscan.QueryGroup)
		s.gres = make([]*topk.Reservoir, fastscan.QueryGroup)
		s.gheaps = make([]*topk.Heap, fastscan.QueryGroup)
	}
	s.useRes = heaps != nil && nq > 0 && heaps[0].K() >= reservoirMinK
	if s.useRes {
		if cap(s.res) < nq {
			s.res = make([]topk.Reservoir, nq)
		}
		s.res = s.res[:nq]
		for i := range s.res {
			s.res[i].Reset(heaps[i].K())
		}
	}
}

// lut returns the quantized table of probe p of the batch.
func (s *scanner) lut(p int32) []byte {
	lb := fastscan.LUTBytes(s.c.m)
	if s.perList {
		return s.luts[int(p)*lb : (int(p)+1)*lb]
	}
	i := int(p) / s.nprobe
	return s.bluts[i*lb : (i+1)*lb]
}

// Scan scans the list's blocks for its probes, in groups of up to
// fastscan.QueryGroup queries per block load.
func (s *scanner) Scan(list int, ids []int64, codes ivf.Codes, probes []int32) {
	l := codes.(*Codes)
	if l.n == 0 {
		return
	}
	m2 := fastscan.M2(s.c.m)
	lb := fastscan.LUTBytes(s.c.m)
	for g0 := 0; g0 < len(probes); g0 += fastscan.QueryGroup {
		group := probes[g0:min(g0+fastscan.QueryGroup, len(probes))]
		g := len(group)
		for j, p := range group {
			s.gbias[j] = s.bbias[p]
			if s.useRes {
				s.gres[j] = &s.res[int(p)/s.nprobe]
			} else {
				s.gheaps[j] = &s.heaps[int(p)/s.nprobe]
			}
		}
		luts := s.lut(group[0])
		if g > 1 {
			for j, p := range group {
				copy(s.gluts[j*lb:(j+1)*lb], s.lut(p))
			}
			luts = s.gluts[:g*lb]
		}
		if s.useRes {
			s.st.ScanReservoirs(l.packed, l.n, m2, ids, luts, s.gbias[:g], s.gres[:g])
		} else {
			s.st.Scan(l.packed, l.n, m2, ids, luts, s.gbias[:g], s.gheaps[:g])
		}
	}
}

// Finish writes query i's best codes, gathered in its reservoir (or its
// heap), into its heap's slots, best first, and turns their quantized keys
// into distance estimates.
func (s *scanner) Finish(i int, dist []float32) {
	if !s.useRes {
		fastscan.Finish(&s.heaps[i], dist, s.bab[2*i], s.bab[2*i+1], s.c.mt == metric.InnerProduct, s.btop[i])
		return
	}
	keys, ids := s.heaps[i].Slots()
	n := s.res[i].Finish(keys, ids)
	fastscan.Distances(dist, n, s.bab[2*i], s.bab[2*i+1], s.c.mt == metric.InnerProduct, s.btop[i])
}

// Range appends the codes of the list whose estimated distance (as a
// search returns it) is within radius of the query.
func (s *scanner) Range(j int, ids []int64, codes ivf.Codes, radius float32, dist []float32, out []int64) ([]float32, []int64) {
	l := codes.(*Codes)
	ip := s.c.mt == metric.InnerProduct
	return s.st.ScanRadius(l.packed, l.n, fastscan.M2(s.c.m), s.lut(int32(j)), s.bbias[j], ids, 0, s.bab[0], s.bab[1], ip, s.btop[0], radius, dist, out)
}

// prepare builds and quantizes query q's tables for its probed lists into
// s.luts (one table, or one per probe with per-list tables) and s.biasq (one
// per probe), and returns the scale, offset and, for inner product, the top
// the keys are complemented against.
func (s *scanner) prepare(q []float32, lists []int64, coarse []float32) (a, b float32, top uint32) {
	c := s.c
	ip := c.mt == metric.InnerProduct
	np := len(lists)
	perList := c.perListTables()
	nt := 1
	if perList {
		nt = np
	}
	tsize := c.m * fastscan.KSub
	s.tables = grow(s.tables, nt*tsize)
	s.luts = grow(s.luts, nt*fastscan.LUTBytes(c.m))
	s.bias = grow(s.bias, np)
	s.biasq = grow(s.biasq, np)
	switch {
	case perList:
		s.residual = grow(s.residual, c.d)
		for j, l := range lists {
			t := s.tables[j*tsize : (j+1)*tsize]
			if l < 0 {
				clear(t)
				continue
			}
			copy(s.residual, q)
			c.subtractCentroid(s.residual, int(l))
			c.pq.L2Tables(t, s.residual)
		}
		clear(s.bias)
	case ip:
		c.pq.IPTables(s.tables, q)
		for j := range s.bias {
			s.bias[j] = 0
			if c.byResidual && lists[j] >= 0 {
				s.bias[j] = coarse[j] // the codes hold residuals: add <q, centroid>
			}
		}
	default:
		c.pq.L2Tables(s.tables, q)
		clear(s.bias)
	}
	if perList {
		a, b = s.st.QuantizeTables(s.luts, s.biasq, s.tables, s.bias, nt, c.m, false)
	} else {
		// One table; the biases (inner product with residuals) go through
		// the same rule as FAISS's 2-D table with a bias per probe.
		a, b = s.st.QuantizeShared(s.luts, s.biasq, s.tables, s.bias, c.m)
	}
	if ip {
		// Larger is better: scan 255 - entry and top - bias instead, so
		// that smaller keys are better as under L2, with the very same
		// quantized values as FAISS.
		top = fastscan.Complement(s.luts[:fastscan.LUTBytes(c.m)], c.m)
		var maxBias uint16
		for _, v := range s.biasq {
			maxBias = max(maxBias, v)
		}
		for j := range s.biasq {
			s.biasq[j] = maxBias - s.biasq[j]
		}
		top += uint32(maxBias)
	}
	return a, b, top
}

// grow returns s with length n, reallocated when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
