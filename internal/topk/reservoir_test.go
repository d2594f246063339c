package topk

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestReservoirMatchesHeap: a Reservoir returns what a Heap returns for the
// same pushes, in any order, with many ties and repeated ids, whether the
// caller pushes everything or only keys at or below the threshold.
func TestReservoirMatchesHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var r Reservoir
	for trial := 0; trial < 300; trial++ {
		k := 1 + rng.IntN(50)
		n := rng.IntN(400)
		spread := 1 + rng.IntN(1000) // small spreads tie often
		keys, ids := make([]float32, n), make([]int64, n)
		for i := range keys {
			keys[i] = float32(rng.IntN(spread))
			ids[i] = rng.Int64N(int64(n + 1))
		}
		hk, hi := make([]float32, k), make([]int64, k)
		var h Heap
		h.Reset(hk, hi)
		for i := range keys {
			h.Push(keys[i], ids[i])
		}
		hn := h.Finish(false)
		for _, prefilter := range []bool{false, true} {
			r.Reset(k)
			for i := range keys {
				if !prefilter || keys[i] <= r.Threshold() {
					r.Push(keys[i], ids[i])
				}
			}
			rk, ri := make([]float32, k), make([]int64, k)
			rn := r.Finish(rk, ri)
			if rn != hn || fmt.Sprint(rk, ri) != fmt.Sprint(hk, hi) {
				t.Fatalf("trial %d k=%d n=%d prefilter=%v: reservoir %d %v %v, heap %d %v %v", trial, k, n, prefilter, rn, rk, ri, hn, hk, hi)
			}
		}
	}
}
