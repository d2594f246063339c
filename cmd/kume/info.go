package main

import (
	"context"
	"fmt"
	"os"

	"github.com/kume-ann/kume/bench"
)

func runInfo(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "info", "FILE")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("want one index file; got %d arguments", fs.NArg())
	}
	path := fs.Arg(0)
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	idx, err := loadIndex(path)
	if err != nil {
		return err
	}
	in := bench.Describe(idx)
	w := e.stdout
	fmt.Fprintf(w, "file      %s (%s)\n", path, humanBytes(st.Size()))
	fmt.Fprintf(w, "type      %s\n", in.Type)
	fmt.Fprintf(w, "metric    %v\n", in.Metric)
	fmt.Fprintf(w, "d         %d\n", in.D)
	fmt.Fprintf(w, "vectors   %d\n", in.N)
	fmt.Fprintf(w, "trained   %v\n", in.Trained)
	if in.NList > 0 {
		lo, med, hi, empty := in.ListSpread()
		fmt.Fprintf(w, "lists     %d: sizes min %d, median %d, max %d; %d empty\n", in.NList, lo, med, hi, empty)
		fmt.Fprintf(w, "nprobe    %d\n", in.NProbe)
	}
	if in.KFactor > 0 {
		fmt.Fprintf(w, "k_factor  %g\n", in.KFactor)
	}
	if in.N > 0 {
		fmt.Fprintf(w, "bytes     %d in the file, %.1f per vector\n", st.Size(), float64(st.Size())/float64(in.N))
	} else {
		fmt.Fprintf(w, "bytes     %d in the file\n", st.Size())
	}
	return nil
}
