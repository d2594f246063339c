package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/npy"
)

// searchFilter builds the filter of -filter-ids and -filter-range (nil
// without either; both given: the ids in the file and in the range).
func searchFilter(idsPath, rng string) (kume.IDFilter, error) {
	var fs []kume.IDFilter
	if idsPath != "" {
		ids, _, _, err := npy.ReadInt64(idsPath)
		if err != nil {
			return nil, fmt.Errorf("-filter-ids: %w", err)
		}
		fs = append(fs, kume.IDSet(ids))
	}
	if rng != "" {
		a, b, ok := strings.Cut(rng, ":")
		lo, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
		hi, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, usageError("-filter-range %q: want lo:hi, two integers (ids lo <= id < hi)", rng)
		}
		if hi <= lo {
			return nil, usageError("-filter-range %q: the range is empty (want lo < hi)", rng)
		}
		fs = append(fs, kume.IDRange(lo, hi))
	}
	switch len(fs) {
	case 0:
		return nil, nil
	case 1:
		return fs[0], nil
	}
	return kume.AndFilter(fs...), nil
}

// rangeSearch answers -radius: text (one line per query, id:distance pairs
// best first) or, with -lims, FAISS's lims, ids and distances as .npy files.
func rangeSearch(ctx context.Context, e *env, idx kume.Index, q *npy.Matrix, radius float32, p *kume.SearchParams, limsPath, idsPath, distPath string) error {
	rs, ok := idx.(kume.RangeSearcher)
	if !ok {
		return fmt.Errorf("%w: range search on %T", kume.ErrUnsupported, idx)
	}
	res, err := rs.RangeSearch(ctx, q.Data[:q.Rows*q.Cols], radius, p)
	if err != nil {
		return err
	}
	if limsPath == "" && idsPath == "" && distPath == "" {
		bw := bufio.NewWriter(e.stdout)
		for i := 0; i < res.NQ; i++ {
			dist, ids := res.Row(i)
			fmt.Fprintf(bw, "%d", i)
			for j := range ids {
				fmt.Fprintf(bw, "\t%d:%g", ids[j], dist[j])
			}
			bw.WriteByte('\n')
		}
		return bw.Flush()
	}
	if limsPath == "" {
		return usageError("-radius with -ids or -dist needs -lims, which says where each query's results are")
	}
	lims := make([]int64, len(res.Lims))
	for i, v := range res.Lims {
		lims[i] = int64(v)
	}
	n := len(res.IDs)
	if err := writeOutput(limsPath, func(w io.Writer) error { return npy.WriteInt64(w, lims, len(lims), 1) }); err != nil {
		return err
	}
	if idsPath != "" {
		if err := writeOutput(idsPath, func(w io.Writer) error { return npy.WriteInt64(w, res.IDs, n, 1) }); err != nil {
			return err
		}
	}
	if distPath != "" {
		if err := writeOutput(distPath, func(w io.Writer) error { return npy.Write(w, res.Distances, n, 1) }); err != nil {
			return err
		}
	}
	return nil
}
