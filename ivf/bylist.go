package ivf

// smallBatch is the number of probes up to which grouping sorts them
// directly instead of counting over every list: a single query costs
// O(nprobe²) rather than O(nlist).
const smallBatch = 64

// byList groups the probes of a batch by inverted list, so that each probed
// list is read once for all the queries that probe it. The buffers are kept
// for the next batch.
type byList struct {
	order []int32 // probe positions p (query p/nprobe) grouped by list, ascending within a list
	lists []int32 // the lists probed, ascending
	ends  []int32 // ends[g]: the end of group g in order (it starts at ends[g-1])
	count []int32 // counting-sort scratch, nlist+1
}

// group sorts the probe positions 0..len(lists)-1 by list, for nlist lists.
// lists holds nprobe list numbers per query (-1: no list), as the coarse
// search returns them.
func (g *byList) group(lists []int64, nlist int) {
	g.order, g.lists, g.ends = g.order[:0], g.lists[:0], g.ends[:0]
	if len(lists) <= smallBatch {
		// Insertion sort by (list, position).
		for p, l := range lists {
			if l < 0 {
				continue
			}
			g.order = append(g.order, int32(p))
			for j := len(g.order) - 1; j > 0 && lists[g.order[j-1]] > l; j-- {
				g.order[j-1], g.order[j] = g.order[j], g.order[j-1]
			}
		}
		for i, p := range g.order {
			if i > 0 && lists[g.order[i-1]] != lists[p] {
				g.ends = append(g.ends, int32(i))
			}
			if i == 0 || lists[g.order[i-1]] != lists[p] {
				g.lists = append(g.lists, int32(lists[p]))
			}
		}
		if len(g.order) > 0 {
			g.ends = append(g.ends, int32(len(g.order)))
		}
		return
	}
	if cap(g.count) < nlist+1 {
		g.count = make([]int32, nlist+1)
	}
	// Counting sort: count per list (shifted by one), prefix sums give each
	// list's start, then placing the probes moves each start to its end.
	count := g.count[:nlist+1]
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
	prev := int32(0)
	for l, e := range count[:nlist] {
		if e > prev {
			g.lists = append(g.lists, int32(l))
			g.ends = append(g.ends, e)
		}
		prev = e
	}
}

// len is the number of lists probed.
func (g *byList) len() int { return len(g.lists) }

// at returns the i-th list probed (in list order) and the probe positions
// that visit it.
func (g *byList) at(i int) (list int, probes []int32) {
	start := int32(0)
	if i > 0 {
		start = g.ends[i-1]
	}
	return int(g.lists[i]), g.order[start:g.ends[i]]
}
