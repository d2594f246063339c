// Package ivfpqfs is the fast-scan PQ codec of inverted lists ("IVF{n},
// PQ{M}x4fs" and, encoding residuals, "IVF{n},PQ{M}x4fsr"; FAISS's
// IndexIVFPQFastScan): each list holds FAISS's packed blocks of 4-bit PQ
// codes (package fastscan), and a list is scanned with fastscan's block
// scanner for a group of the queries that probe it.
package ivfpqfs

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/kmeans"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/pq"
)

// Codec stores an IVF index's lists as fast-scan PQ codes.
//
// For a query, the tables of every probed list are quantized together with
// one scale, so that integer sums from different lists compare and one top k
// serves them all. Without residuals one table serves every list; with
// residuals under L2 each list has its own table (of the query minus the
// list's centroid); with residuals under inner product the table is shared
// and each list adds the query's inner product with its centroid.
type Codec struct {
	d, m       int
	mt         metric.Metric
	byResidual bool
	pq         *pq.Quantizer

	// KMeans configures the training of the sub-quantizers.
	KMeans kmeans.Config

	centroids []float32
}

// New returns an untrained codec with m sub-quantizers for d-dimensional
// vectors.
func New(d, m int, mt metric.Metric, byResidual bool) (*Codec, error) {
	if !mt.Valid() {
		return nil, fmt.Errorf("ivfpqfs: %w: metric %v", kume.ErrUnsupported, mt)
	}
	q, err := pq.New(d, m)
	if err != nil {
		return nil, fmt.Errorf("ivfpqfs: %w", err)
	}
	return &Codec{d: d, m: m, mt: mt, byResidual: byResidual, pq: q}, nil
}

// Quantizer returns the product quantizer.
func (c *Codec) Quantizer() *pq.Quantizer { return c.pq }

// SetQuantizer installs a trained quantizer (when loading a saved index).
func (c *Codec) SetQuantizer(q *pq.Quantizer) error {
	if q.D() != c.d || q.M() != c.m || !q.IsTrained() {
		return fmt.Errorf("ivfpqfs: %w: quantizer of d = %d, M = %d (trained %v) for a codec of d = %d, M = %d",
			kume.ErrCorrupt, q.D(), q.M(), q.IsTrained(), c.d, c.m)
	}
	c.pq = q
	return nil
}

// ByResidual reports whether codes encode the vector minus its centroid.
func (c *Codec) ByResidual() bool { return c.byResidual }

// M returns the number of sub-quantizers.
func (c *Codec) M() int { return c.m }

// Init keeps the centroids for residuals.
func (c *Codec) Init(d, nlist int, centroids []float32) error {
	if d != c.d {
		return fmt.Errorf("ivfpqfs: %w: codec of d = %d in an index of d = %d", kume.ErrDimension, c.d, d)
	}
	c.centroids = centroids
	return nil
}

// IsTrained reports whether the product quantizer is trained.
func (c *Codec) IsTrained() bool { return c.pq.IsTrained() }

// Train trains the product quantizer on (at most pq.TrainPoints of) the
// vectors, or on their residuals, drawn with a fixed seed.
func (c *Codec) Train(ctx context.Context, x []float32, lists []int32) error {
	n := len(lists)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if n > pq.TrainPoints {
		rng := rand.New(rand.NewPCG(1234, 0))
		rng.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:pq.TrainPoints]
	}
	sample := make([]float32, len(idx)*c.d)
	for j, i := range idx {
		row := sample[j*c.d : (j+1)*c.d]
		copy(row, x[i*c.d:(i+1)*c.d])
		if c.byResidual {
			c.subtractCentroid(row, int(lists[i]))
		}
	}
	return c.pq.Train(ctx, sample, c.KMeans)
}

func (c *Codec) subtractCentroid(row []float32, list int) {
	cen := c.centroids[list*c.d : (list+1)*c.d]
	for j := range row {
		row[j] -= cen[j]
	}
}

// BytesPerVector is M2/2: the packed code of one vector.
func (c *Codec) BytesPerVector() float64 { return float64(fastscan.M2(c.m)) / 2 }

// Codes are the codes of one list: n codes in FAISS's packed blocks.
type Codes struct {
	c      *Codec
	list   int
	n      int
	packed []byte
}

// NewList returns an empty list.
func (c *Codec) NewList(list int) ivf.Codes { return &Codes{c: c, list: list} }

// NewPacked returns the codes of list made of n packed codes
// (fastscan.Blocks(n) blocks in FAISS's layout), as a file stores them. The
// slice is kept, not copied.
func (c *Codec) NewPacked(list int, packed []byte, n int) (*Codes, error) {
	if len(packed) != fastscan.Blocks(n)*fastscan.BlockBytes(c.m) {
		return nil, fmt.Errorf("ivfpqfs: %w: list %d has %d packed bytes for %d codes", kume.ErrCorrupt, list, len(packed), n)
	}
	return &Codes{c: c, list: list, n: n, packed: packed}, nil
}

// Len is the number of codes.
func (l *Codes) Len() int { return l.n }

// Packed returns the packed blocks. The slice must not be modified.
func (l *Codes) Packed() []byte { return l.packed }

// Append encodes vectors (their residuals, with by_residual) and packs them
// after the list's codes.
func (l *Codes) Append(x []float32) error {
	c := l.c
	n := len(x) / c.d
	if c.byResidual {
		x = append([]float32(nil), x...)
		for i := 0; i < n; i++ {
			c.subtractCentroid(x[i*c.d:(i+1)*c.d], l.list)
		}
	}
	codes := make([]byte, n*c.pq.CodeSize())
	c.pq.Encode(codes, x)
	l.packed = fastscan.AppendPacked(l.packed, codes, l.n, n, c.m)
	l.n += n
	return nil
}

// Truncate keeps the first n codes; the padding of the last block is zeroed
// again, as FAISS's files have it.
func (l *Codes) Truncate(n int) {
	if n >= l.n {
		return
	}
	l.packed = fastscan.TruncatePacked(l.packed, n, l.c.m)
	l.n = n
}

// Keep keeps the codes at positions keep, packed anew.
func (l *Codes) Keep(keep []int32) {
	l.packed = fastscan.KeepPacked(l.packed, l.n, l.c.m, keep)
	l.n = len(keep)
}

// Decode appends the decoded vector at position i.
func (l *Codes) Decode(i int, dst []float32) []float32 {
	c := l.c
	code := make([]byte, c.pq.CodeSize())
	fastscan.Unpack(code, l.packed, 1, c.m, i)
	base := len(dst)
	dst = append(dst, make([]float32, c.d)...)
	row := dst[base:]
	c.pq.Decode(row, code)
	if c.byResidual {
		cen := c.centroids[l.list*c.d : (l.list+1)*c.d]
		for j := range row {
			row[j] += cen[j]
		}
	}
	return dst
}

// NewScanner returns a scanner with its own tables and buffers.
func (c *Codec) NewScanner() ivf.Scanner { return &scanner{c: c, st: fastscan.NewScanner()} }
