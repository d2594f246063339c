package main

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kume-ann/kume/bench"
)

var testRun = benchRun{
	Data: "synth256", N: 200000, NQ: 2000, D: 256, Metric: "L2", K: 10,
	Threads: 2, SIMD: "avx2", Machine: "Test CPU 9000, 2 CPUs",
}

// svgText is one <text> element of an SVG file: its content and where it
// is drawn.
type svgText struct {
	text string
	x, y float64
}

// readSVG returns the SVG's width and height in points and its texts.
func readSVG(t *testing.T, path string) (w, h float64, texts []svgText) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	num := func(s string) float64 {
		v, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSuffix(s, "pt"), "px"), 64)
		return v
	}
	var cur *svgText
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch el.Name.Local {
			case "svg":
				for _, a := range el.Attr {
					switch a.Name.Local {
					case "width":
						w = num(a.Value)
					case "height":
						h = num(a.Value)
					}
				}
			case "text":
				cur = &svgText{}
				for _, a := range el.Attr {
					switch a.Name.Local {
					case "x":
						cur.x = num(a.Value)
					case "y":
						cur.y = num(a.Value)
					}
				}
			}
		case xml.CharData:
			if cur != nil {
				cur.text += string(el)
			}
		case xml.EndElement:
			if el.Name.Local == "text" && cur != nil {
				cur.text = strings.TrimSpace(cur.text)
				texts = append(texts, *cur)
				cur = nil
			}
		}
	}
	if w == 0 || h == 0 {
		t.Fatalf("%s has no size", path)
	}
	return w, h, texts
}

// parseQPS reads a tick label written by qpsLabel.
func parseQPS(s string) (float64, bool) {
	mul := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		mul, s = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mul, s = 1e6, strings.TrimSuffix(s, "M")
	}
	v, err := strconv.ParseFloat(s, 64)
	return v * mul, err == nil
}

func results(engine, factory string, pts ...[3]float64) []bench.Result {
	var out []bench.Result
	params := []string{"nprobe=1", "nprobe=2", "nprobe=4,k_factor_rf=4", "nprobe=8", "nprobe=16,k_factor_rf=1", "nprobe=32"}
	for i, p := range pts {
		out = append(out, bench.Result{Engine: engine, Factory: factory, Params: params[i%len(params)], Recall10: p[0], QPS: p[1], Threads: int(p[2])})
	}
	return out
}

// qpsTicks returns the QPS tick labels of the plot: numeric texts left of
// the plotting area (the recall ticks are below it).
func qpsTicks(texts []svgText, w float64) []float64 {
	var out []float64
	for _, tx := range texts {
		if tx.x > 0.15*w {
			continue
		}
		if v, ok := parseQPS(tx.text); ok {
			out = append(out, v)
		}
	}
	return out
}

// TestPlotWithinOneDecade draws points whose speeds lie within one decade,
// which a log axis labelled only at powers of ten leaves without a single
// number, and checks that the QPS axis carries labelled ticks inside the
// plotted range, that every point is labelled with its parameters, that the
// caption names machine, SIMD level, threads and data, and that no text
// runs off the right edge.
func TestPlotWithinOneDecade(t *testing.T) {
	dir := t.TempDir()
	ours := results("kume", "IVF1024,Flat",
		[3]float64{0.64, 57600, 2}, [3]float64{0.80, 41000, 2}, [3]float64{0.91, 33000, 2},
		[3]float64{0.90, 30000, 2}, [3]float64{0.97, 21000, 2}, [3]float64{0.999, 13800, 2})
	theirs := results("faiss", "IVF1024,Flat",
		[3]float64{0.64, 45600, 1}, [3]float64{0.81, 30000, 1}, [3]float64{0.92, 16000, 1})
	svg := filepath.Join(dir, "p.svg")
	if err := plotCurves(svg, testRun, ours, theirs); err != nil {
		t.Fatal(err)
	}
	w, _, texts := readSVG(t, svg)
	lo, hi := 13800.0, 57600.0
	inside := 0
	for _, v := range qpsTicks(texts, w) {
		if v >= lo && v <= hi {
			inside++
		}
	}
	if inside < 3 {
		t.Errorf("%d labelled QPS ticks within the plotted range %v..%v, want 3 or more; texts: %v", inside, lo, hi, texts)
	}
	all := ""
	for _, tx := range texts {
		all += tx.text + "\n"
	}
	for _, want := range []string{"np=1", "np=2", "np=4 kf=4", "np=8", "np=16 kf=1", "np=32",
		"Test CPU 9000", "SIMD avx2", "2 threads", "synth256", "200000 x 256-d", "2000 queries", "FAISS 1 thread",
		"Pareto front", "every setting", "recall@10", "queries per second"} {
		if !strings.Contains(all, want) {
			t.Errorf("plot text lacks %q:\n%s", want, all)
		}
	}
	if n := strings.Count(all, "np=1\n"); n != 2 {
		t.Errorf("label np=1 appears %d times, want once per engine", n)
	}
	// Recall tick labels: within 0..1 and spread over the data's range.
	var recalls []float64
	for _, tx := range texts {
		if v, err := strconv.ParseFloat(tx.text, 64); err == nil && strings.Contains(tx.text, ".") && tx.x > 0.1*w {
			recalls = append(recalls, v)
		}
	}
	if len(recalls) < 3 {
		t.Errorf("recall axis has %d labels: %v", len(recalls), recalls)
	}
	for _, v := range recalls {
		if v < 0 || v > 1.0001 {
			t.Errorf("recall tick %v outside 0..1", v)
		}
	}
	// No text starts so far right that it cannot fit (a rough width of
	// 0.6 em per character at the largest font used, 10 pt).
	for _, tx := range texts {
		if right := tx.x + 0.6*10*float64(len(tx.text))/2; tx.x > w || (tx.x > 0.9*w && right > w) {
			t.Errorf("text %q at x=%.0f runs off the right edge (width %.0f)", tx.text, tx.x, w)
		}
	}
}

