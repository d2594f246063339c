// Package kume is a pure-Go approximate-nearest-neighbour library in the
// spirit of FAISS: inverted files (IVF), 4-bit product quantization scanned
// with SIMD byte shuffles (fast scan), exact re-ranking, FAISS's index factory
// strings and FAISS's file format. No cgo.
//
// This package holds what every index shares: the Index interface, search
// results and parameters, and the sentinel errors. Indexes are built by
// package factory from FAISS-style strings:
//
//	idx, err := factory.New(256, "IVF1024,PQ128x4fs,RFlat", metric.L2)
//	err = idx.Train(ctx, train)
//	err = idx.Add(ctx, base)
//	res, err := idx.Search(ctx, queries, 8, &kume.SearchParams{NProbe: 4})
//
// Vectors are []float32, row-major: n vectors of dimension d are n*d floats.
// IDs are int64. Results for L2 are squared distances, as FAISS returns them;
// for inner product larger is closer. A result slot with no vector has ID -1
// and the metric's worst score (+Inf for L2, -Inf for inner product).
//
// Concurrency: every index allows any number of concurrent Search calls.
// Train, Add, AddWithIDs, Reset and removals take the index's write lock, so
// they are safe to call concurrently with searches; a search sees the index
// either before or after a given Add.
package kume
