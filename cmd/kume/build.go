package main

import (
	"context"
	"fmt"
	"os"

	"github.com/kume-ann/kume/bench"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/internal/vecio"
	"github.com/kume-ann/kume/metric"
)

func runBuild(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "build", "[-factory STR] [-metric l2|ip] [-params STR] -o FILE base.npy|folder-of-npy|base.fvecs")
	fstr := fs.String("factory", "", "factory string (default: RVC's IVF{n},Flat with n = min(16*sqrt(N), N/39))")
	out := fs.String("o", "", "index file to write (FAISS's format)")
	metricName := fs.String("metric", "l2", "distance: l2 or ip (inner product)")
	params := fs.String("params", "", `search defaults stored in the file, as "nprobe=1"`)
	if err := fs.parse(args); err != nil {
		return err
	}
	if *out == "" {
		return usageError("-o FILE is required")
	}
	if fs.NArg() != 1 {
		return usageError("want one input: a .npy file, a folder of .npy files, or a .fvecs/.bvecs file; got %d arguments", fs.NArg())
	}
	m, err := parseMetric(*metricName)
	if err != nil {
		return err
	}
	if _, err := os.Stat(fs.Arg(0)); err != nil {
		return err
	}
	if _, err := kumeParams(*params); err != nil {
		return err
	}
	x, err := vecio.Read(fs.Arg(0), e.progress.report)
	if err != nil {
		return err
	}
	f := *fstr
	if f == "" {
		f = fmt.Sprintf("IVF%d,Flat", rvcNList(x.Rows))
	}
	r := &bench.Runner{Data: &bench.Dataset{Name: fs.Arg(0), D: x.Cols, Base: x.Data, Metric: m}, Progress: e.progress.report}
	built, err := r.Build(ctx, f)
	if err != nil {
		return err
	}
	if err := factory.SetParams(built.Index, *params); err != nil {
		return fmt.Errorf("-params %q: %w", *params, err)
	}
	if err := saveIndex(*out, built.Index); err != nil {
		return err
	}
	size := int64(0)
	if st, err := os.Stat(*out); err == nil {
		size = st.Size()
	}
	e.progress.done()
	fmt.Fprintf(e.stdout, "%s: %d vectors of %d-d, %v, built in %.2fs; wrote %s (%s)\n",
		f, x.Rows, x.Cols, m, built.Build.Seconds(), *out, humanBytes(size))
	return nil
}

func parseMetric(s string) (metric.Metric, error) {
	switch s {
	case "l2", "L2":
		return metric.L2, nil
	case "ip", "IP", "inner_product":
		return metric.InnerProduct, nil
	}
	return 0, usageError("-metric %q: want l2 or ip", s)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
