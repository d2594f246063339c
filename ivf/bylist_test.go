package ivf

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestByList(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	var g byList
	for _, c := range []struct{ n, nlist int }{{0, 1}, {1, 1}, {10, 3}, {200, 17}, {50, 1000}, {64, 5}, {65, 5}, {300, 2000}} {
		lists := make([]int64, c.n)
		for i := range lists {
			lists[i] = int64(r.IntN(c.nlist+1)) - 1 // -1 sometimes
		}
		want := map[int][]int32{}
		for p, l := range lists {
			if l >= 0 {
				want[int(l)] = append(want[int(l)], int32(p))
			}
		}
		g.group(lists, c.nlist)
		got := map[int][]int32{}
		last := -1
		for i := 0; i < g.len(); i++ {
			l, probes := g.at(i)
			if l <= last || len(probes) == 0 {
				t.Fatalf("list %d after %d with %d probes", l, last, len(probes))
			}
			last = l
			got[l] = slices.Clone(probes)
		}
		if len(got) != len(want) {
			t.Fatalf("n=%d: %d lists, want %d", c.n, len(got), len(want))
		}
		for l, w := range want {
			if !slices.Equal(got[l], w) {
				t.Fatalf("n=%d list %d: %v, want %v", c.n, l, got[l], w)
			}
		}
	}
}
