package ivf

import (
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/check"
)

// LoadLists fills the inverted lists of a trained index directly, without
// assigning vectors with the coarse quantizer. fill receives the lists, under
// the index's write lock, and stores vectors in them through Lists.Add or
// Lists.Set; afterwards the index counts the vectors of every list. This restores an index saved to a file (see package faissio)
// with exactly the list membership it was saved with, which adding the
// vectors again would not guarantee. On error the lists hold whatever fill
// stored before it failed.
func (x *Index) LoadLists(fill func(lists *Lists) error) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.trained {
		return fmt.Errorf("ivf: %w: set the centroids before loading lists", kume.ErrNotTrained)
	}
	x.where = nil
	err := fill(&x.lists)
	n := 0
	x.next = 0
	for l := 0; l < x.nlist; l++ {
		n += x.lists.Len(l)
		x.next = check.AfterIDs(x.next, x.lists.IDs(l))
	}
	x.ntotal = n
	return err
}
