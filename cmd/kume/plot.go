package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/kume-ann/kume/bench"
)

// frontier keeps the results no other result beats on both recall@10 and
// queries per second, sorted by recall: the curve ann-benchmarks draws.
func frontier(rs []bench.Result) []bench.Result {
	s := append([]bench.Result(nil), rs...)
	sort.Slice(s, func(i, j int) bool {
		if s[i].Recall10 != s[j].Recall10 {
			return s[i].Recall10 > s[j].Recall10
		}
		return s[i].QPS > s[j].QPS
	})
	var out []bench.Result
	best := 0.0
	for _, r := range s {
		if r.QPS > best {
			out = append(out, r)
			best = r.QPS
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// plotCurves draws recall@10 against queries per second (log scale), one
// curve per engine and factory string, into path; the format follows the
// file's extension (.svg, .png, .pdf, .eps, .jpg, .tif).
func plotCurves(path string, run benchRun, ours, theirs []bench.Result) error {
	if err := checkPlotPath(path); err != nil {
		return err
	}
	title := run.Data
	p := plot.New()
	p.Title.Text = title + ": recall@10 vs queries per second"
	p.X.Label.Text = "recall@10"
	p.Y.Label.Text = "queries per second"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	p.Legend.Top = false
	p.Legend.Left = true

	type series struct {
		name string
		rs   []bench.Result
		dash bool
	}
	var all []series
	group := func(rs []bench.Result, engine string, dash bool) {
		at := map[string]int{}
		for _, r := range rs {
			if r.QPS <= 0 {
				continue
			}
			i, ok := at[r.Factory]
			if !ok {
				i = len(all)
				at[r.Factory] = i
				all = append(all, series{name: engine + " " + r.Factory, dash: dash})
			}
			all[i].rs = append(all[i].rs, r)
		}
	}
	group(ours, "kume", false)
	group(theirs, "FAISS", true)
	if len(all) == 0 {
		return fmt.Errorf("-plot %s: no results to draw", path)
	}
	// One colour per factory string, shared by kume's and FAISS's curves.
	colour := map[string]int{}
	for _, s := range all {
		f := s.rs[0].Factory
		if _, ok := colour[f]; !ok {
			colour[f] = len(colour)
		}
	}
	for _, s := range all {
		f := frontier(s.rs)
		xys := make(plotter.XYs, len(f))
		for i, r := range f {
			xys[i].X, xys[i].Y = r.Recall10, r.QPS
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("-plot %s: %v", path, err)
		}
		c := plotutil.Color(colour[s.rs[0].Factory])
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		if s.dash {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			points.Shape = draw.BoxGlyph{}
		} else {
			points.Shape = draw.CircleGlyph{}
		}
		p.Add(line, points)
		p.Legend.Add(s.name, line, points)
	}
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("-plot %s: %v", path, err)
	}
	return nil
}

// checkPlotPath checks, before anything is measured, that path names an
// image type the plot can be drawn as and a folder that exists.
func checkPlotPath(path string) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg", ".png", ".pdf", ".eps", ".jpg", ".jpeg", ".tif", ".tiff":
	default:
		return fmt.Errorf("-plot %s: unknown image type %q (want .svg, .png or .pdf)", path, filepath.Ext(path))
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		return fmt.Errorf("-plot %s: %v", path, err)
	} else if !st.IsDir() {
		return fmt.Errorf("-plot %s: %s is not a folder", path, dir)
	}
	return nil
}
