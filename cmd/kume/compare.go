package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/bench"
)

// readResults reads JSON lines of results, as bench/faiss_bench.py and
// `kume bench -json` print them.
func readResults(path string) ([]bench.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []bench.Result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		var r bench.Result
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s:%d: not a result object: %v", path, line, err)
		}
		if r.Factory == "" {
			return nil, fmt.Errorf("%s:%d: result has no \"factory\"", path, line)
		}
		if r.Engine == "" {
			r.Engine = "faiss"
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no results in the file (want one JSON object per line, as bench/faiss_bench.py prints)", path)
	}
	return out, nil
}

// settingsOf lists the factory strings and parameter strings of results, in
// their order.
func settingsOf(rs []bench.Result) []setting {
	var out []setting
	at := map[string]int{}
	for _, r := range rs {
		i, ok := at[r.Factory]
		if !ok {
			i = len(out)
			at[r.Factory] = i
			out = append(out, setting{factory: r.Factory, params: []string{}})
		}
		out[i].params = append(out[i].params, r.Params)
	}
	return out
}

// canonParams spells a ParameterSpace string in one way, so that
// "nprobe=4 k_factor_rf=4" and "nprobe=4,k_factor_rf=4.0" match.
func canonParams(s string) string {
	var parts []string
	err := kume.EachParam(s, func(name string, v float64) error {
		if name == "k_factor" {
			name = "k_factor_rf"
		}
		parts = append(parts, name+"="+strconv.FormatFloat(v, 'g', -1, 64))
		return nil
	})
	if err != nil {
		return s
	}
	return strings.Join(parts, ",")
}

// bestAtRecall is the highest queries per second among results of one
// factory string whose recall@10 is at least r (FAISS's curve read at kume's
// recall), or 0 if none reaches it.
func bestAtRecall(rs []bench.Result, factory string, r float64) float64 {
	best := 0.0
	for _, x := range rs {
		if x.Factory == factory && x.Recall10 >= r {
			best = max(best, x.QPS)
		}
	}
	return best
}

// printComparison prints kume's and FAISS's results for the same settings
// side by side, with the ratio of queries per second at the same setting and
// at the same recall@10.
func printComparison(w io.Writer, ours, theirs []bench.Result) {
	type key struct{ f, p string }
	idx := map[key]bench.Result{}
	for _, t := range theirs {
		idx[key{t.Factory, canonParams(t.Params)}] = t
	}
	fw, pw := len("factory"), len("params")
	for _, r := range append(append([]bench.Result{}, ours...), theirs...) {
		fw, pw = max(fw, len(r.Factory)), max(pw, len(r.Params))
	}
	fmt.Fprintln(w, "kume vs FAISS (ratios are kume's QPS / FAISS's; \"at recall\" compares with the fastest FAISS setting of the same factory string reaching kume's recall@10)")
	fmt.Fprintf(w, "%-*s  %-*s  %9s  %9s  %10s  %10s  %8s  %9s\n", fw, "factory", pw, "params", "kume R@10", "FAISS R@10", "kume QPS", "FAISS QPS", "ratio", "at recall")
	seen := map[key]bool{}
	for _, r := range ours {
		k := key{r.Factory, canonParams(r.Params)}
		seen[k] = true
		t, ok := idx[k]
		theirR, theirQ, ratio := "-", "-", "-"
		if ok {
			theirR = fmt.Sprintf("%.4f", t.Recall10)
			theirQ = fmt.Sprintf("%.0f", t.QPS)
			if t.QPS > 0 {
				ratio = fmt.Sprintf("%.2fx", r.QPS/t.QPS)
			}
		}
		atRecall := "-"
		if b := bestAtRecall(theirs, r.Factory, r.Recall10); b > 0 {
			atRecall = fmt.Sprintf("%.2fx", r.QPS/b)
		}
		fmt.Fprintf(w, "%-*s  %-*s  %9.4f  %10s  %10.0f  %10s  %8s  %9s\n", fw, r.Factory, pw, r.Params, r.Recall10, theirR, r.QPS, theirQ, ratio, atRecall)
	}
	for _, t := range theirs {
		k := key{t.Factory, canonParams(t.Params)}
		if seen[k] {
			continue
		}
		fmt.Fprintf(w, "%-*s  %-*s  %9s  %10.4f  %10s  %10.0f  %8s  %9s\n", fw, t.Factory, pw, t.Params, "-", t.Recall10, "-", t.QPS, "-", "-")
	}
}
