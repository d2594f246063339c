package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/vecio"
	"github.com/kume-ann/kume/npy"
)

// kumeParams parses a ParameterSpace string, as a usage error when bad.
func kumeParams(s string) (kume.SearchParams, error) {
	p, err := kume.ParseSearchParams(s)
	if err != nil {
		return p, usageError("-params %q: %v", s, err)
	}
	return p, nil
}

// searchChunk is the number of queries searched per call, for progress.
const searchChunk = 4096

func runSearch(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "search", "-index FILE [-k 8] [-params STR] [-filter-ids ids.npy | -filter-range lo:hi] [-radius R [-lims lims.npy]] [-ids ids.npy] [-dist dist.npy] queries.npy")
	indexPath := fs.String("index", "", "index file (FAISS's format)")
	k := fs.Int("k", 8, "results per query")
	params := fs.String("params", "", `search parameters, as "nprobe=1" (default: those stored in the index)`)
	idsPath := fs.String("ids", "", "write the result ids here: int64 .npy, nq x k (-1 for no result)")
	distPath := fs.String("dist", "", "write the result distances here: float32 .npy, nq x k (squared L2, or inner products)")
	filterIDs := fs.String("filter-ids", "", "return only the ids in this int64 .npy file (any shape)")
	filterRange := fs.String("filter-range", "", "return only the ids lo <= id < hi, given as lo:hi")
	radius := fs.String("radius", "", "range search: every vector with squared L2 distance below R (inner product above R), instead of the k nearest")
	limsPath := fs.String("lims", "", "with -radius: write FAISS's lims here (int64 .npy, nq+1); -ids and -dist then hold the results of all queries end to end")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *indexPath == "" {
		return usageError("-index FILE is required")
	}
	filter, err := searchFilter(*filterIDs, *filterRange)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("want one queries file (.npy, .fvecs, .bvecs, or a folder of .npy); got %d arguments", fs.NArg())
	}
	if *k < 1 || *k > kume.MaxResults {
		return usageError("-k %d: want 1..%d", *k, kume.MaxResults)
	}
	p, err := kumeParams(*params)
	if err != nil {
		return err
	}
	p.Filter = filter
	var r float32
	if *radius != "" {
		v, err := strconv.ParseFloat(*radius, 32)
		if err != nil || math.IsNaN(v) {
			return usageError("-radius %q: want a number", *radius)
		}
		r = float32(v)
	} else if *limsPath != "" {
		return usageError("-lims needs -radius")
	}
	// Check both inputs exist before the slow part.
	for _, path := range []string{*indexPath, fs.Arg(0)} {
		if _, err := os.Stat(path); err != nil {
			return err
		}
	}
	idx, err := loadIndex(*indexPath)
	if err != nil {
		return err
	}
	q, err := vecio.Read(fs.Arg(0), e.progress.report)
	if err != nil {
		return err
	}
	if q.Cols != idx.Dim() {
		return fmt.Errorf("%s: %w: queries are %d-dimensional, index %s is %d-dimensional", fs.Arg(0), kume.ErrDimension, q.Cols, *indexPath, idx.Dim())
	}
	if q.Rows > 0 && *k > kume.MaxResults/q.Rows {
		return usageError("-k %d with %d queries: %d results, more than the %d one search may return; ask for fewer results or split the queries", *k, q.Rows, int64(*k)*int64(q.Rows), kume.MaxResults)
	}
	if *radius != "" {
		return rangeSearch(ctx, e, idx, q, r, &p, *limsPath, *idsPath, *distPath)
	}
	res := &kume.Results{}
	res.Resize(q.Rows, *k)
	var part kume.Results
	for q0 := 0; q0 < q.Rows; q0 += searchChunk {
		q1 := min(q0+searchChunk, q.Rows)
		if err := idx.SearchInto(ctx, &part, q.Data[q0*q.Cols:q1*q.Cols], *k, &p); err != nil {
			return err
		}
		copy(res.IDs[q0**k:], part.IDs)
		copy(res.Distances[q0**k:], part.Distances)
		e.progress.report("searching", int64(q1), int64(q.Rows))
	}
	e.progress.done()
	if *idsPath == "" && *distPath == "" {
		return printResults(e.stdout, res)
	}
	if *idsPath != "" {
		if err := writeOutput(*idsPath, func(w io.Writer) error { return npy.WriteInt64(w, res.IDs, res.NQ, res.K) }); err != nil {
			return err
		}
	}
	if *distPath != "" {
		if err := writeOutput(*distPath, func(w io.Writer) error { return npy.Write(w, res.Distances, res.NQ, res.K) }); err != nil {
			return err
		}
	}
	return nil
}

// printResults writes one line per query: its number, then id:distance
// pairs, best first.
func printResults(w io.Writer, res *kume.Results) error {
	bw := bufio.NewWriter(w)
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
