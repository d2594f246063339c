#!/usr/bin/python3
"""Time RVC's retrieval (IVF{n},Flat, nprobe 1, k 8, every frame of a chunk
in one call) in FAISS and in kume on the same index files and chunks,
alternating the two engines over several rounds, and check that they return
the same neighbours.

    KUME_RVC_EXPORT=/tmp/rvc go test ./bench -run TestRVCExport
    go test -c -o /tmp/bench.test ./bench
    /usr/bin/python3 bench/rvc_faiss_bench.py /tmp/rvc --kume /tmp/bench.test

TestRVCExport writes, per case, the filled index in FAISS's format, chunks of
speech-like frames and kume's answers to them. Each round times FAISS on
every case (the whole search, and the coarse quantizer's search alone), then
runs kume's BenchmarkRVCChunk on the same files (KUME_RVC_DIR); the order of
the two engines swaps from round to round. Both run on --threads threads
(FAISS's OpenMP and OpenBLAS, kume's -test.cpu). The report gives, per case,
chunk length and part, the median ms per chunk over the rounds with the
smallest and largest round, µs per frame, FAISS's time over kume's, and how
many of FAISS's result rows equal kume's (ids in order), how many hold the
same ids in any order, and how many differ only where the distances tie.
Without --kume only FAISS is timed.
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
    sys.exit("rvc_faiss_bench.py: the faiss module is not importable (set PYTHONPATH to a FAISS build)")


def fail(msg):
    sys.exit("rvc_faiss_bench.py: " + msg)


def load_cases(root, only):
    try:
        with open(os.path.join(root, "rvc.json")) as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: %s (write it with KUME_RVC_EXPORT=%s go test ./bench -run TestRVCExport)" % (root, e, root))
    cases = []
    for c in meta["cases"]:
        if only and c["name"] not in only:
            continue
        d = os.path.join(root, c["dir"])
        index = faiss.read_index(os.path.join(d, "index.faiss"))
        ivf = faiss.extract_index_ivf(index)
        ivf.nprobe = c["nprobe"]
        chunks, kume_ids = {}, {}
        for t in c["chunks"]:
            chunks[t] = [np.ascontiguousarray(np.load(os.path.join(d, "chunk%d_%d.npy" % (t, j))), dtype="float32")
                         for j in range(c["chunk_set"])]
            kume_ids[t] = [np.load(os.path.join(d, "kume_ids%d_%d.npy" % (t, j))) for j in range(c["chunk_set"])]
        cases.append(dict(c, index=index, quantizer=ivf.quantizer, chunks=chunks, kume_ids=kume_ids))
    if not cases:
        fail("no case selected")
    return cases


def time_calls(fn, chunks, min_time):
    """Seconds per call of fn over the chunks in turn, after one warm call."""
    fn(chunks[0])
    calls, t0 = 0, time.perf_counter()
    while calls < len(chunks) or time.perf_counter() - t0 < min_time:
        fn(chunks[calls % len(chunks)])
        calls += 1
    return (time.perf_counter() - t0) / calls


def faiss_round(cases, min_time, out):
    for c in cases:
        k = c["k"]
        for t, chunks in c["chunks"].items():
            s = time_calls(lambda x: c["index"].search(x, k), chunks, min_time)
            out.setdefault((c["name"], t, "search"), []).append(s * 1e3)
            s = time_calls(lambda x: c["quantizer"].search(x, c["nprobe"]), chunks, min_time)
            out.setdefault((c["name"], t, "coarse"), []).append(s * 1e3)


LINE = re.compile(r"^BenchmarkRVCChunk/(d=\d+/n=\d+)/chunk=(\d+)/(\w+)(?:-\d+)?\s+\d+\s+[\d.]+ ns/op.*?\s([\d.]+) ms/chunk")


def kume_round(binary, root, cases, threads, min_time, out):
    env = dict(os.environ, KUME_RVC_DIR=root, GOMAXPROCS=str(threads))
    found = 0
    for c in cases:
        # go test matches a -bench pattern level by level, so each case is
        # selected by its own run.
        dpart, npart = c["name"].split("/")
        cmd = [binary, "-test.run=^$",
               "-test.bench=^BenchmarkRVCChunk$/^%s$/^%s$" % (re.escape(dpart), re.escape(npart)),
               "-test.cpu=%d" % threads, "-test.benchtime=%gs" % min_time]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            fail("%s failed:\n%s%s" % (" ".join(cmd), res.stdout, res.stderr))
        for line in res.stdout.splitlines():
            m = LINE.match(line)
            if m:
                out.setdefault((m.group(1), int(m.group(2)), m.group(3)), []).append(float(m.group(4)))
                found += 1
    if not found:
        fail("no BenchmarkRVCChunk lines in the output of %s" % binary)


def compare_ids(c, t):
    """Rows equal in order, equal as sets, and differing only at tied
    distances, over all chunks of length t."""
    same = sets = ties = rows = 0
    for x, kid in zip(c["chunks"][t], c["kume_ids"][t]):
        dist, fid = c["index"].search(x, c["k"])
        for q in range(x.shape[0]):
            rows += 1
            a, b = fid[q].tolist(), kid[q].tolist()
            if a == b:
                same += 1
                sets += 1
                continue
            if set(a) == set(b):
                sets += 1
            # kume's ids at FAISS's distances: a difference is a tie when the
            # k-th distance is reached by both lists' extra members.
            extra = set(b) - set(a)
            if not extra:
                ties += 1
                continue
            kth = float(dist[q][-1])
            xd = x[q:q + 1]
            ok = True
            for i in extra:
                v = c["index"].reconstruct(int(i))
                dd = float(((v - xd[0]) ** 2).sum())
                if abs(dd - kth) > 1e-4 * max(1.0, kth):
                    ok = False
            ties += ok
    return rows, same, sets, ties


def summary(v):
    return statistics.median(v), min(v), max(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", help="folder written by TestRVCExport (KUME_RVC_EXPORT)")
    ap.add_argument("--kume", help="kume's bench test binary (go test -c ./bench)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of both engines (default 5)")
    ap.add_argument("--threads", type=int, default=1, help="threads of both engines (default 1)")
    ap.add_argument("--time", type=float, default=1.0, help="seconds to time each setting per round")
    ap.add_argument("--case", action="append", default=[], help="case to run, as d=768/n=50000 (repeatable; default all)")
    ap.add_argument("--json", action="store_true", help="print one JSON object per setting instead of a table")
    a = ap.parse_args()

    faiss.omp_set_num_threads(a.threads)
    cases = load_cases(a.dir, a.case)
    ft, kt = {}, {}
    for r in range(a.rounds):
        first_faiss = r % 2 == 0
        for engine in ("faiss", "kume") if first_faiss else ("kume", "faiss"):
            if engine == "faiss":
                faiss_round(cases, a.time, ft)
            elif a.kume:
                kume_round(a.kume, a.dir, cases, a.threads, a.time, kt)
        print("rvc_faiss_bench.py: round %d of %d done" % (r + 1, a.rounds), file=sys.stderr, flush=True)

    if not a.json:
        print("FAISS %s (%s), kume: %d thread(s), %d rounds; ms per chunk: median [min-max]" %
              (faiss.__version__, faiss.get_compile_options().strip(), a.threads, a.rounds))
        print("%-16s %6s %-7s %24s %24s %8s %8s %7s  %s" %
              ("case", "frames", "part", "kume ms/chunk", "FAISS ms/chunk", "kume us/f", "FAISS us/f", "F/kume", "ids (same order / same set / ties) of rows"))
    for c in cases:
        for t in c["chunks"]:
            rows, same, sets, ties = compare_ids(c, t)
            for part in ("search", "coarse"):
                f = summary(ft[(c["name"], t, part)])
                k = summary(kt[(c["name"], t, part)]) if kt else None
                rec = {
                    "case": c["name"], "nlist": c["nlist"], "frames": t, "part": part,
                    "faiss_ms": f, "kume_ms": k, "rounds": a.rounds, "threads": a.threads,
                    "faiss_over_kume": f[0] / k[0] if k else None,
                    "rows": rows, "same_order": same, "same_set": sets, "same_up_to_ties": ties,
                }
                if a.json:
                    print(json.dumps(rec))
                    continue
                ks = "%8.3f [%.3f-%.3f]" % k if k else "-"
                ratio = "%6.2fx" % (f[0] / k[0]) if k else "-"
                kuf = "%8.2f" % (k[0] * 1e3 / t) if k else "-"
                ids = "%d / %d / %d of %d" % (same, sets, ties, rows) if part == "search" else ""
                print("%-16s %6d %-7s %24s %24s %8s %8.2f %7s  %s" %
                      ("%s (IVF%d)" % (c["name"], c["nlist"]) if part == "search" else "", t, part, ks,
                       "%8.3f [%.3f-%.3f]" % f, kuf, f[0] * 1e3 / t, ratio, ids))


if __name__ == "__main__":
    main()
