#!/usr/bin/python3
"""Measure FAISS on a data set exported by `kume export`, printing the same
JSON lines as `kume bench -json`, so that `kume bench -compare` can show both
side by side.

    go run ./cmd/kume export -data synth256 -o /tmp/synth256
    /usr/bin/python3 bench/faiss_bench.py /tmp/synth256 > faiss.json
    go run ./cmd/kume bench -compare faiss.json -plot curves.svg

For a like-for-like comparison give both the same thread count
(--threads 1 here, -threads 1 to kume bench).

--save DIR writes every index FAISS builds to DIR, named by index_file_name
below (the name `kume bench -load DIR` looks for), so that kume can search
the very index FAISS searched; --load DIR reads them back instead of
building (build_s is then the time to read). --train N trains on the first N base vectors
only (kume bench -train N does the same), for indexes whose k-means on the
whole base would take too long; --build-threads sets FAISS's threads for
training and adding (default: --threads).

Without --factory, the settings listed in the export's dataset.json (kume
bench's defaults for that data) are measured. --params takes the grid syntax
of `kume bench -params`: "nprobe=1,4,16 k_factor_rf=1,4" is every combination;
a parameter that an index does not have (nprobe without IVF, k_factor_rf
without RFlat) is dropped for it. Recall and queries per second are measured
as kume measures them: whole-batch searches of every query, recall@1 is the
fraction of queries whose first result is the true nearest, recall@10 the
fraction of the true 10 nearest found among the first 10 results.
"""

import argparse
import json
import os
import re
import sys
import time

# FAISS's own threads (OpenMP, --threads) do the work; BLAS threads on top of
# them oversubscribe the cores and make timings meaningless.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

try:
    import faiss
except ImportError:
    sys.exit("faiss_bench.py: the faiss module is not importable "
             "(on Debian: apt-get install python3-faiss, and run /usr/bin/python3)")


def fail(msg):
    sys.exit("faiss_bench.py: " + msg)


def read_ivecs(path):
    raw = np.fromfile(path, dtype="<i4")
    if raw.size == 0:
        fail("%s: empty file" % path)
    d = int(raw[0])
    if d <= 0 or raw.size % (d + 1) != 0:
        fail("%s: not a whole number of %d-wide ivecs rows" % (path, d))
    return raw.reshape(-1, d + 1)[:, 1:]


def parse_grid(s):
    """Returns a list of grids, each a list of (name, [values])."""
    grids = []
    for g in s.split(";"):
        axes = []
        for tok in g.replace(",", " ").split():
            if "=" in tok:
                name, val = tok.split("=", 1)
                if not name:
                    fail("parameter %r has no name" % tok)
                axes.append((name, []))
            else:
                if not axes:
                    fail("value %r comes before any name=" % tok)
                val = tok
            try:
                float(val)
            except ValueError:
                fail("parameter %s has a bad value %r" % (axes[-1][0], val))
            axes[-1][1].append(val)
        if axes:
            grids.append(axes)
    return grids


def uses(index, name):
    if name == "nprobe":
        try:
            faiss.extract_index_ivf(index)
            return True
        except Exception:
            return False
    if name in ("k_factor_rf", "k_factor"):
        return isinstance(index, faiss.IndexRefine)
    if name == "quantizer_efSearch":
        try:
            q = faiss.extract_index_ivf(index).quantizer
        except Exception:
            return False
        return isinstance(faiss.downcast_index(q), faiss.IndexHNSW)
    if name == "efSearch":
        return isinstance(index, faiss.IndexHNSW)
    return True


def expand(grids, index):
    out = []
    for axes in grids:
        combos = [""]
        for name, values in axes:
            if not uses(index, name):
                continue
            combos = [(c + "," if c else "") + name + "=" + v for c in combos for v in values]
        for c in combos:
            if c not in out:
                out.append(c)
    return out or [""]


def index_file_name(factory):
    """The file name an index built from this factory string is saved under:
    every character other than a letter, digit, '-' or '.' becomes '_'
    (bench.IndexFileName in Go gives the same name)."""
    return re.sub(r"[^A-Za-z0-9.-]", "_", factory) + ".faiss"