// TestPlotOverDecadesIsLog checks that speeds spanning several decades get
// a log axis labelled at 1, 2 and 5 times powers of ten.
func TestPlotOverDecadesIsLog(t *testing.T) {
	dir := t.TempDir()
	ours := results("kume", "IVF256,PQ196x4fs,RFlat",
		[3]float64{0.5, 120000, 1}, [3]float64{0.7, 40000, 1}, [3]float64{0.9, 3000, 1}, [3]float64{0.99, 150, 1})
	svg := filepath.Join(dir, "p.svg")
	if err := plotCurves(svg, testRun, ours, nil); err != nil {
		t.Fatal(err)
	}
	w, _, texts := readSVG(t, svg)
	ticks := qpsTicks(texts, w)
	want := map[float64]bool{200: true, 500: true, 1000: true, 2000: true, 5000: true, 10000: true, 20000: true, 50000: true, 100000: true}
	for _, v := range ticks {
		delete(want, v)
	}
	if len(want) != 0 {
		t.Errorf("log axis lacks labels %v (has %v)", want, ticks)
	}
}

// TestPlotPNG renders to PNG and checks that the image decodes, has the
// size asked for and is not blank, and that its right-hand columns, where a
// cut-off label would show, are background.
func TestPlotPNG(t *testing.T) {
	dir := t.TempDir()
	ours := results("kume", "IVF1024,Flat", [3]float64{0.64, 57600, 2}, [3]float64{0.9, 30000, 2}, [3]float64{1, 13800, 2})
	path := filepath.Join(dir, "p.png")
	if err := plotCurves(path, testRun, ours, nil); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() < 600 || b.Dy() < 400 {
		t.Fatalf("PNG is %dx%d", b.Dx(), b.Dy())
	}
	dark := func(x, y int) bool {
		r, g, bl, _ := img.At(x, y).RGBA()
		return (r+g+bl)/3 < 0xc000
	}
	inked := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			if dark(x, y) {
				inked++
			}
		}
	}
	if inked < 500 {
		t.Errorf("PNG has %d dark pixels of %d sampled: blank?", inked, b.Dx()*b.Dy()/4)
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Max.X - 3; x < b.Max.X; x++ {
			if dark(x, y) {
				t.Fatalf("ink at the right edge (%d,%d): something is cut off", x, y)
			}
		}
	}
}

func TestQPSLabelsAndTicks(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 950: "950", 1500: "1.5k", 2000: "2k", 12000: "12k", 57613: "58k", 1.2e6: "1.2M", 2e7: "20M"} {
		if got := qpsLabel(v); got != want {
			t.Errorf("qpsLabel(%v) = %q, want %q", v, got, want)
		}
	}
	// Within one decade a log axis still gets three labels or more.
	n := 0
	for _, tk := range (logQPSTicks{}).Ticks(21000, 58000) {
		if tk.Label != "" {
			n++
			if tk.Value < 21000 || tk.Value > 58000 {
				t.Errorf("tick %v outside the range", tk.Value)
			}
		}
	}
	if n < 3 {
		t.Errorf("%d labelled log ticks within 21000..58000", n)
	}
	for _, tk := range (linearQPSTicks{}).Ticks(13000, 60000) {
		if tk.Value < 13000 || tk.Value > 60000 || math.IsNaN(tk.Value) {
			t.Errorf("linear tick %v outside the range", tk.Value)
		}
	}
}
