package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kume-ann/kume/bench"
	"github.com/kume-ann/kume/internal/vecio"
	"github.com/kume-ann/kume/npy"
)

// manifest describes an exported data set; bench/faiss_bench.py reads it.
type manifest struct {
	Dataset  string            `json:"dataset"`
	N        int               `json:"n"`
	NQ       int               `json:"nq"`
	D        int               `json:"d"`
	Metric   string            `json:"metric"`
	Base     string            `json:"base"`
	Queries  string            `json:"queries"`
	GT       string            `json:"groundtruth"`
	GTK      int               `json:"groundtruth_k"`
	Settings []manifestSetting `json:"settings"`
}

type manifestSetting struct {
	Factory string   `json:"factory"`
	Params  []string `json:"params"`
}

func runExport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "export", "-data SPEC -o DIR")
	data := fs.String("data", defaultData, "data set (as for kume bench -data)")
	out := fs.String("o", "", "folder to write base.npy, queries.npy, groundtruth.ivecs and dataset.json into")
	small := fs.Bool("small", false, "use the small sizes of named data sets")
	cache := fs.String("cache", "", "ground-truth cache folder (as for kume bench)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *out == "" {
		return usageError("-o DIR is required")
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	ds, err := bench.Load(ctx, *data, bench.Options{Small: *small, Progress: e.progress.report})
	if err != nil {
		return err
	}
	gt, gtk, _, err := ds.GroundTruthFile(ctx, *cache, e.progress.report)
	if err != nil && !errors.Is(err, bench.ErrNotCached) {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	m := manifest{
		Dataset: ds.Name, N: ds.N(), NQ: ds.NQ(), D: ds.D, Metric: ds.Metric.String(),
		Base: "base.npy", Queries: "queries.npy", GT: "groundtruth.ivecs", GTK: gtk,
	}
	for _, s := range defaultSettings(ds.N(), ds.D, isBuiltin(*data)) {
		m.Settings = append(m.Settings, manifestSetting{s.factory, s.params})
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{m.Base, func(w io.Writer) error { return npy.Write(w, ds.Base, ds.N(), ds.D) }},
		{m.Queries, func(w io.Writer) error { return npy.Write(w, ds.Queries, ds.NQ(), ds.D) }},
		{m.GT, func(w io.Writer) error { return vecio.WriteIvecs(w, gt, gtk) }},
		{"dataset.json", func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(m)
		}},
	}
	for _, f := range files {
		if err := writeOutput(filepath.Join(*out, f.name), f.write); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "%s: %d base, %d queries, %d-d; wrote %s\n", ds.Name, ds.N(), ds.NQ(), ds.D, *out)
	return nil
}
