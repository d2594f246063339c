// Package topk keeps the k best results of a search without sorting
// everything: a bounded binary heap that works in place in the caller's
// result row, so a search allocates nothing for it.
package topk

import "math"

// Heap keeps the k smallest entries pushed into it, ordered by key and, for
// equal keys, by id: of two entries with the same key the one with the
// smaller id is better. The k kept are therefore the first k of the order
// (key, id), whatever the order of the pushes, and the best k are always a
// prefix of the best k+1. For metrics where larger is better, callers push
// negated scores and call Finish with negate set.
//
// A Heap uses the buffers given to Reset as its storage; after Finish they
// hold the sorted results.
type Heap struct {
	keys []float32
	ids  []int64
	n    int
}

// Reset makes h empty and backed by keys and ids, which must have the same
// length k >= 1.
func (h *Heap) Reset(keys []float32, ids []int64) {
	h.keys, h.ids = keys, ids[:len(keys)]
	h.n = 0
}

// Slots returns the buffers given to Reset, which hold the results after
// Finish: a caller that selects entries by other means (a Reservoir)
// writes them there itself.
func (h *Heap) Slots() ([]float32, []int64) { return h.keys, h.ids }

// K is the number of entries the heap keeps.
func (h *Heap) K() int { return len(h.keys) }

// Len is the number of entries held.
func (h *Heap) Len() int { return h.n }

// Full reports whether the heap holds k entries.
func (h *Heap) Full() bool { return h.n == len(h.keys) }

// Threshold returns the largest key held once the heap is full, +Inf before.
// An entry whose key is larger cannot enter; one whose key is equal enters
// only with a smaller id than the worst entry's, so callers that filter
// before pushing keep keys <= Threshold() and let Push decide.
func (h *Heap) Threshold() float32 {
	if h.n < len(h.keys) {
		return float32(math.Inf(1))
	}
	return h.keys[0]
}

// Push offers an entry. It enters when the heap is not full, or when it is
// better, by (key, id), than the worst entry held, which it then replaces.
func (h *Heap) Push(key float32, id int64) {
	if h.n < len(h.keys) {
		i := h.n
		h.n++
		for i > 0 {
			p := (i - 1) / 2
			if !worse(key, id, h.keys[p], h.ids[p]) {
				break
			}
			h.keys[i], h.ids[i] = h.keys[p], h.ids[p]
			i = p
		}
		h.keys[i], h.ids[i] = key, id
		return
	}
	if !worse(h.keys[0], h.ids[0], key, id) {
		return
	}
	h.siftDown(0, h.n, key, id)
}

// worse reports whether entry (k1, i1) comes after (k2, i2) in the order by
// key, then id.
func worse(k1 float32, i1 int64, k2 float32, i2 int64) bool {
	return k1 > k2 || (k1 == k2 && i1 > i2)
}

// siftDown places (key, id) at the root of the heap of size n and restores
// the max-heap order.
func (h *Heap) siftDown(i, n int, key float32, id int64) {
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && worse(h.keys[c+1], h.ids[c+1], h.keys[c], h.ids[c]) {
			c++
		}
		if !worse(h.keys[c], h.ids[c], key, id) {
			break
		}
		h.keys[i], h.ids[i] = h.keys[c], h.ids[c]
		i = c
	}
	h.keys[i], h.ids[i] = key, id
}

// Finish sorts the entries best first (ascending keys, ties by ascending id),
// fills the unused slots with id -1 and key +Inf, and, when negate is set,
// negates every key (so unused slots get -Inf). It returns the number of
// entries. The heap must be Reset before it is used again.
func (h *Heap) Finish(negate bool) int {
	n := h.n
	for end := n - 1; end > 0; end-- {
		k, id := h.keys[end], h.ids[end]
		h.keys[end], h.ids[end] = h.keys[0], h.ids[0]
		h.siftDown(0, end, k, id)
	}
	inf := float32(math.Inf(1))
	for i := n; i < len(h.keys); i++ {
		h.keys[i], h.ids[i] = inf, -1
	}
	if negate {
		for i := range h.keys {
			h.keys[i] = -h.keys[i]
		}
	}
	h.n = 0
	return n
}
