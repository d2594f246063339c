package faissio

import (
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/hnsw"
	"github.com/kume-ann/kume/internal/check"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/refine"
)

// checkStored refuses stored vectors kume cannot compute with, by the rule
// every index applies on Add: no NaN or infinite component, and no row whose
// squared norm overflows float32 (components from about 2e19 up), which
// would make distances to it +Inf or NaN. FAISS stores such vectors; kume
// refuses them, on Add and on reading. x holds rows of d floats. The error
// wraps kume.ErrUnsupported and kume.ErrNonFinite.
func checkStored(what string, x []float32, d int) error {
	if _, err := check.Vectors(what, x, d); err != nil {
		return fmt.Errorf("faissio: %w: %w", kume.ErrUnsupported, err)
	}
	return nil
}

// eachID calls fn with the id of every vector idx stores, for the index
// types faissio reads and writes. It stops at fn's first error.
func eachID(idx kume.Index, fn func(id int64) error) error {
	switch x := idx.(type) {
	case *flat.Index:
		data, ids := x.Vectors()
		if ids != nil {
			return eachOf(ids, fn)
		}
		return eachUpTo(len(data)/x.Dim(), fn)
	case *fastscan.Index:
		n, _, ids := x.Packed()
		if ids != nil {
			return eachOf(ids, fn)
		}
		return eachUpTo(n, fn)
	case *ivf.Index:
		if x.Len() == 0 {
			return nil // an untrained codec has no lists to walk
		}
		for l := 0; l < x.NList(); l++ {
			if err := eachOf(x.Lists().IDs(l), fn); err != nil {
				return err
			}
		}
		return nil
	case *hnsw.Index:
		data, ids := x.Vectors()
		if ids != nil {
			return eachOf(ids, fn)
		}
		return eachUpTo(len(data)/x.Dim(), fn)
	case *l2norm.Index:
		return eachID(x.Sub(), fn)
	case *refine.Index:
		return eachID(x.Store(), fn)
	}
	return fmt.Errorf("faissio: %w: the ids of a %T", kume.ErrUnsupported, idx)
}

func eachOf(ids []int64, fn func(int64) error) error {
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

func eachUpTo(n int, fn func(int64) error) error {
	for i := 0; i < n; i++ {
		if err := fn(int64(i)); err != nil {
			return err
		}
	}
	return nil
}

// untrainedListFloor is how many lists an untrained IVF record may declare
// whatever its size. See checkUntrainedNList.
const untrainedListFloor = 1 << 16

// checkUntrainedNList bounds the nlist of an IVF record read without
// centroids. Nothing in such a record backs nlist, yet what is done with the
// index later costs memory or output in proportion to it (a list size per
// list, 16 bytes per list when a fast-scan index is written back). So nlist
// is accepted only up to untrainedListFloor, or up to one list per 16 bytes
// of input read so far (FAISS's block inverted lists store 16 bytes per list
// even when empty): every later cost is then bounded by the larger of the
// file's size and 1 MiB.
func (d *decoder) checkUntrainedNList(what string, nlist int) error {
	if nlist <= untrainedListFloor || int64(nlist) <= d.pos/16 {
		return nil
	}
	return d.corrupt("%s is untrained and declares %d lists, which nothing in its %d bytes backs (without centroids kume accepts up to %d lists, or one per 16 bytes of file)",
		what, nlist, d.pos, untrainedListFloor)
}
