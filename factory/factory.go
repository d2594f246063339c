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
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
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
	idx, err := buildCore(d, s, m)
	if err != nil {
		return nil, err
	}
	if s.Refine {
		if idx, err = refine.New(idx); err != nil {
			return nil, err
		}
	}
	if s.Normalize {
		idx = l2norm.New(idx)
	}
	return idx, nil
}

// buildCore builds the index without its wrappers.
func buildCore(d int, s Spec, m metric.Metric) (kume.Index, error) {
	if s.NList > 0 {
		var codec ivf.Codec
		switch s.Code {
		case CodeFlat:
			codec = ivf.NewFlatCodec(m)
		case CodePQ4FastScan:
			c, err := ivfpqfs.New(d, s.M, m, s.ByResidual)
			if err != nil {
				return nil, err
			}
			codec = c
		}
		if codec != nil {
			if s.QuantizerM > 0 {
				q, err := hnsw.New(d, s.QuantizerM, m)
				if err != nil {
					return nil, err
				}
				return ivf.NewWithQuantizer(d, s.NList, m, codec, q)
			}
			return ivf.New(d, s.NList, m, codec)
		}
	}
	switch s.Code {
	case CodeFlat:
		return flat.New(d, m)
	case CodePQ4FastScan:
		return fastscan.NewPQ(d, s.M, m)
	}
	return nil, fmt.Errorf("factory: %w: code kind %d", kume.ErrUnsupported, s.Code)
}
