package bench

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/fastscan"
	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/ivf"
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

// parts lists idx and the indexes it wraps (kume.Wrapper), outermost first.
func parts(idx kume.Index) []kume.Index {
	var out []kume.Index
	for idx != nil {
		out = append(out, idx)
		w, ok := idx.(kume.Wrapper)
		if !ok {
			break
		}
		idx = w.Unwrap()
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

// Describe tells what idx is. Its Type is factory.Describe's string; an
// index no factory string describes is named by the types of its parts.
func Describe(idx kume.Index) Info {
	info := Info{D: idx.Dim(), N: idx.Len(), Metric: idx.Metric(), Trained: idx.IsTrained()}
	var names []string
	var bytes float64
	known := true
	for _, p := range parts(idx) {
		names = append(names, strings.TrimPrefix(fmt.Sprintf("%T", p), "*"))
		switch x := p.(type) {
		case *l2norm.Index:
		case *refine.Index:
			info.KFactor = x.KFactor()
			bytes += float64(4 * info.D * x.Store().Len())
		case *ivf.Index:
			info.NList = x.NList()
			info.ListSizes = x.ListSizes()
			info.NProbe = x.NProbe()
			n := x.Len()
			// Codes, one int64 id per vector, and the centroids.
			bytes += x.Codec().BytesPerVector()*float64(n) + 8*float64(n) + float64(4*info.D*x.NList())
		case *flat.Index:
			bytes += float64(4 * info.D * x.Len())
		case *fastscan.Index:
			bytes += float64(fastscan.Blocks(x.Len()) * fastscan.BlockBytes(x.M()))
		case interface{ BytesPerVector() float64 }:
			bytes += x.BytesPerVector() * float64(p.Len())
		default:
			known = false
		}
	}
	if s, err := factory.Describe(idx); err == nil {
		info.Type = s.String()
	} else {
		info.Type = strings.Join(names, ",")
	}
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
