package bench

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/ivf/ivfpqfs"
	"github.com/kume-ann/kume/kmeans"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

// Info describes a built index: what `kume info` prints.
type Info struct {
	// Type is the index's structure as a factory string ("IVF1024,Flat").
	Type string
	// D is the dimension, N the number of stored vectors.
	D, N int
	// Metric is the distance measure.
	Metric metric.Metric
	// Trained reports whether the index can take vectors.
	Trained bool
	// NList is the number of inverted lists (0 for a non-IVF index), and
	// ListSizes their lengths.
	NList     int
	ListSizes []int
	// NProbe and KFactor are the stored search defaults (0 when the index
	// has no such parameter).
	NProbe  int
	KFactor float32
	// Bytes is the storage the index needs for its vectors, codes, ids and
	// centroids; 0 when it cannot be told.
	Bytes int64
}

// Each wrapping kind of index exposes the index it wraps.
type (
	baser  interface{ Base() kume.Index }
	subber interface{ Sub() kume.Index }
)

// parts lists idx and the indexes it wraps, outermost first.
func parts(idx kume.Index) []kume.Index {
	var out []kume.Index
	for idx != nil {
		out = append(out, idx)
		switch x := idx.(type) {
		case baser:
			idx = x.Base()
		case subber:
			idx = x.Sub()
		default:
			idx = nil
		}
	}
	return out
}

// findIVF returns the inverted-file index inside idx, if any.
func findIVF(idx kume.Index) *ivf.Index {
	for _, p := range parts(idx) {
		if x, ok := p.(*ivf.Index); ok {
			return x
		}
	}
	return nil
}

// SetTrainingProgress makes the k-means inside idx (the coarse quantizer of
// an IVF index) report each iteration to fn. It reports whether idx has one.
func SetTrainingProgress(idx kume.Index, fn func(iter, niter int)) bool {
	x := findIVF(idx)
	if x == nil {
		return false
	}
	x.KMeans.Progress = func(p kmeans.Progress) { fn(p.Iter, p.NIter) }
	return true
}

// Describe tells what idx is.
func Describe(idx kume.Index) Info {
	info := Info{D: idx.Dim(), N: idx.Len(), Metric: idx.Metric(), Trained: idx.IsTrained()}
	var typ, suffix []string
	var bytes float64
	known := true
	for _, p := range parts(idx) {
		switch x := p.(type) {
		case *l2norm.Index:
			typ = append(typ, "L2norm")
		case *refine.Index:
			info.KFactor = x.KFactor()
			bytes += float64(4 * info.D * x.Store().Len())
			suffix = append([]string{"RFlat"}, suffix...)
		case *ivf.Index:
			info.NList = x.NList()
			info.ListSizes = x.ListSizes()
			info.NProbe = x.NProbe()
			code := fmt.Sprintf("%T", x.Codec())
			switch c := x.Codec().(type) {
			case *ivf.FlatCodec:
				code = "Flat"
			case *ivfpqfs.Codec:
				code = fmt.Sprintf("PQ%dx4fs", c.M())
				if c.ByResidual() {
					code += "r"
				}
			}
			typ = append(typ, fmt.Sprintf("IVF%d", x.NList()), code)
			n := x.Len()
			// Codes, one int64 id per vector, and the centroids.
			bytes += x.Codec().BytesPerVector()*float64(n) + 8*float64(n) + float64(4*info.D*x.NList())
		case *flat.Index:
			typ = append(typ, "Flat")
			bytes += float64(4 * info.D * x.Len())
		case *fastscan.Index:
			typ = append(typ, fmt.Sprintf("PQ%dx4fs", x.M()))
			bytes += float64(fastscan.Blocks(x.Len()) * fastscan.BlockBytes(x.M()))
		default:
			switch y := p.(type) {
			case interface{ BytesPerVector() float64 }:
				bytes += y.BytesPerVector() * float64(p.Len())
			default:
				known = false
			}
			typ = append(typ, strings.TrimPrefix(fmt.Sprintf("%T", p), "*"))
		}
	}
	info.Type = strings.Join(append(typ, suffix...), ",")
	if known {
		info.Bytes = int64(bytes)
	}
	return info
}

// BytesPerVector is Bytes / N, or 0 when unknown or empty.
func (i Info) BytesPerVector() float64 {
	if i.N == 0 || i.Bytes == 0 {
		return 0
	}
	return float64(i.Bytes) / float64(i.N)
}

// ListSpread summarises list sizes: smallest, median, largest, and the
// number of empty lists.
func (i Info) ListSpread() (lo, median, hi, empty int) {
	if len(i.ListSizes) == 0 {
		return 0, 0, 0, 0
	}
	s := slices.Clone(i.ListSizes)
	slices.Sort(s)
	for _, v := range s {
		if v == 0 {
			empty++
		}
	}
	return s[0], s[len(s)/2], s[len(s)-1], empty
}
