package hnsw

import (
	"fmt"
	"math"

	"github.com/kume-ann/kume"
)

// Graph is the navigable small-world graph of an Index, in the layout of
// FAISS's HNSW structure, so that it is written and read as FAISS stores it.
//
// Node i lives on levels 0 .. Levels[i]-1. Its neighbour slots for all its
// levels are Neighbors[Offsets[i]:Offsets[i+1]]; those of level l are
// Neighbors[Offsets[i]+CumNeighbors[l] : Offsets[i]+CumNeighbors[l+1]], filled
// from the start and padded with -1.
type Graph struct {
	// AssignProbas[l] is the probability that a new node's top level is l.
	AssignProbas []float64
	// CumNeighbors[l] is the number of neighbour slots of levels below l
	// (CumNeighbors[0] = 0; level 0 has 2M slots, higher levels M).
	CumNeighbors []int32
	// Levels[i] is one more than the top level of node i.
	Levels []int32
	// Offsets[i] is where node i's neighbour slots start; it has one entry
	// per node and one more for the end.
	Offsets []uint64
	// Neighbors holds the neighbour slots of every node.
	Neighbors []int32
	// EntryPoint is the node searches start from (-1 for an empty graph),
	// MaxLevel its top level.
	EntryPoint int32
	MaxLevel   int32
	// EfConstruction is the beam width of insertion, EfSearch the default
	// beam width of a search.
	EfConstruction int32
	EfSearch       int32
}

// newGraph returns an empty graph with FAISS's level probabilities for M:
// level l with probability exp(-l/mult)·(1-exp(-1/mult)), mult = 1/ln(M),
// for every level whose probability is at least 1e-9.
func newGraph(m int) *Graph {
	g := &Graph{CumNeighbors: []int32{0}, Offsets: []uint64{0}, EntryPoint: -1, MaxLevel: -1,
		EfConstruction: DefaultEfConstruction, EfSearch: DefaultEfSearch}
	mult := float32(1 / math.Log(float64(m)))
	nn := int32(0)
	for level := 0; ; level++ {
		// FAISS computes the probability in single precision.
		p := float32(math.Exp(float64(-float32(level)/mult))) * float32(1-math.Exp(float64(-1/mult)))
		if p < 1e-9 {
			break
		}
		g.AssignProbas = append(g.AssignProbas, float64(p))
		if level == 0 {
			nn += int32(2 * m)
		} else {
			nn += int32(m)
		}
		g.CumNeighbors = append(g.CumNeighbors, nn)
	}
	return g
}

// M returns the number of neighbour slots per node on levels above 0 (half
// those of level 0), as FAISS's HNSW{M} names it, or 0 when the graph has
// fewer than two levels of slots.
func (g *Graph) M() int {
	if len(g.CumNeighbors) < 3 {
		if len(g.CumNeighbors) == 2 {
			return int(g.CumNeighbors[1]) / 2
		}
		return 0
	}
	return int(g.CumNeighbors[2] - g.CumNeighbors[1])
}

// Len is the number of nodes.
func (g *Graph) Len() int { return len(g.Levels) }

// span returns the neighbour slots of node i on level l.
func (g *Graph) span(i int32, l int) []int32 {
	o := g.Offsets[i]
	return g.Neighbors[o+uint64(g.CumNeighbors[l]) : o+uint64(g.CumNeighbors[l+1])]
}

// Check verifies that the graph is consistent, as FAISS's reader does, and
// more: the level tables are monotone and start at 0, every node's level
// has slots, the offsets step by each node's slot count and end at the slot
// array's length, every neighbour on a level is -1 or a node that reaches
// that level, and the entry point is a node whose top level is MaxLevel (or
// -1 for an empty graph). It fails
// with an error wrapping kume.ErrCorrupt, so a graph that passes can be
// searched without any index going out of range.
func (g *Graph) Check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("hnsw: %w: %s", kume.ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if len(g.CumNeighbors) < 2 || g.CumNeighbors[0] != 0 {
		return bad("the per-level neighbour counts %v do not start at 0 with at least one level", head(g.CumNeighbors))
	}
	for l := 1; l < len(g.CumNeighbors); l++ {
		if g.CumNeighbors[l] < g.CumNeighbors[l-1] {
			return bad("the per-level neighbour counts decrease at level %d", l)
		}
	}
	if g.CumNeighbors[1] < 1 {
		return bad("level 0 has no neighbour slots")
	}
	n := len(g.Levels)
	if n > math.MaxInt32 {
		return bad("%d nodes", n)
	}
	if len(g.Offsets) != n+1 || g.Offsets[0] != 0 {
		return bad("%d offsets for %d nodes (want %d, starting at 0)", len(g.Offsets), n, n+1)
	}
	for i, lv := range g.Levels {
		if lv < 1 || int(lv) >= len(g.CumNeighbors) {
			return bad("node %d has %d levels, want 1..%d", i, lv, len(g.CumNeighbors)-1)
		}
		if g.Offsets[i+1] != g.Offsets[i]+uint64(g.CumNeighbors[lv]) {
			return bad("the offsets of node %d do not step by its %d slots", i, g.CumNeighbors[lv])
		}
	}
	if g.Offsets[n] != uint64(len(g.Neighbors)) {
		return bad("the offsets end at %d, the neighbour slots number %d", g.Offsets[n], len(g.Neighbors))
	}
	for i := 0; i < n; i++ {
		for l := 0; l < int(g.Levels[i]); l++ {
			for _, v := range g.span(int32(i), l) {
				if v < -1 || int(v) >= n {
					return bad("node %d has neighbour %d (nodes are 0..%d)", i, v, n-1)
				}
				if v >= 0 && int(g.Levels[v]) <= l {
					return bad("node %d has neighbour %d on level %d, which that node does not reach", i, v, l)
				}
			}
		}
	}
	if n == 0 {
		if g.EntryPoint != -1 {
			return bad("an empty graph has entry point %d", g.EntryPoint)
		}
	} else {
		if g.EntryPoint < 0 || int(g.EntryPoint) >= n {
			return bad("entry point %d, nodes are 0..%d", g.EntryPoint, n-1)
		}
		if g.MaxLevel != g.Levels[g.EntryPoint]-1 {
			return bad("max level %d, but the entry point %d reaches level %d", g.MaxLevel, g.EntryPoint, g.Levels[g.EntryPoint]-1)
		}
	}
	if g.EfSearch < 1 || g.EfConstruction < 1 {
		return bad("efSearch %d, efConstruction %d (want >= 1)", g.EfSearch, g.EfConstruction)
	}
	return nil
}

func head(v []int32) []int32 {
	if len(v) > 4 {
		return v[:4]
	}
	return v
}

// clone returns a deep copy of g.
func (g *Graph) clone() *Graph {
	c := *g
	c.AssignProbas = append([]float64(nil), g.AssignProbas...)
	c.CumNeighbors = append([]int32(nil), g.CumNeighbors...)
	c.Levels = append([]int32(nil), g.Levels...)
	c.Offsets = append([]uint64(nil), g.Offsets...)
	c.Neighbors = append([]int32(nil), g.Neighbors...)
	return &c
}
