// Package pq is a product quantizer with 4-bit codes: a d-dimensional vector
// is cut into M sub-vectors of d/M dimensions, and each sub-vector is replaced
// by the number (0..15) of the nearest of 16 centroids learned for its
// sub-space.
//
// Codes follow FAISS's unpacked layout: ceil(M/2) bytes per vector,
// sub-quantizer m in byte m/2, in the low nibble when m is even and the high
// nibble when m is odd. Centroids follow FAISS's layout too: centroid c of
// sub-space m is the dsub floats at (m*16 + c)*dsub.
package pq

import (
	"context"
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/check"
	"github.com/kume-ann/kume/kmeans"
)

// KSub is the number of centroids per sub-space (4-bit codes).
const KSub = 16

// TrainPoints is the largest training sample, as in FAISS: 256 points per
// centroid.
const TrainPoints = 256 * KSub

// Quantizer is a 4-bit product quantizer.
type Quantizer struct {
	d, m, dsub int
	// centroids holds M*16 rows of dsub floats.
	centroids []float32
	// cnorms holds the squared norm of each centroid.
	cnorms []float32
	// ct holds the centroids by sub-space and coordinate, the layout
	// asm.SubTables reads: ct[(m*dsub+k)*16+c] = coordinate k of centroid
	// c of sub-space m.
	ct []float32
}

// New returns an untrained quantizer of d-dimensional vectors into m
// sub-quantizers. m must divide d.
func New(d, m int) (*Quantizer, error) {
	if d <= 0 || m <= 0 {
		return nil, fmt.Errorf("pq: %w: d = %d, M = %d", kume.ErrInvalidArgument, d, m)
	}
	if d%m != 0 {
		return nil, fmt.Errorf("pq: %w: M = %d sub-quantizers must divide the dimension d = %d", kume.ErrInvalidArgument, m, d)
	}
	return &Quantizer{d: d, m: m, dsub: d / m}, nil
}

// FromCentroids returns a trained quantizer with the given centroids
// (M*16*dsub floats, FAISS's layout).
func FromCentroids(d, m int, centroids []float32) (*Quantizer, error) {
	q, err := New(d, m)
	if err != nil {
		return nil, err
	}
	if len(centroids) != d*KSub {
		return nil, fmt.Errorf("pq: %w: %d centroid floats, want %d", kume.ErrCorrupt, len(centroids), d*KSub)
	}
	if _, err := check.Vectors("centroids", centroids, q.dsub); err != nil {
		return nil, fmt.Errorf("pq: %w", err)
	}
	q.setCentroids(append([]float32(nil), centroids...))
	return q, nil
}

func (q *Quantizer) setCentroids(c []float32) {
	q.centroids = c
	q.cnorms = make([]float32, q.m*KSub)
	asm.SqNorms(q.cnorms, c, q.dsub)
	q.ct = make([]float32, len(c))
	for m := 0; m < q.m; m++ {
		for c := 0; c < KSub; c++ {
			for k := 0; k < q.dsub; k++ {
				q.ct[(m*q.dsub+k)*KSub+c] = q.centroids[(m*KSub+c)*q.dsub+k]
			}
		}
	}
}

// D is the dimension of the vectors.
func (q *Quantizer) D() int { return q.d }

// M is the number of sub-quantizers.
func (q *Quantizer) M() int { return q.m }

// DSub is the dimension of a sub-space.
func (q *Quantizer) DSub() int { return q.dsub }

// CodeSize is the number of bytes of one unpacked code: ceil(M/2).
func (q *Quantizer) CodeSize() int { return (q.m + 1) / 2 }

// IsTrained reports whether the centroids are learned.
func (q *Quantizer) IsTrained() bool { return q.centroids != nil }

// Centroids returns the centroids (M*16*dsub floats). The slice must not be
// modified.
func (q *Quantizer) Centroids() []float32 { return q.centroids }

// Train learns 16 centroids per sub-space with k-means (FAISS's defaults for
// PQ: 25 iterations, at most 4096 points, a warning below 16*39 = 624
// points). cfg may set a logger or progress callback; zero fields take those
// defaults.
func (q *Quantizer) Train(ctx context.Context, x []float32, cfg kmeans.Config) error {
	n, err := check.Vectors("training set", x, q.d)
	if err != nil {
		return fmt.Errorf("pq: %w", err)
	}
	if n < KSub {
		return fmt.Errorf("pq: %w: %d training vectors, need at least %d", kume.ErrInvalidArgument, n, KSub)
	}
	cfg.InnerProduct, cfg.Spherical = false, false // codes are always nearest in L2
	centroids := make([]float32, q.d*KSub)
	sub := make([]float32, n*q.dsub)
	for m := 0; m < q.m; m++ {
		for i := 0; i < n; i++ {
			copy(sub[i*q.dsub:(i+1)*q.dsub], x[i*q.d+m*q.dsub:i*q.d+(m+1)*q.dsub])
		}
		res, err := kmeans.Train(ctx, sub, q.dsub, KSub, cfg)
		if err != nil {
			return fmt.Errorf("pq: sub-space %d: %w", m, err)
		}
		copy(centroids[m*KSub*q.dsub:], res.Centroids)
	}
	q.setCentroids(centroids)
	return nil
}

