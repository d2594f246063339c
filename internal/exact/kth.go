package exact

import (
	"math"

	"github.com/kume-ann/kume/internal/topk"
)

// sortedMax is the largest k for which kth keeps a sorted array: inserting
// into a few dozen keys by shifting beats a heap's sift.
const sortedMax = 32

// kth tracks the k-th smallest of the keys offered to it.
type kth struct {
	k      int
	sorted []float32 // k <= sortedMax: the smallest keys, ascending
	heap   topk.Heap // larger k
	keys   []float32
	ids    []int64
}

func (t *kth) reset(k int) {
	t.k = k
	if k <= sortedMax {
		if cap(t.sorted) < k {
			t.sorted = make([]float32, 0, sortedMax)
		}
		t.sorted = t.sorted[:0]
		return
	}
	if cap(t.keys) < k {
		t.keys = make([]float32, k)
		t.ids = make([]int64, k)
	}
	t.heap.Reset(t.keys[:k], t.ids[:k])
}

// threshold is the k-th smallest key offered, +Inf until k were.
func (t *kth) threshold() float32 {
	if t.k > sortedMax {
		return t.heap.Threshold()
	}
	if len(t.sorted) < t.k {
		return float32(math.Inf(1))
	}
	return t.sorted[t.k-1]
}

// push offers a key that is below the threshold (or any key before k were
// offered).
func (t *kth) push(v float32) {
	if t.k > sortedMax {
		t.heap.Push(v, 0)
		return
	}
	s := t.sorted
	if len(s) < t.k {
		s = append(s, v)
	}
	i := len(s) - 1
	for i > 0 && s[i-1] > v {
		s[i] = s[i-1]
		i--
	}
	s[i] = v
	t.sorted = s
}
