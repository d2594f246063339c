package rvc

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/faissio"
	"github.com/kume-ann/kume/metric"
)

// DefaultK is the number of neighbours RVC blends per frame.
const DefaultK = 8

// RetrieverOptions configures a Retriever. The zero value is RVC's setting.
type RetrieverOptions struct {
	// K is the number of neighbours blended per frame (default 8).
	K int
	// NProbe overrides the number of inverted lists searched per frame; 0
	// keeps the index's stored default, which is what RVC searches with
	// (nprobe 1 in the files its training writes).
	NProbe int
}

// Retriever blends feature frames with their nearest stored frames, as RVC's
// inference pipeline does with its index. It holds the stored vectors once
// (RVC's big_npy, reconstructed from the index when the Retriever is made)
// and is safe for use from many goroutines.
type Retriever struct {
	idx    kume.Index
	big    []float32
	d, n   int
	k      int
	params *kume.SearchParams
	pool   sync.Pool // *scratch
}

// scratch is one Blend call's working memory, reused through a pool.
type scratch struct {
	res kume.Results
	w   []float64
	acc []float64
}

// NewRetriever makes a Retriever over idx, an L2 index that can give back
// its vectors (kume.Reconstructor: the Flat and IVF-Flat indexes RVC builds
// do). The index must not be changed while the Retriever is in use.
func NewRetriever(idx kume.Index, opts *RetrieverOptions) (*Retriever, error) {
	var o RetrieverOptions
	if opts != nil {
		o = *opts
	}
	if o.K == 0 {
		o.K = DefaultK
	}
	if o.K < 1 || o.NProbe < 0 {
		return nil, fmt.Errorf("rvc: %w: k = %d, nprobe = %d", kume.ErrInvalidArgument, o.K, o.NProbe)
	}
	if idx.Metric() != metric.L2 {
		return nil, fmt.Errorf("rvc: %w: RVC's weights 1/d² need an L2 index, this one is %v", kume.ErrUnsupported, idx.Metric())
	}
	rec, ok := idx.(kume.Reconstructor)
	if !ok {
		return nil, fmt.Errorf("rvc: %w: the index (%T) cannot give back its vectors", kume.ErrUnsupported, idx)
	}
	n := idx.Len()
	big, err := rec.ReconstructN(0, int64(n), make([]float32, 0, n*idx.Dim()))
	if err != nil {
		return nil, fmt.Errorf("rvc: reconstructing the stored vectors: %w", err)
	}
	r := &Retriever{idx: idx, big: big, d: idx.Dim(), n: n, k: o.K}
	if o.NProbe > 0 {
		r.params = &kume.SearchParams{NProbe: o.NProbe}
	}
	r.pool.New = func() any {
		return &scratch{w: make([]float64, r.k), acc: make([]float64, r.d)}
	}
	return r, nil
}

