package ivf

import (
	"context"
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/topk"
	"github.com/kume-ann/kume/metric"
)

// FlatCodec stores raw float32 vectors in each list (FAISS's IndexIVFFlat):
// 4·d bytes per vector, exact distances within the probed lists.
type FlatCodec struct {
	m     metric.Metric
	d     int
	lists []flatList
}

type flatList struct {
	vecs []float32
	ids  []int64
}

// NewFlatCodec returns a codec that stores raw vectors compared with metric m.
func NewFlatCodec(m metric.Metric) *FlatCodec { return &FlatCodec{m: m} }

// Init prepares nlist empty lists. Raw vectors need no centroids.
func (c *FlatCodec) Init(d, nlist int, centroids []float32) error {
	c.d = d
	c.lists = make([]flatList, nlist)
	return nil
}

// Train does nothing: raw vectors need no training.
func (c *FlatCodec) Train(ctx context.Context, x []float32, lists []int32) error { return nil }

// IsTrained is always true.
func (c *FlatCodec) IsTrained() bool { return true }

// Add appends vectors to a list.
func (c *FlatCodec) Add(list int, x []float32, ids []int64) error {
	if len(x) != len(ids)*c.d {
		return fmt.Errorf("ivf: %w: %d floats for %d ids", kume.ErrDimension, len(x), len(ids))
	}
	l := &c.lists[list]
	l.vecs = append(l.vecs, x...)
	l.ids = append(l.ids, ids...)
	return nil
}

// Len is the number of vectors in a list.
func (c *FlatCodec) Len(list int) int { return len(c.lists[list].ids) }

// IDs returns a list's ids.
func (c *FlatCodec) IDs(list int) []int64 { return c.lists[list].ids }

// Vectors returns a list's raw vectors, row-major. The slice must not be
// modified.
func (c *FlatCodec) Vectors(list int) []float32 { return c.lists[list].vecs }

// Reconstruct appends the vector at position i of a list.
func (c *FlatCodec) Reconstruct(list, i int, dst []float32) []float32 {
	return append(dst, c.lists[list].vecs[i*c.d:(i+1)*c.d]...)
}

// Remove deletes the vectors whose ids satisfy drop.
func (c *FlatCodec) Remove(drop func(int64) bool) int {
	removed := 0
	for li := range c.lists {
		l := &c.lists[li]
		w := 0
		for r, id := range l.ids {
			if drop(id) {
				continue
			}
			if w != r {
				copy(l.vecs[w*c.d:(w+1)*c.d], l.vecs[r*c.d:(r+1)*c.d])
				l.ids[w] = id
			}
			w++
		}
		removed += len(l.ids) - w
		l.ids, l.vecs = l.ids[:w], l.vecs[:w*c.d]
	}
	return removed
}

// Reset empties every list.
func (c *FlatCodec) Reset() {
	for i := range c.lists {
		c.lists[i] = flatList{}
	}
}

// BytesPerVector is 4·d.
func (c *FlatCodec) BytesPerVector() float64 { return float64(4 * c.d) }

// NewScanner returns a scanner with its own distance buffer and heap.
func (c *FlatCodec) NewScanner() Scanner {
	return &flatScanner{c: c, buf: make([]float32, flatScanBlock)}
}

// flatScanBlock is how many vectors one kernel call compares with the query.
const flatScanBlock = 1024

type flatScanner struct {
	c    *FlatCodec
	buf  []float32
	heap topk.Heap
}

func (s *flatScanner) Search(q []float32, lists []int64, coarse []float32, dist []float32, ids []int64) {
	c := s.c
	ip := c.m == metric.InnerProduct
	h := &s.heap
	h.Reset(dist, ids)
	for _, li := range lists {
		if li < 0 {
			continue
		}
		l := &c.lists[li]
		for r0 := 0; r0 < len(l.ids); r0 += flatScanBlock {
			r1 := min(r0+flatScanBlock, len(l.ids))
			buf := s.buf[:r1-r0]
			rows := l.vecs[r0*c.d : r1*c.d]
			if ip {
				asm.DotMany(buf, q, rows)
			} else {
				asm.L2SqrMany(buf, q, rows)
			}
			thr := h.Threshold()
			for j, v := range buf {
				if ip {
					v = -v
				}
				if v < thr {
					h.Push(v, l.ids[r0+j])
					thr = h.Threshold()
				}
			}
		}
	}
	h.Finish(ip)
}
