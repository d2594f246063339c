package factory

import (
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/hnsw"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/ivf/ivfpqfs"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/refine"
)

// Describe returns the Spec of idx's structure, the inverse of Build:
// Describe(idx).String() is the canonical factory string of an index like
// idx (built by New, or read by package faissio), and Build with it makes an
// empty one. An index the grammar cannot express (a wrapper in another
// order, an HNSW index on its own, a type from elsewhere) fails with an
// error wrapping kume.ErrUnsupported.
func Describe(idx kume.Index) (Spec, error) {
	var s Spec
	if x, ok := idx.(*l2norm.Index); ok {
		s.Normalize = true
		idx = x.Unwrap()
	}
	if x, ok := idx.(*refine.Index); ok {
		s.Refine = true
		idx = x.Unwrap()
	}
	switch x := idx.(type) {
	case *flat.Index:
		s.Code = CodeFlat
	case *fastscan.Index:
		s.Code, s.M = CodePQ4FastScan, x.M()
	case *ivf.Index:
		s.NList = x.NList()
		switch q := x.Quantizer().(type) {
		case *flat.Index:
		case *hnsw.Index:
			s.QuantizerM = q.M()
		default:
			return Spec{}, fmt.Errorf("factory: %w: an IVF index over a %T coarse quantizer", kume.ErrUnsupported, q)
		}
		switch c := x.Codec().(type) {
		case *ivf.FlatCodec:
			s.Code = CodeFlat
		case *ivfpqfs.Codec:
			s.Code, s.M, s.ByResidual = CodePQ4FastScan, c.M(), c.ByResidual()
		default:
			return Spec{}, fmt.Errorf("factory: %w: an IVF index with a %T list codec", kume.ErrUnsupported, c)
		}
	default:
		return Spec{}, fmt.Errorf("factory: %w: no factory string describes a %T here", kume.ErrUnsupported, idx)
	}
	return s, nil
}
