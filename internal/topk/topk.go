// Package topk keeps the k best results of a search without sorting
// everything: a bounded binary heap that works in place in the caller's
// result row, so a search allocates nothing for it.
package topk

import "math"

// Heap keeps the k smallest keys pushed into it, with their ids. For metrics
// where larger is better, callers push negated scores and call Finish with
// negate set.
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

// Len is the number of entries held.
func (h *Heap) Len() int { return h.n }

// Full reports whether the heap holds k entries.
func (h *Heap) Full() bool { return h.n == len(h.keys) }

// Threshold returns the key a new entry must beat (be strictly smaller than)
// to enter: +Inf until the heap is full, then the largest key held.
func (h *Heap) Threshold() float32 {
	if h.n < len(h.keys) {
		return float32(math.Inf(1))
	}
	return h.keys[0]
}

// Push offers an entry. It enters when the heap is not full or when key is
// strictly smaller than the largest key held, which it then replaces.
func (h *Heap) Push(key float32, id int64) {
	if h.n < len(h.keys) {
		i := h.n
		h.n++
		for i > 0 {
			p := (i - 1) / 2
			if !(h.keys[p] < key) {
				break
			}
			h.keys[i], h.ids[i] = h.keys[p], h.ids[p]
			i = p
		}
		h.keys[i], h.ids[i] = key, id
		return
	}
	if !(key < h.keys[0]) {
		return
	}
	h.siftDown(0, h.n, key, id)
}

// siftDown places (key, id) at the root of the heap of size n and restores
// the max-heap order.
func (h *Heap) siftDown(i, n int, key float32, id int64) {
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h.keys[c+1] > h.keys[c] {
			c++
		}
		if !(h.keys[c] > key) {
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
	// Equal keys come out of the heap in no useful order: order them by id
	// so that results do not depend on the order of insertion.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && h.keys[j] == h.keys[j-1] && h.ids[j] < h.ids[j-1]; j-- {
			h.ids[j], h.ids[j-1] = h.ids[j-1], h.ids[j]
		}
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
