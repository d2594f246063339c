package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/kume-ann/kume/flat"
	"github.com/kume-ann/kume/internal/vecio"
	"github.com/kume-ann/kume/metric"
)

// ErrNotCached says that ground truth was computed but could not be written
// to its cache.
var ErrNotCached = errors.New("ground truth computed but not cached")

// GTK is the number of exact neighbours kept per query in ground truth, as
// in ann-benchmarks and the TEXMEX files.
const GTK = 100

// GroundTruth computes the exact k nearest base vectors of each query with
// the flat index: nq rows of k ids (fewer than k when the base is smaller;
// the row length is returned).
func GroundTruth(ctx context.Context, base, queries []float32, d, k int, m metric.Metric, progress func(done, total int64)) ([]int32, int, error) {
	idx, err := flat.New(d, m)
	if err != nil {
		return nil, 0, err
	}
	if err := idx.Add(ctx, base); err != nil {
		return nil, 0, fmt.Errorf("bench: ground truth: %w", err)
	}
	k = min(k, idx.Len())
	if k <= 0 {
		return nil, 0, fmt.Errorf("bench: ground truth: empty base")
	}
	nq := len(queries) / d
	out := make([]int32, nq*k)
	const chunk = 256
	if progress != nil {
		progress(0, int64(nq))
	}
	for q0 := 0; q0 < nq; q0 += chunk {
		q1 := min(q0+chunk, nq)
		res, err := idx.Search(ctx, queries[q0*d:q1*d], k, nil)
		if err != nil {
			return nil, 0, fmt.Errorf("bench: ground truth: %w", err)
		}
		for i, id := range res.IDs {
			out[q0*k+i] = int32(id)
		}
		if progress != nil {
			progress(int64(q1), int64(nq))
		}
	}
	return out, k, nil
}

// Fingerprint hashes what ground truth depends on: the base, the queries,
// their dimension, k and the metric.
func Fingerprint(base, queries []float32, d, k int, m metric.Metric) string {
	h := sha256.New()
	fmt.Fprintf(h, "kume-gt d=%d k=%d metric=%v nb=%d nq=%d\n", d, k, m, len(base), len(queries))
	buf := make([]byte, 0, 1<<16)
	for _, x := range [][]float32{base, queries} {
		for i := 0; i < len(x); {
			n := min(len(x)-i, cap(buf)/4)
			buf = buf[:4*n]
			for j, v := range x[i : i+n] {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
			}
			h.Write(buf)
			i += n
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DefaultCacheDir is where ground truth is cached when it cannot be kept
// next to the data: $KUME_CACHE, or the user's cache folder/kume.
func DefaultCacheDir() string {
	if d := os.Getenv("KUME_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "kume")
	}
	return filepath.Join(os.TempDir(), "kume-cache")
}

// GroundTruthFile returns the exact top-GTK ids of the data set's queries
// (nq rows of k), computing them with the flat index the first time and
// reading them from a cached .ivecs file afterwards. The file's name carries
// a hash of the base, the queries, k and the metric, so changed inputs are
// never answered from a stale file. A file of that name next to the data
// (in GTDir) is read when present, but ground truth is only ever written to
// cacheDir (DefaultCacheDir when empty): the data's folder belongs to its
// owner. The path of the file is returned too. When the ground truth was
// computed but could not be cached, ids are valid, path is empty and err
// wraps ErrNotCached.
func (ds *Dataset) GroundTruthFile(ctx context.Context, cacheDir string, progress Progress) (ids []int32, k int, path string, err error) {
	k = min(GTK, ds.N())
	fp := Fingerprint(ds.Base, ds.Queries, ds.D, k, ds.Metric)[:16]
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	stem := ds.GTStem
	if stem == "" {
		stem = strings.Map(func(r rune) rune {
			if r == '/' || r == '\\' || r == ':' || r == ',' || r == '=' {
				return '_'
			}
			return r
		}, ds.Name)
	}
	name := fmt.Sprintf("%s.gt.k%d.%s.ivecs", stem, k, fp)
	cached := filepath.Join(cacheDir, name)
	var places []string
	if ds.GTDir != "" {
		places = append(places, filepath.Join(ds.GTDir, name))
	}
	places = append(places, cached)
	for _, p := range places {
		got, n, gk, err := vecio.ReadIvecs(p)
		if err == nil && n == ds.NQ() && gk == k {
			return got, k, p, nil
		}
	}
	ids, k, err = GroundTruth(ctx, ds.Base, ds.Queries, ds.D, k, ds.Metric, progress.stage("ground truth"))
	if err != nil {
		return nil, 0, "", err
	}
	if err := writeCached(cached, ids, k); err != nil {
		// The ground truth is right; only caching failed.
		return ids, k, "", fmt.Errorf("bench: %w: %v", ErrNotCached, err)
	}
	return ids, k, cached, nil
}

// writeCached writes ids as an .ivecs file at path through a temporary file
// in the same folder, so that a reader never sees half a file.
func writeCached(path string, ids []int32, k int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := WriteFile(tmp, func(w io.Writer) error { return vecio.WriteIvecs(w, ids, k) }); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Recall measures search results against ground truth: the fraction of the
// true `at` nearest neighbours found among the first `at` results, averaged
// over queries (for at = 1: the fraction of queries whose first result is
// the true nearest). ids holds nq rows of k results, gt nq rows of gtK.
func Recall(ids []int64, k int, gt []int32, gtK, at int) float64 {
	at = min(at, k, gtK)
	if at <= 0 || k <= 0 {
		return 0
	}
	nq := len(ids) / k
	if nq == 0 || len(gt) < nq*gtK {
		return 0
	}
	hits := 0
	for q := 0; q < nq; q++ {
		truth := gt[q*gtK : q*gtK+at]
		for _, id := range ids[q*k : q*k+at] {
			for _, t := range truth {
				if id == int64(t) {
					hits++
					break
				}
			}
		}
	}
	return float64(hits) / float64(nq*at)
}
