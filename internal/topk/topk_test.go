package topk

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestHeapMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		k := 1 + rng.IntN(20)
		n := rng.IntN(60)
		type kv struct {
			key float32
			id  int64
		}
		all := make([]kv, n)
		for i := range all {
			all[i] = kv{float32(rng.IntN(30)), int64(i)} // many ties
		}
		keys, ids := make([]float32, k), make([]int64, k)
		var h Heap
		h.Reset(keys, ids)
		for _, e := range all {
			h.Push(e.key, e.id)
		}
		got := h.Finish(false)
		sort.Slice(all, func(i, j int) bool {
			if all[i].key != all[j].key {
				return all[i].key < all[j].key
			}
			return all[i].id < all[j].id
		})
		if want := min(k, n); got != want {
			t.Fatalf("Finish returned %d, want %d", got, want)
		}
		for i := 0; i < k; i++ {
			if i < n {
				// The set of kept keys must be the k smallest; with ties the
				// ids may differ from a stable sort, but keys may not.
				if keys[i] != all[i].key {
					t.Fatalf("trial %d: keys[%d] = %v, want %v", trial, i, keys[i], all[i].key)
				}
				if i > 0 && keys[i] == keys[i-1] && ids[i] < ids[i-1] {
					t.Fatalf("ties not ordered by id: %v", ids)
				}
			} else if ids[i] != -1 || !math.IsInf(float64(keys[i]), 1) {
				t.Fatalf("empty slot %d = (%v, %d)", i, keys[i], ids[i])
			}
		}
	}
}

func TestThresholdAndNegate(t *testing.T) {
	keys, ids := make([]float32, 2), make([]int64, 2)
	var h Heap
	h.Reset(keys, ids)
	if !math.IsInf(float64(h.Threshold()), 1) {
		t.Error("threshold of a non-full heap must be +Inf")
	}
	h.Push(-5, 1) // a score of 5 under inner product
	h.Push(-3, 2)
	h.Push(-4, 3)
	if h.Threshold() != -4 || !h.Full() {
		t.Errorf("threshold = %v, want -4", h.Threshold())
	}
	h.Push(-4, 9) // equal to the threshold: must not enter
	h.Finish(true)
	if keys[0] != 5 || keys[1] != 4 || ids[0] != 1 || ids[1] != 3 {
		t.Errorf("got %v %v, want [5 4] [1 3]", keys, ids)
	}
}
