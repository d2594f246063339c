package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
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

// logAxisRatio is the spread of queries per second (largest over smallest)
// from which the plot's QPS axis is logarithmic; below it, linear.
const logAxisRatio = 10

// plotCurves draws recall@10 against queries per second into path, one
// colour per factory string, kume's marks round and FAISS's square: every
// setting is a hollow mark labelled with its parameters, and the settings
// on the Pareto front (none faster at the same or higher recall) are filled
// and joined by a line, solid for kume and dashed for FAISS. The QPS axis is
// linear when the speeds span less than a factor of logAxisRatio, else
// logarithmic, with labelled ticks inside every decade. The caption names
// the data, the machine, the SIMD level and the threads. The format follows
// the file's extension (.svg, .png, .pdf, .eps, .jpg, .tif).
func plotCurves(path string, run benchRun, ours, theirs []bench.Result) error {
	if err := checkPlotPath(path); err != nil {
		return err
	}
	type series struct {
		name   string
		rs     []bench.Result
		engine string
	}
	var all []series
	group := func(rs []bench.Result, engine string) {
		at := map[string]int{}
		for _, r := range rs {
			if r.QPS <= 0 || math.IsNaN(r.Recall10) {
				continue
			}
			i, ok := at[r.Factory]
			if !ok {
				i = len(all)
				at[r.Factory] = i
				all = append(all, series{name: engine + " " + r.Factory, engine: engine})
			}
			all[i].rs = append(all[i].rs, r)
		}
	}
	group(ours, "kume")
	group(theirs, "FAISS")
	if len(all) == 0 {
		return fmt.Errorf("-plot %s: no results to draw", path)
	}

	p := plot.New()
	p.Title.Text = plotCaption(run, theirs)
	p.Title.TextStyle.Font.Size = vg.Points(10)
	p.X.Label.Text = "recall@10"
	p.Y.Label.Text = "queries per second"
	p.Add(plotter.NewGrid())
	p.Legend.Top = false
	p.Legend.Left = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)

	// Axis ranges from the data, with a margin so that no mark, label or
	// tick text sits on the frame.
	lo, hi := math.Inf(1), math.Inf(-1)
	rlo, rhi := math.Inf(1), math.Inf(-1)
	for _, s := range all {
		for _, r := range s.rs {
			lo, hi = math.Min(lo, r.QPS), math.Max(hi, r.QPS)
			rlo, rhi = math.Min(rlo, r.Recall10), math.Max(rhi, r.Recall10)
		}
	}
	span := math.Max(rhi-rlo, 0.02)
	p.X.Min = math.Max(0, rlo-0.06*span)
	p.X.Max = rhi + 0.18*span // room for the labels right of the marks
	p.X.Tick.Marker = recallTicks{}
	if hi/lo >= logAxisRatio {
		p.Y.Scale = plot.LogScale{}
		p.Y.Min, p.Y.Max = lo/1.25, hi*1.25
		p.Y.Tick.Marker = logQPSTicks{}
	} else {
		pad := 0.08 * math.Max(hi-lo, 0.05*hi)
		p.Y.Min, p.Y.Max = math.Max(0, lo-pad), hi+pad
		p.Y.Tick.Marker = linearQPSTicks{}
	}

	// One colour per factory string, shared by kume's and FAISS's marks.
	colour := map[string]int{}
	for _, s := range all {
		f := s.rs[0].Factory
		if _, ok := colour[f]; !ok {
			colour[f] = len(colour)
		}
	}
	for _, s := range all {
		c := plotutil.Color(colour[s.rs[0].Factory])
		faiss := s.engine == "FAISS"

		every := make(plotter.XYs, len(s.rs))
		labels := make([]string, len(s.rs))
		for i, r := range s.rs {
			every[i].X, every[i].Y = r.Recall10, r.QPS
			labels[i] = pointLabel(r.Params)
		}
		marks, err := plotter.NewScatter(every)
		if err != nil {
			return fmt.Errorf("-plot %s: %v", path, err)
		}
		marks.GlyphStyle.Color = c
		marks.GlyphStyle.Radius = vg.Points(3.5)
		if faiss {
			marks.GlyphStyle.Shape = hollowBox{}
		} else {
			marks.GlyphStyle.Shape = draw.RingGlyph{}
		}
		names, err := plotter.NewLabels(plotter.XYLabels{XYs: every, Labels: labels})
		if err != nil {
			return fmt.Errorf("-plot %s: %v", path, err)
		}
		for i := range names.TextStyle {
			names.TextStyle[i].Font.Size = vg.Points(7)
			names.TextStyle[i].Color = c
		}
		names.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(-2)}
		if faiss {
			names.Offset.Y = vg.Points(-9) // below kume's labels at the same place
		}

		f := frontier(s.rs)
		front := make(plotter.XYs, len(f))
		for i, r := range f {
			front[i].X, front[i].Y = r.Recall10, r.QPS
		}
		line, points, err := plotter.NewLinePoints(front)
		if err != nil {
			return fmt.Errorf("-plot %s: %v", path, err)
		}
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		points.Radius = vg.Points(3.5)
		if faiss {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			points.Shape = draw.BoxGlyph{}
		} else {
			points.Shape = draw.CircleGlyph{}
		}
		p.Add(marks, line, points, names)
		p.Legend.Add(s.name+", Pareto front", line, points)
		p.Legend.Add(s.name+", every setting", marks)
	}
	// The plot is drawn inside a margin: gonum's axes reach the canvas's
	// right and top edges, where the last tick label would be cut in half.
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	c, err := draw.NewFormattedCanvas(9*vg.Inch, 6*vg.Inch, format)
	if err != nil {
		return fmt.Errorf("-plot %s: %v", path, err)
	}
	p.Draw(draw.Crop(draw.New(c), 0, -vg.Points(18), 0, -vg.Points(6)))
	if err := writeOutput(path, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	}); err != nil {
		return fmt.Errorf("-plot: %w", err)
	}
	return nil
}