def recall(ids, gt, at):
    at = min(at, ids.shape[1], gt.shape[1])
    hits = 0
    for row, truth in zip(ids[:, :at], gt[:, :at]):
        hits += len(set(row.tolist()) & set(truth.tolist()))
    return hits / float(ids.shape[0] * at)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", help="folder written by `kume export`")
    ap.add_argument("--factory", action="append", default=[],
                    help="factory string to measure (repeatable; ';' separates several)")
    ap.add_argument("--params", default="", help='parameter grid, as "nprobe=1,4,16 k_factor_rf=1,4"')
    ap.add_argument("--threads", type=int, default=0, help="OpenMP threads (default: all cores)")
    ap.add_argument("--k", type=int, default=10, help="results per query")
    ap.add_argument("--time", type=float, default=0.5, help="seconds to time each setting's searches")
    ap.add_argument("--save", default="", help="folder to write each built index to (for kume bench -load)")
    ap.add_argument("--load", default="", help="folder of indexes written by --save to search instead of building")
    ap.add_argument("--train", type=int, default=0, help="train on the first N base vectors (default: all)")
    ap.add_argument("--build-threads", type=int, default=0, help="OpenMP threads for training and adding (default: --threads)")
    a = ap.parse_args()

    mpath = os.path.join(a.dir, "dataset.json")
    try:
        with open(mpath) as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: %s (write the folder with `kume export -o %s`)" % (mpath, e, a.dir))
    xb = np.ascontiguousarray(np.load(os.path.join(a.dir, m["base"])), dtype="float32")
    xq = np.ascontiguousarray(np.load(os.path.join(a.dir, m["queries"])), dtype="float32")
    gt = read_ivecs(os.path.join(a.dir, m["groundtruth"]))
    if xb.ndim != 2 or xq.ndim != 2 or xb.shape[1] != xq.shape[1]:
        fail("base %s and queries %s do not have the same dimension" % (xb.shape, xq.shape))
    if gt.shape[0] != xq.shape[0]:
        fail("ground truth has %d rows for %d queries" % (gt.shape[0], xq.shape[0]))
    d = xb.shape[1]
    metric = faiss.METRIC_INNER_PRODUCT if m.get("metric") == "IP" else faiss.METRIC_L2
    if a.threads > 0:
        faiss.omp_set_num_threads(a.threads)
    threads = faiss.omp_get_max_threads()
    if a.train < 0:
        fail("--train %d: want 0 (all) or more" % a.train)
    xt = xb[:a.train] if a.train > 0 else xb
    if a.save:
        os.makedirs(a.save, exist_ok=True)

    factories = [f.strip() for s in a.factory for f in s.split(";") if f.strip()]
    grids = parse_grid(a.params)
    if factories:
        todo = [(f, None) for f in factories]
    else:
        todo = [(s["factory"], s["params"]) for s in m.get("settings", [])]
    if not todo:
        fail("no --factory given and %s lists no settings" % mpath)

    for fstr, plist in todo:
        if a.load:
            t0 = time.perf_counter()
            index = faiss.read_index(os.path.join(a.load, index_file_name(fstr)))
            build_s = time.perf_counter() - t0
            if index.ntotal != xb.shape[0] or index.d != d:
                fail("%s holds %d vectors of %d floats; the data set has %d of %d"
                     % (index_file_name(fstr), index.ntotal, index.d, xb.shape[0], d))
        else:
            try:
                index = faiss.index_factory(d, fstr, metric)
            except RuntimeError as e:
                print("faiss_bench.py: skipping %s: %s" % (fstr, str(e).strip().splitlines()[-1]), file=sys.stderr)
                continue
            if a.build_threads > 0:
                faiss.omp_set_num_threads(a.build_threads)
            t0 = time.perf_counter()
            index.train(xt)
            index.add(xb)
            build_s = time.perf_counter() - t0
            faiss.omp_set_num_threads(threads)
        if a.save and not a.load:
            faiss.write_index(index, os.path.join(a.save, index_file_name(fstr)))
        size = faiss.serialize_index(index).size
        if plist is None or grids:
            plist = expand(grids, index)
        ps = faiss.ParameterSpace()
        for p in plist:
            # Reset to FAISS's defaults, then apply this setting.
            if uses(index, "nprobe"):
                ps.set_index_parameter(index, "nprobe", 1)
            if uses(index, "k_factor_rf"):
                ps.set_index_parameter(index, "k_factor_rf", 1)
            if uses(index, "quantizer_efSearch"):
                ps.set_index_parameter(index, "quantizer_efSearch", 16)
            if p:
                ps.set_index_parameters(index, p)
            _, ids = index.search(xq, a.k)
            runs, t0 = 0, time.perf_counter()
            while runs == 0 or time.perf_counter() - t0 < a.time:
                index.search(xq, a.k)
                runs += 1
            qps = runs * xq.shape[0] / (time.perf_counter() - t0)
            print(json.dumps({
                "engine": "faiss " + faiss.__version__,
                "dataset": m.get("dataset", ""),
                "factory": fstr,
                "params": p,
                "recall@1": recall(ids, gt, 1),
                "recall@10": recall(ids, gt, 10),
                "qps": qps,
                "build_s": build_s,
                "bytes_per_vector": size / float(index.ntotal),
                "threads": threads,
                "n": int(xb.shape[0]),
                "nq": int(xq.shape[0]),
                "k": a.k,
            }), flush=True)


if __name__ == "__main__":
    main()