// Encode writes the codes of the n = len(x)/d vectors of x into dst, which
// must hold n*CodeSize() bytes. Each sub-vector gets the nearest centroid in
// L2 (the first one on ties).
func (q *Quantizer) Encode(dst []byte, x []float32) {
	n := len(x) / q.d
	cs := q.CodeSize()
	var dist [KSub]float32
	for i := 0; i < n; i++ {
		code := dst[i*cs : (i+1)*cs]
		clear(code)
		for m := 0; m < q.m; m++ {
			asm.L2SqrMany(dist[:], x[i*q.d+m*q.dsub:i*q.d+(m+1)*q.dsub], q.centroids[m*KSub*q.dsub:(m+1)*KSub*q.dsub])
			best := 0
			for c := 1; c < KSub; c++ {
				if dist[c] < dist[best] {
					best = c
				}
			}
			code[m/2] |= byte(best) << (4 * (m % 2))
		}
	}
}

// Code returns sub-quantizer m's code in an unpacked code.
func Code(code []byte, m int) byte { return code[m/2] >> (4 * (m % 2)) & 15 }

// Decode writes the reconstruction of each code (CodeSize bytes each) into
// dst, d floats per code.
func (q *Quantizer) Decode(dst []float32, codes []byte) {
	cs := q.CodeSize()
	for i := 0; i < len(codes)/cs; i++ {
		code := codes[i*cs : (i+1)*cs]
		for m := 0; m < q.m; m++ {
			c := int(Code(code, m))
			copy(dst[i*q.d+m*q.dsub:i*q.d+(m+1)*q.dsub], q.centroids[(m*KSub+c)*q.dsub:(m*KSub+c+1)*q.dsub])
		}
	}
}

// L2Tables writes the table of squared distances between the sub-vectors of
// x and every centroid: dst[m*16+c] = ||x_m - C_mc||². dst holds M*16 floats.
func (q *Quantizer) L2Tables(dst []float32, x []float32) {
	asm.SubTables(dst[:q.m*KSub], x[:q.d], q.ct, q.dsub, true)
}

// IPTables writes the table of inner products between the sub-vectors of x
// and every centroid: dst[m*16+c] = <x_m, C_mc>.
func (q *Quantizer) IPTables(dst []float32, x []float32) {
	asm.SubTables(dst[:q.m*KSub], x[:q.d], q.ct, q.dsub, false)
}

// TableDistance returns the asymmetric distance of a code from a table made
// by L2Tables or IPTables: the sum over sub-quantizers of the table entries
// the code selects.
func (q *Quantizer) TableDistance(table []float32, code []byte) float32 {
	var s float32
	for m := 0; m < q.m; m++ {
		s += table[m*KSub+int(Code(code, m))]
	}
	return s
}

// SymmetricL2 returns the squared L2 distance between the reconstructions of
// two codes (symmetric distance computation).
func (q *Quantizer) SymmetricL2(a, b []byte) float32 {
	var s float32
	for m := 0; m < q.m; m++ {
		ca, cb := int(Code(a, m)), int(Code(b, m))
		s += asm.L2Sqr(q.centroids[(m*KSub+ca)*q.dsub:(m*KSub+ca+1)*q.dsub], q.centroids[(m*KSub+cb)*q.dsub:(m*KSub+cb+1)*q.dsub])
	}
	return s
}

// MeanSquaredError returns the mean squared reconstruction error of x, a
// measure of how well the quantizer fits data.
func (q *Quantizer) MeanSquaredError(x []float32) float64 {
	n := len(x) / q.d
	if n == 0 {
		return 0
	}
	codes := make([]byte, n*q.CodeSize())
	q.Encode(codes, x)
	rec := make([]float32, q.d)
	var s float64
	for i := 0; i < n; i++ {
		q.Decode(rec, codes[i*q.CodeSize():(i+1)*q.CodeSize()])
		s += float64(asm.L2Sqr(rec, x[i*q.d:(i+1)*q.d]))
	}
	return s / float64(n)
}