// plotCaption is the plot's title: the data and what the speeds were
// measured on, and how to read the marks.
func plotCaption(run benchRun, theirs []bench.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d x %d-d base, %d queries, %s, k=%d: recall@10 against queries per second\n",
		run.Data, run.N, run.D, run.NQ, run.Metric, run.K)
	fmt.Fprintf(&b, "kume on %s, SIMD %s, %s", run.Machine, run.SIMD, plural(run.Threads, "thread"))
	if len(theirs) > 0 {
		if t := theirs[0].Threads; t > 0 {
			fmt.Fprintf(&b, "; FAISS %s (from its file)", plural(t, "thread"))
		} else {
			b.WriteString("; FAISS from its file")
		}
	}
	b.WriteString("\nfilled marks joined by a line: the Pareto front; hollow marks: every setting; labels: np = nprobe, kf = k_factor_rf")
	return b.String()
}

// pointLabel shortens a ParameterSpace string for a mark's label:
// "nprobe=4,k_factor_rf=2" becomes "np=4 kf=2".
func pointLabel(params string) string {
	if params == "" {
		return "defaults"
	}
	r := strings.NewReplacer("nprobe=", "np=", "k_factor_rf=", "kf=", "k_factor=", "kf=", ",", " ")
	return r.Replace(params)
}

// qpsLabel writes a speed compactly: 950, 1.5k, 12k, 120k, 1.2M.
func qpsLabel(v float64) string {
	trim := func(x float64, prec int) string {
		return strconv.FormatFloat(x, 'f', prec, 64)
	}
	switch a := math.Abs(v); {
	case a >= 1e6:
		if a >= 1e7 {
			return trim(v/1e6, 0) + "M"
		}
		return strings.TrimSuffix(trim(v/1e6, 1), ".0") + "M"
	case a >= 1e3:
		if a >= 1e4 {
			return trim(v/1e3, 0) + "k"
		}
		return strings.TrimSuffix(trim(v/1e3, 1), ".0") + "k"
	case a >= 10 || v == 0:
		return trim(v, 0)
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}

// niceStep is the step of 1, 2 or 5 times a power of ten that cuts span into
// about n parts.
func niceStep(span float64, n int) float64 {
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// linearTicks labels multiples of a 1-2-5 step inside [min, max], with a
// minor tick half-way between them.
func linearTicks(min, max float64, n int, label func(float64) string) []plot.Tick {
	if !(max > min) {
		return []plot.Tick{{Value: min, Label: label(min)}}
	}
	step := niceStep(max-min, n)
	var ticks []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max+step*1e-9; v += step {
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label(v)})
		if h := v + step/2; h <= max {
			ticks = append(ticks, plot.Tick{Value: h})
		}
	}
	return ticks
}

// linearQPSTicks labels a linear QPS axis.
type linearQPSTicks struct{}

// Ticks implements plot.Ticker.
func (linearQPSTicks) Ticks(min, max float64) []plot.Tick {
	return linearTicks(min, max, 8, qpsLabel)
}

// recallTicks labels the recall axis with as many decimals as its step
// needs.
type recallTicks struct{}

// Ticks implements plot.Ticker.
func (recallTicks) Ticks(min, max float64) []plot.Tick {
	step := niceStep(max-min, 6)
	prec := max0(int(-math.Floor(math.Log10(step) + 1e-9)))
	return linearTicks(min, max, 6, func(v float64) string { return strconv.FormatFloat(v, 'f', prec, 64) })
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// logQPSTicks labels a logarithmic QPS axis at 1, 2 and 5 times each power
// of ten inside the range (and at every integer multiple when that gives
// fewer than three labels), with minor ticks at the other multiples.
type logQPSTicks struct{}

// Ticks implements plot.Ticker.
func (logQPSTicks) Ticks(min, max float64) []plot.Tick {
	if min <= 0 || !(max > min) {
		return []plot.Tick{{Value: max, Label: qpsLabel(max)}}
	}
	build := func(labelled func(m int) bool) []plot.Tick {
		var ticks []plot.Tick
		for e := math.Floor(math.Log10(min)); math.Pow(10, e) <= max; e++ {
			base := math.Pow(10, e)
			for m := 1; m <= 9; m++ {
				v := float64(m) * base
				if v < min || v > max {
					continue
				}
				t := plot.Tick{Value: v}
				if labelled(m) {
					t.Label = qpsLabel(v)
				}
				ticks = append(ticks, t)
			}
		}
		return ticks
	}
	count := func(ts []plot.Tick) (n int) {
		for _, t := range ts {
			if t.Label != "" {
				n++
			}
		}
		return n
	}
	ticks := build(func(m int) bool { return m == 1 || m == 2 || m == 5 })
	if count(ticks) < 3 {
		ticks = build(func(int) bool { return true })
	}
	return ticks
}

// hollowBox is a square outline: the mark of a FAISS setting off the front.
type hollowBox struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (hollowBox) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(1)})
	r := sty.Radius * 0.9
	var p vg.Path
	p.Move(vg.Point{X: pt.X - r, Y: pt.Y - r})
	p.Line(vg.Point{X: pt.X + r, Y: pt.Y - r})
	p.Line(vg.Point{X: pt.X + r, Y: pt.Y + r})
	p.Line(vg.Point{X: pt.X - r, Y: pt.Y + r})
	p.Close()
	c.Stroke(p)
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
