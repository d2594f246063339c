package faissio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/ivf"
)

// FuzzSearchAfterLoad: whatever Read accepts must also be usable, within
// memory that the file's bytes back: searching (a batch and one query),
// reconstructing, listing sizes and writing it back must not panic, must
// fail only with a sentinel, and must not allocate far more than the file
// held (a file merely claiming a size must not cost that size later).
func FuzzSearchAfterLoad(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		ctx := context.Background()
		d := idx.Dim()
		if d > 1<<16 {
			t.Skip("dimension too large for the queries of this test")
		}
		queries := make([]float32, 3*d)
		for i := range queries {
			queries[i] = float32(i%7) - 3
		}
		budget := uint64(64*len(b)) + 32<<20
		var used uint64
		run := func(what string, fn func() error) {
			var err error
			used = allocated(func() { err = fn() })
			if err != nil && !sentinel(err) {
				t.Fatalf("%s: error wraps no sentinel: %v", what, err)
			}
			if used > budget {
				t.Fatalf("%s allocated %d bytes for a %d-byte file", what, used, len(b))
			}
		}
		run("batch search", func() error { _, err := idx.Search(ctx, queries, 4, nil); return err })
		run("single search", func() error { _, err := idx.Search(ctx, queries[:d], 4, nil); return err })
		if r, ok := idx.(kume.Reconstructor); ok {
			run("reconstruct", func() error { _, err := r.Reconstruct(0, nil); return err })
			run("reconstruct_n", func() error { _, err := r.ReconstructN(0, int64(min(idx.Len(), 4)), nil); return err })
		}
		if iv, ok := idx.(*ivf.Index); ok {
			run("list sizes", func() error { iv.ListSizes(); return nil })
		}
		run("write back", func() error { return Write(io.Discard, idx) })
	})
}

// sentinel reports whether err wraps one of kume's sentinel errors.
func sentinel(err error) bool {
	for _, s := range []error{kume.ErrNotTrained, kume.ErrDimension, kume.ErrNonFinite, kume.ErrInvalidArgument,
		kume.ErrFactory, kume.ErrUnsupported, kume.ErrCorrupt, kume.ErrNotFound} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
