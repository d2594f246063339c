package topk

import "math"

// Reservoir keeps the k smallest entries pushed into it, by key then id, as
// a Heap does, for callers that push many entries: a push below the
// threshold is an append, and only when 2k entries are held are they cut
// back to the best k (a selection), which sets the threshold. Its answers
// are a Heap's: Finish writes the first k entries of the order (key, id)
// among all those pushed, whatever the order of the pushes. Its threshold
// is looser than a Heap's between cuts, never tighter. The zero value is
// ready for Reset; a Reservoir reuses its buffer across Resets.
type Reservoir struct {
	k    int
	thr  float32
	keys []float32
	ids  []int64
}

// Reset empties r for the k best entries.
func (r *Reservoir) Reset(k int) {
	r.k = k
	r.thr = float32(math.Inf(1))
	if cap(r.keys) < 2*k {
		r.keys = make([]float32, 0, 2*k)
		r.ids = make([]int64, 0, 2*k)
	}
	r.keys, r.ids = r.keys[:0], r.ids[:0]
}

// Threshold returns a key above which no entry can enter: +Inf until the
// first cut, then the k-th smallest key at the last cut. An entry whose key
// is equal may still enter (with a smaller id), so callers push keys <=
// Threshold().
func (r *Reservoir) Threshold() float32 { return r.thr }

// Push offers an entry; NaN keys are dropped.
func (r *Reservoir) Push(key float32, id int64) {
	if key > r.thr || key != key {
		return
	}
	r.keys = append(r.keys, key)
	r.ids = append(r.ids, id)
	if len(r.keys) >= 2*r.k {
		r.cut()
	}
}

// cut keeps the best k entries held, in any order, and lowers the
// threshold to the worst of them.
func (r *Reservoir) cut() {
	keys, ids := r.keys, r.ids
	lo, hi, k := 0, len(keys)-1, r.k-1
	// Quickselect on (key, id): afterwards entry k is the k-th of the
	// order and those before it are better.
	for lo < hi {
		mid := lo + (hi-lo)/2
		pk, pi := keys[mid], ids[mid]
		i, j := lo, hi
		for i <= j {
			for worse(pk, pi, keys[i], ids[i]) {
				i++
			}
			for worse(keys[j], ids[j], pk, pi) {
				j--
			}
			if i <= j {
				keys[i], keys[j] = keys[j], keys[i]
				ids[i], ids[j] = ids[j], ids[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			lo, hi = k, k
		}
	}
	r.thr = keys[k]
	r.keys, r.ids = keys[:r.k], ids[:r.k]
}

// Finish writes the best entries, best first (ascending keys, ties by
// ascending id), into keys and ids (of length k), fills the slots left with
// key +Inf and id -1, and returns the number of entries written. r must be
// Reset before it is used again.
func (r *Reservoir) Finish(keys []float32, ids []int64) int {
	if len(r.keys) > r.k {
		r.cut()
	}
	n := len(r.keys)
	keys, ids = keys[:r.k], ids[:r.k]
	// Insertion into the slots: k is a few dozen.
	for i, key := range r.keys {
		id := r.ids[i]
		j := i
		for j > 0 && worse(keys[j-1], ids[j-1], key, id) {
			keys[j], ids[j] = keys[j-1], ids[j-1]
			j--
		}
		keys[j], ids[j] = key, id
	}
	inf := float32(math.Inf(1))
	for i := n; i < r.k; i++ {
		keys[i], ids[i] = inf, -1
	}
	r.keys, r.ids = r.keys[:0], r.ids[:0]
	return n
}
