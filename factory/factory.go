package factory

import (
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/metric"
)

// New builds an empty index for d-dimensional vectors from a FAISS factory
// string, with the given metric (metric.L2 or metric.InnerProduct), as FAISS's
// index_factory(d, description, metric) does. Indexes that need training
// (IVF, PQ) must be trained before vectors are added.
func New(d int, description string, m metric.Metric) (kume.Index, error) {
	spec, err := Parse(d, description)
	if err != nil {
		return nil, err
	}
	return Build(d, spec, m)
}

// Build builds an empty index from a parsed Spec.
func Build(d int, s Spec, m metric.Metric) (kume.Index, error) {
	if !m.Valid() {
		return nil, fmt.Errorf("factory: %w: metric %v (kume has L2 and inner product)", kume.ErrUnsupported, m)
	}
	notYet := func(piece string) error {
		return fmt.Errorf("factory: %w in %q: %s is not built yet", kume.ErrUnsupported, s.String(), piece)
	}
	if s.Normalize {
		return nil, notYet("L2norm")
	}
	if s.Refine {
		return nil, notYet("RFlat refinement")
	}
	if s.NList > 0 {
		return nil, notYet(fmt.Sprintf("IVF%d", s.NList))
	}
	switch s.Code {
	case CodeFlat:
		return flat.New(d, m)
	case CodePQ4FastScan:
		return nil, notYet(fmt.Sprintf("PQ%dx4fs", s.M))
	}
	return nil, fmt.Errorf("factory: %w: code kind %d", kume.ErrUnsupported, s.Code)
}