// OpenRetriever reads an index file (FAISS's format, such as RVC's
// added_IVF…_Flat_nprobe_1_….index) and makes a Retriever over it.
func OpenRetriever(path string, opts *RetrieverOptions) (*Retriever, error) {
	idx, err := faissio.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := NewRetriever(idx, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Dim is the dimension of the frames.
func (r *Retriever) Dim() int { return r.d }

// Len is the number of stored frames.
func (r *Retriever) Len() int { return r.n }

// K is the number of neighbours blended per frame.
func (r *Retriever) K() int { return r.k }

// Index is the index searched.
func (r *Retriever) Index() kume.Index { return r.idx }

// Vectors returns the stored frames in id order (RVC's big_npy), Len() rows
// of Dim() numbers. The caller must not change them.
func (r *Retriever) Vectors() []float32 { return r.big }

// Blend is BlendContext with a background context.
func (r *Retriever) Blend(dst, frames []float32, indexRate float32) ([]float32, error) {
	return r.BlendContext(context.Background(), dst, frames, indexRate)
}

// BlendContext replaces each frame (frames holds rows of Dim() numbers) by
// a mix of itself and its K nearest stored frames, and returns the result
// in dst, grown when it is too small (pass the previous result to reuse it:
// a call then allocates nothing; dst may also be frames itself). RVC's rule:
// with d_j the squared L2 distance of neighbour j,
//
//	w_j = (1/d_j)² / Σ_i (1/d_i)²
//	out = indexRate · Σ_j w_j · stored[id_j] + (1 − indexRate) · frame
//
// Empty result slots (id -1, when the probed lists hold fewer than K
// frames) get weight 0, as in RVC, where their weight underflows to 0. Where
// RVC divides by zero, a neighbour at distance 0 (an exact duplicate of the
// frame), the neighbours at distance 0 share the weight equally and the
// others get none; RVC's numpy gives NaN there. A frame with no neighbour at
// all (an index with no vectors) is passed through unchanged, as RVC's
// real-time pipeline does. indexRate 0 returns the frames unchanged without
// searching. indexRate must lie in [0, 1].
func (r *Retriever) BlendContext(ctx context.Context, dst, frames []float32, indexRate float32) ([]float32, error) {
	if len(frames)%r.d != 0 {
		return dst, fmt.Errorf("rvc: %w: %d numbers are not whole frames of %d", kume.ErrDimension, len(frames), r.d)
	}
	if !(indexRate >= 0 && indexRate <= 1) {
		return dst, fmt.Errorf("rvc: %w: index rate %v is not in [0, 1]", kume.ErrInvalidArgument, indexRate)
	}
	if cap(dst) < len(frames) {
		dst = make([]float32, len(frames))
	}
	dst = dst[:len(frames)]
	nq := len(frames) / r.d
	if nq == 0 {
		return dst, nil
	}
	if indexRate == 0 {
		copy(dst, frames)
		return dst, nil
	}
	s := r.pool.Get().(*scratch)
	defer r.pool.Put(s)
	if err := r.idx.SearchInto(ctx, &s.res, frames, r.k, r.params); err != nil {
		return dst, fmt.Errorf("rvc: %w", err)
	}
	for i := 0; i < nq; i++ {
		dist, ids := s.res.Row(i)
		row := i * r.d
		blendRow(dst[row:row+r.d], frames[row:row+r.d], dist, ids, r.big, r.d, indexRate, s.w, s.acc)
	}
	return dst, nil
}

// blendRow writes into out the blend of one frame with its neighbours
// (distances dist, ids ids into big, rows of d), using w (len(ids)) and acc
// (d) as scratch. out may be frame.
func blendRow(out, frame, dist []float32, ids []int64, big []float32, d int, rate float32, w, acc []float64) {
	if !weights(w, dist, ids, len(big)/d) {
		copy(out, frame)
		return
	}
	clear(acc)
	for j, id := range ids {
		if w[j] == 0 {
			continue
		}
		wj := w[j]
		v := big[int(id)*d : int(id+1)*d]
		for c, x := range v {
			acc[c] += wj * float64(x)
		}
	}
	keep := 1 - rate
	for c := range out {
		out[c] = float32(acc[c])*rate + keep*frame[c]
	}
}

// weights fills w with RVC's normalised weights for one frame's results and
// reports whether any neighbour was found.
func weights(w []float64, dist []float32, ids []int64, n int) bool {
	zeros := 0
	for j, id := range ids {
		w[j] = 0
		if id >= 0 && int(id) < n && dist[j] <= 0 {
			zeros++
		}
	}
	if zeros > 0 {
		// Exact duplicates: they share the weight.
		for j, id := range ids {
			if id >= 0 && int(id) < n && dist[j] <= 0 {
				w[j] = 1 / float64(zeros)
			}
		}
		return true
	}
	var sum float64
	for j, id := range ids {
		if id < 0 || int(id) >= n || math.IsInf(float64(dist[j]), 0) {
			continue
		}
		inv := 1 / float64(dist[j])
		w[j] = inv * inv
		sum += w[j]
	}
	if sum == 0 {
		return false
	}
	for j := range w {
		w[j] /= sum
	}
	return true
}
