package ivf

// ByList groups the probes of a batch by inverted list, so that a scanner
// can read each probed list once for all the queries that probe it. lists
// holds nprobe list numbers per query (-1: no list), as the coarse search
// returns them. The buffers are kept for the next batch.
type ByList struct {
	end   []int32 // end[l]: end of list l's probes in order; list l starts at end[l-1]
	order []int32 // probe positions p (query p/nprobe) grouped by list, ascending within a list
}

// Group sorts the probe positions 0..len(lists)-1 by list, for nlist lists.
func (g *ByList) Group(lists []int64, nlist int) {
	if cap(g.end) < nlist+1 {
		g.end = make([]int32, nlist+1)
	}
	// Counting sort: count per list (shifted by one), prefix sums give each
	// list's start, then placing the probes moves each start to its end.
	count := g.end[:nlist+1]
	clear(count)
	for _, l := range lists {
		if l >= 0 {
			count[l+1]++
		}
	}
	for l := 0; l < nlist; l++ {
		count[l+1] += count[l]
	}
	total := int(count[nlist])
	if cap(g.order) < total {
		g.order = make([]int32, total)
	}
	g.order = g.order[:total]
	for p, l := range lists {
		if l >= 0 {
			g.order[count[l]] = int32(p)
			count[l]++
		}
	}
	g.end = count[:nlist]
}

// Each calls f for every list that some probe visits, in list order, with
// the probe positions that visit it.
func (g *ByList) Each(f func(list int, probes []int32)) {
	prev := int32(0)
	for l, e := range g.end {
		if e > prev {
			f(l, g.order[prev:e])
		}
		prev = e
	}
}
