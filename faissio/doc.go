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
//	IxRF            IndexRefineFlat                         -> *refine.Index
//	IxPT + VNrm     IndexPreTransform, L2 normalisation     -> *l2norm.Index
//
// IndexIVFPQ ('IwPQ', 8-bit PQ) is read and checked to the end, then
// reported with kume.ErrUnsupported: kume cannot search it yet. The 4-bit
// fast-scan records, IndexPQFastScan ('IPfs') and IndexIVFPQFastScan ('IwPf'
// with block lists 'ilbl'), are read and checked the same way, and reported
// with kume.ErrUnsupported until kume's fast-scan indexes can be restored from
// their parts. Every other record is reported with kume.ErrUnsupported and
// its FAISS class name.
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
// Inverted lists are read one list at a time into a reused buffer, so loading
// an IVFFlat index needs its own size in memory plus one list.
package faissio
