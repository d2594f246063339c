#!/usr/bin/python3
"""Time filtered k-NN search and range search in FAISS and in kume on the
same index files, alternating the two engines over several rounds, and
measure both engines' recall the same way.

    KUME_FILTER_EXPORT=/tmp/filter go test ./bench -run TestFilterExport
    go test -c -o /tmp/bench.test ./bench
    /usr/bin/python3 bench/faiss_filter_bench.py /tmp/filter --kume /tmp/bench.test

TestFilterExport writes the data, IVF1024,PQ128x4fs,RFlat and IVF1024,Flat
in FAISS's format, the filters (a range of 10 % of the ids, and a random set
of 10 %) and kume's answers. FAISS searches the PQ index with
IndexRefineSearchParameters(k_factor, base_index_params=
SearchParametersIVF(sel=IDSelectorRange or IDSelectorBatch, nprobe)), and
runs range_search on IndexFlatL2 and the IVF index; kume runs
BenchmarkFilterCompare and BenchmarkRangeCompare on the same files
(KUME_FILTER_DIR). Recall@10 of both is measured against brute force over the
allowed ids; range results against IndexFlatL2's range search.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

try:
    import faiss
except ImportError:
    sys.exit("faiss_filter_bench.py: the faiss module is not importable (set PYTHONPATH to a FAISS build)")


def fail(msg):
    sys.exit("faiss_filter_bench.py: " + msg)


def qps(fn, nq, min_time):
    fn()
    calls, t0 = 0, time.perf_counter()
    while calls == 0 or time.perf_counter() - t0 < min_time:
        fn()
        calls += 1
    return calls * nq / (time.perf_counter() - t0)


LINE = re.compile(r"^Benchmark(FilterCompare|RangeCompare)/(\S+?)(?:-\d+)?\s+\d+\s+[\d.]+ ns/op.*?\s([\d.]+) qps")


def kume_round(binary, root, threads, min_time, out):
    env = dict(os.environ, KUME_FILTER_DIR=root, GOMAXPROCS=str(threads))
    cmd = [binary, "-test.run=^$", "-test.bench=^Benchmark(FilterCompare|RangeCompare)$",
           "-test.cpu=%d" % threads, "-test.benchtime=%gs" % min_time]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        fail("%s failed:\n%s%s" % (" ".join(cmd), res.stdout, res.stderr))
    found = 0
    for line in res.stdout.splitlines():
        m = LINE.match(line)
        if m:
            kind = "filter" if m.group(1) == "FilterCompare" else "range"
            out.setdefault((kind, m.group(2)), []).append(float(m.group(3)))
            found += 1
    if not found:
        fail("no benchmark lines in the output of %s" % binary)


def knn_recall(ids, truth):
    hit = 0
    for a, b in zip(ids, truth):
        hit += len(set(a.tolist()) & set(b.tolist()) - {-1})
    return hit / float(truth.size)


def range_sets(lims, ids):
    return [set(ids[lims[i]:lims[i + 1]].tolist()) for i in range(len(lims) - 1)]


def range_recall(got, want):
    found = sum(len(g & w) for g, w in zip(got, want))
    total = sum(len(w) for w in want)
    extra = sum(len(g - w) for g, w in zip(got, want))
    return found / float(max(total, 1)), extra


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", help="folder written by TestFilterExport (KUME_FILTER_EXPORT)")
    ap.add_argument("--kume", help="kume's bench test binary (go test -c ./bench)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--time", type=float, default=1.0, help="seconds to time each setting per round")
    a = ap.parse_args()
    faiss.omp_set_num_threads(a.threads)

    with open(os.path.join(a.dir, "filter.json")) as f:
        m = json.load(f)
    xb = np.load(os.path.join(a.dir, "base.npy")).astype("float32")
    xq = np.load(os.path.join(a.dir, "queries.npy")).astype("float32")
    subset = np.load(os.path.join(a.dir, "set.npy")).astype("int64")
    nq, k, radius = xq.shape[0], m["K"], float(m["Radius"])
    pq = faiss.read_index(os.path.join(a.dir, "pq.faiss"))
    ivf = faiss.read_index(os.path.join(a.dir, "ivfflat.faiss"))
    faiss.extract_index_ivf(ivf).nprobe = m["NProbe"]
    flat = faiss.IndexFlatL2(xb.shape[1])
    flat.add(xb)

    sels = {"none": None, "range": faiss.IDSelectorRange(m["RangeLo"], m["RangeHi"]),
            "set": faiss.IDSelectorBatch(subset)}
    params = {}
    for name, sel in sels.items():
        ivfp = faiss.SearchParametersIVF(nprobe=m["NProbe"]) if sel is None else \
            faiss.SearchParametersIVF(sel=sel, nprobe=m["NProbe"])
        params[name] = (faiss.IndexRefineSearchParameters(k_factor=m["KFactor"], base_index_params=ivfp), ivfp)

    ft, kt = {}, {}
    for r in range(a.rounds):
        for engine in ("faiss", "kume") if r % 2 == 0 else ("kume", "faiss"):
            if engine == "kume":
                if a.kume:
                    kume_round(a.kume, a.dir, a.threads, a.time, kt)
                continue
            for name in sels:
                p = params[name][0]
                ft.setdefault(("filter", name), []).append(qps(lambda: pq.search(xq, k, params=p), nq, a.time))
            ft.setdefault(("range", "Flat"), []).append(qps(lambda: flat.range_search(xq, radius), nq, a.time))
            ft.setdefault(("range", "IVF1024,Flat"), []).append(qps(lambda: ivf.range_search(xq, radius), nq, a.time))
        print("faiss_filter_bench.py: round %d of %d done" % (r + 1, a.rounds), file=sys.stderr, flush=True)

    def fmt(v):
        if not v:
            return "-"
        return "%9.0f [%.0f-%.0f]" % (statistics.median(v), min(v), max(v))

    print("FAISS %s (%s), kume: %d thread(s), %d rounds; q/s: median [min-max]" %
          (faiss.__version__, faiss.get_compile_options().strip(), a.threads, a.rounds))
    print("%-28s %-26s %-26s %7s  %s" % ("search", "kume q/s", "FAISS q/s", "k/F", "answers"))
    masks = {"none": np.ones(xb.shape[0], bool)}
    masks["range"] = np.zeros(xb.shape[0], bool)
    masks["range"][m["RangeLo"]:m["RangeHi"]] = True
    masks["set"] = np.zeros(xb.shape[0], bool)
    masks["set"][subset] = True
    for name in sels:
        allowed = np.nonzero(masks[name])[0]
        sub = faiss.IndexFlatL2(xb.shape[1])
        sub.add(xb[allowed])
        _, ti = sub.search(xq, k)
        truth = allowed[ti]
        _, fi = pq.search(xq, k, params=params[name][0])
        ki = np.load(os.path.join(a.dir, "kume_ids_%s.npy" % name))
        same = int((fi == ki).all(axis=1).sum())
        outside = int((~masks[name][fi[fi >= 0]]).sum())
        kv, fv = kt.get(("filter", name)), ft[("filter", name)]
        ratio = "%6.2fx" % (statistics.median(kv) / statistics.median(fv)) if kv else "-"
        print("%-28s %-26s %-26s %7s  recall@10 kume %.3f / FAISS %.3f; rows identical %d of %d; FAISS ids outside the filter %d" %
              ("PQfs,RFlat filter=" + name, fmt(kv), fmt(fv), ratio,
               knn_recall(ki, truth), knn_recall(fi, truth), same, nq, outside))
    lims, _, ids = flat.range_search(xq, radius)
    exact = range_sets(lims, ids)
    for name, idx, stem in (("Flat", flat, "Flat"), ("IVF1024,Flat", ivf, "IVF")):
        fl, _, fids = idx.range_search(xq, radius)
        kl = np.load(os.path.join(a.dir, "kume_range_%s_lims.npy" % stem))
        kids = np.load(os.path.join(a.dir, "kume_range_%s_ids.npy" % stem))
        fs, ks = range_sets(fl, fids), range_sets(kl, kids)
        fr, fe = range_recall(fs, exact)
        kr, ke = range_recall(ks, exact)
        same = sum(f == g for f, g in zip(fs, ks))
        kv, fv = kt.get(("range", name)), ft[("range", name)]
        ratio = "%6.2fx" % (statistics.median(kv) / statistics.median(fv)) if kv else "-"
        print("%-28s %-26s %-26s %7s  results kume %d / FAISS %d; recall vs exact kume %.4f / FAISS %.4f; extra %d / %d; same sets %d of %d" %
              ("range " + name, fmt(kv), fmt(fv), ratio, len(kids), len(fids), kr, fr, ke, fe, same, nq))
    print("radius %g (L2 squared), nprobe %d, k %d, k_factor_rf %d" % (radius, m["NProbe"], k, m["KFactor"]))


if __name__ == "__main__":
    main()
