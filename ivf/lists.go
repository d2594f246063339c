package ivf

import (
	"fmt"

	"github.com/kume-ann/kume"
)

// Lists are the inverted lists of an index: for each list the ids of its
// vectors, in storage order, and their codes (Codes, in the codec's
// layout). The index changes them under its write lock; what a caller gets
// from them must not be modified.
type Lists struct {
	d     int
	codec Codec
	ids   [][]int64
	codes []Codes
}

// init makes nlist empty lists of codec's codes.
func (ls *Lists) init(d, nlist int, codec Codec) {
	ls.d, ls.codec = d, codec
	ls.ids = make([][]int64, nlist)
	ls.codes = make([]Codes, nlist)
	for l := range ls.codes {
		ls.codes[l] = codec.NewList(l)
	}
}

// NList is the number of lists (0 before the index has centroids).
func (ls *Lists) NList() int { return len(ls.ids) }

// Len is the number of vectors in list l.
func (ls *Lists) Len(l int) int { return len(ls.ids[l]) }

// IDs returns the ids of list l in storage order.
func (ls *Lists) IDs(l int) []int64 { return ls.ids[l] }

// Codes returns the codes of list l.
func (ls *Lists) Codes(l int) Codes { return ls.codes[l] }

// Add encodes vectors (rows of d floats) and appends them with their ids to
// list l. On error the list is as it was.
func (ls *Lists) Add(l int, x []float32, ids []int64) error {
	if len(x) != len(ids)*ls.d {
		return fmt.Errorf("ivf: %w: %d floats for %d ids", kume.ErrDimension, len(x), len(ids))
	}
	n := len(ls.ids[l])
	if err := ls.codes[l].Append(x); err != nil {
		ls.codes[l].Truncate(n)
		return err
	}
	ls.ids[l] = append(ls.ids[l], ids...)
	return nil
}

// Set replaces the contents of list l with codes and their ids, as a file
// stores them (see the codec's constructors of Codes).
func (ls *Lists) Set(l int, ids []int64, codes Codes) error {
	if codes.Len() != len(ids) {
		return fmt.Errorf("ivf: %w: list %d has %d codes for %d ids", kume.ErrCorrupt, l, codes.Len(), len(ids))
	}
	ls.ids[l], ls.codes[l] = ids, codes
	return nil
}

// truncate keeps the first n vectors of list l.
func (ls *Lists) truncate(l, n int) {
	ls.codes[l].Truncate(n)
	ls.ids[l] = ls.ids[l][:n]
}

// remove deletes every vector whose id satisfies drop and returns how many
// were deleted; the others keep their order.
func (ls *Lists) remove(drop func(id int64) bool) int {
	removed := 0
	var keep []int32
	for l, ids := range ls.ids {
		keep = keep[:0]
		for i, id := range ids {
			if !drop(id) {
				keep = append(keep, int32(i))
			}
		}
		if len(keep) == len(ids) {
			continue
		}
		ls.codes[l].Keep(keep)
		kept := make([]int64, len(keep))
		for j, i := range keep {
			kept[j] = ids[i]
		}
		ls.ids[l] = kept
		removed += len(ids) - len(keep)
	}
	return removed
}

// reset empties every list.
func (ls *Lists) reset() {
	for l := range ls.ids {
		ls.ids[l] = nil
		ls.codes[l] = ls.codec.NewList(l)
	}
}
