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
		// Pushed in random order: the kept entries must not depend on it.
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
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
				// The kept entries are the first k by (key, id), ties at
				// the k boundary included.
				if keys[i] != all[i].key || ids[i] != all[i].id {
					t.Fatalf("trial %d: entry %d = (%v, %d), want (%v, %d)", trial, i, keys[i], ids[i], all[i].key, all[i].id)
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
	h.Push(-4, 9) // equal to the threshold with a larger id: must not enter
	h.Finish(true)
	if keys[0] != 5 || keys[1] != 4 || ids[0] != 1 || ids[1] != 3 {
		t.Errorf("got %v %v, want [5 4] [1 3]", keys, ids)
	}
}

// TestTieAtBoundary: with equal keys the smaller ids win, whichever arrives
// first, so the best k are a prefix of the best k+1.
func TestTieAtBoundary(t *testing.T) {
	for k := 1; k <= 6; k++ {
		keys, ids := make([]float32, k), make([]int64, k)
		var h Heap
		h.Reset(keys, ids)
		for id := int64(9); id >= 0; id-- { // descending ids, all equal keys
			h.Push(1, id)
		}
		h.Finish(false)
		for i := range ids {
			if ids[i] != int64(i) {
				t.Fatalf("k=%d: ids %v, want 0..%d", k, ids, k-1)
			}
		}
	}
}
