// Package bench measures kume's indexes the way ann-benchmarks does: recall
// against exact ground truth versus queries per second, on real and
// generated data.
//
// It holds the data sets (a deterministic generator of RVC-like voice
// features, Fashion-MNIST from Debian's dataset-fashion-mnist, users' .npy
// files and TEXMEX .fvecs/.ivecs/.bvecs sets such as SIFT1M, read through
// package npy and internal/vecio),
// exact ground truth computed with the flat index and cached next to the
// data, and a Runner that builds an index from a factory string and measures
// it with ParameterSpace strings. The `kume bench` command and the
// BenchmarkSearch suite (go test -bench . ./bench) are built on it, and
// faiss_bench.py runs FAISS on the same files for a side-by-side comparison.
package bench
