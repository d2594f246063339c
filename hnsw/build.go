package hnsw

import (
	"cmp"
	"slices"
)

// insert links node pt (whose level and slots exist, all -1) into the graph,
// by FAISS's insertion rules: greedy descent to pt's top level, then on each
// of its levels a beam search of width efConstruction for its nearest nodes,
// of which at most the level's slot count are kept by the neighbour-selection
// heuristic (a candidate is dropped when a kept neighbour is nearer to it
// than pt is), each linked both ways. Unlike FAISS, each level's beam starts
// from the nearest node the level above found. Old nodes (below n0) whose
// slots change are saved in u first.
func (x *Index) insert(s *searcher, pt, n0 int32, u *undo) {
	g := x.g
	top := g.Levels[pt] - 1
	if g.EntryPoint < 0 {
		g.EntryPoint, g.MaxLevel = pt, top
		return
	}
	q := x.data[int(pt)*x.d : int(pt+1)*x.d]
	nearest := g.EntryPoint
	dn := x.key(q, nearest)
	level := g.MaxLevel
	for ; level > top; level-- {
		nearest, dn = x.greedy(q, nil, int(level), nearest, dn)
	}
	for ; level >= 0; level-- {
		near := x.beam(s, q, int(level), nearest, dn)
		nearest, dn = near[0].id, near[0].d
		keep := x.selectNeighbors(s, near, len(g.span(pt, int(level))))
		for _, c := range keep {
			x.link(pt, c.id, int(level), n0, u)
		}
		for _, c := range keep {
			x.link(c.id, pt, int(level), n0, u)
		}
	}
	if top > g.MaxLevel {
		g.EntryPoint, g.MaxLevel = pt, top
	}
}

// less orders scored nodes by distance, then node.
func less(a, b scored) bool { return a.d < b.d || (a.d == b.d && a.id < b.id) }

func cmpScored(a, b scored) int {
	if c := cmp.Compare(a.d, b.d); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// beam returns the efConstruction nodes of level l nearest to q found by a
// best-first walk from (start, ds), sorted nearest first.
func (x *Index) beam(s *searcher, q []float32, l int, start int32, ds float32) []scored {
	g := x.g
	ef := int(g.EfConstruction)
	s.reset(g.Len())
	near := append(s.near[:0], scored{ds, start}) // max-heap
	front := append(s.front[:0], scored{ds, start})
	s.visit(start)
	for len(front) > 0 {
		c := front[0]
		if c.d > near[0].d {
			break
		}
		front = popHeap(front, less)
		for _, v := range g.span(c.id, l) {
			if v < 0 {
				break
			}
			if !s.visit(v) {
				continue
			}
			d := x.key(q, v)
			if len(near) < ef || d < near[0].d {
				e := scored{d, v}
				front = pushHeap(front, e, less)
				near = pushHeap(near, e, func(a, b scored) bool { return less(b, a) })
				if len(near) > ef {
					near = popHeap(near, func(a, b scored) bool { return less(b, a) })
				}
			}
		}
	}
	s.near, s.front = near, front
	slices.SortFunc(near, cmpScored)
	return near
}

// selectNeighbors keeps at most max of the candidates (sorted nearest
// first): all of them when they are fewer, else, in order, each that is
// nearer to the query than to every candidate kept before it (FAISS's
// shrink_neighbor_list).
func (x *Index) selectNeighbors(s *searcher, cands []scored, max int) []scored {
	if len(cands) < max {
		return append(s.keep[:0], cands...)
	}
	keep := s.keep[:0]
	for _, c := range cands {
		v := x.data[int(c.id)*x.d : int(c.id+1)*x.d]
		good := true
		for _, k := range keep {
			if x.key(v, k.id) < c.d {
				good = false
				break
			}
		}
		if good {
			keep = append(keep, c)
			if len(keep) >= max {
				break
			}
		}
	}
	s.keep = keep
	return keep
}

// link adds dst to src's neighbours on level l: into a free slot when there
// is one, else the slots are refilled with the selection heuristic over the
// old neighbours and dst (FAISS's add_link).
func (x *Index) link(src, dst int32, l int, n0 int32, u *undo) {
	g := x.g
	span := g.span(src, l)
	if src < n0 {
		if _, ok := u.saved[src]; !ok {
			u.saved[src] = slices.Clone(g.Neighbors[g.Offsets[src]:g.Offsets[src+1]])
		}
	}
	if span[len(span)-1] == -1 {
		i := len(span)
		for i > 0 && span[i-1] == -1 {
			i--
		}
		span[i] = dst
		return
	}
	q := x.data[int(src)*x.d : int(src+1)*x.d]
	cands := make([]scored, 0, len(span)+1)
	cands = append(cands, scored{x.key(q, dst), dst})
	for _, v := range span {
		cands = append(cands, scored{x.key(q, v), v})
	}
	slices.SortFunc(cands, cmpScored)
	var tmp searcher
	keep := x.selectNeighbors(&tmp, cands, len(span))
	i := 0
	for _, c := range keep {
		span[i] = c.id
		i++
	}
	for ; i < len(span); i++ {
		span[i] = -1
	}
}

func pushHeap(h []scored, e scored, lt func(a, b scored) bool) []scored {
	h = append(h, e)
	j := len(h) - 1
	for j > 0 {
		p := (j - 1) / 2
		if !lt(h[j], h[p]) {
			break
		}
		h[j], h[p] = h[p], h[j]
		j = p
	}
	return h
}

func popHeap(h []scored, lt func(a, b scored) bool) []scored {
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	j := 0
	for {
		c := 2*j + 1
		if c >= n {
			break
		}
		if c+1 < n && lt(h[c+1], h[c]) {
			c++
		}
		if !lt(h[c], h[j]) {
			break
		}
		h[j], h[c] = h[c], h[j]
		j = c
	}
	return h
}
