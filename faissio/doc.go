// Package faissio reads and writes indexes in FAISS's binary format, the
// files faiss.write_index writes and faiss.read_index reads. kume has no
// format of its own: an index built in Python loads in Go and the other way
// round, with the same search results.
//
// Records read and written:
//
//	IxF2, IxFI      IndexFlatL2, IndexFlatIP                -> *flat.Index
//	IxMp, IxM2      IndexIDMap(2) over a flat index         -> *flat.Index with ids
//	IwFl + ilar     IndexIVFFlat with array inverted lists  -> *ivf.Index (Flat codec)
//	IPfs            IndexPQFastScan                         -> *fastscan.Index
//	IxMp + IPfs     IndexIDMap over IndexPQFastScan         -> *fastscan.Index with ids
//	IwPf + ilbl     IndexIVFPQFastScan, block lists         -> *ivf.Index (ivfpqfs.Codec)
//	IxRF            IndexRefineFlat                         -> *refine.Index
//	IxPT + VNrm     IndexPreTransform, L2 normalisation     -> *l2norm.Index
//
// Fast-scan codes are read in any block size FAISS allows (bbs, a multiple
// of 32) and written in blocks of 32. IndexIVFPQ ('IwPQ', 8-bit PQ) is read
// and checked to the end, then reported with kume.ErrUnsupported: kume
// cannot search 8-bit codes yet. Every other record is reported with
// kume.ErrUnsupported and its FAISS class name.
//
// Stored search parameters become the loaded index's defaults: nprobe (RVC
// files from 2023 store values above 1) and k_factor.
//
// Files are untrusted input. Every count is checked against the bytes that
// remain before anything is allocated for it (when the input's size is known:
// a file, a seeker, a bytes.Reader, or InputSize); otherwise arrays grow in
// chunks only as their bytes arrive. Dimensions are capped at 2^20, as in
// FAISS, and products are checked for overflow. Errors wrap kume.ErrCorrupt
// (truncated, inconsistent or impossible data) or kume.ErrUnsupported.
//
// What a file merely claims must not cost anything later either (in a
// search, ListSizes, Reconstruct or writing the index back): an untrained
// IVF record, which stores no centroids, may declare at most 2^16 lists, or
// one per 16 bytes of the file read up to its end (FAISS's block inverted
// lists store 16 bytes per list even when empty); larger claims fail with
// ErrCorrupt. Records are checked against each other: an IndexRefineFlat
// whose base holds a label that is no row of its refine index fails with
// ErrCorrupt. Stored vectors obey the rule every index applies on Add: a
// NaN or infinite component, or a row whose squared norm overflows float32,
// fails with an error wrapping kume.ErrUnsupported and kume.ErrNonFinite
// (FAISS stores such vectors; kume cannot search them).
//
// Inverted lists are read one list at a time into a reused buffer, so loading
// an IVFFlat index needs its own size in memory plus one list.
package faissio
