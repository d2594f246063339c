"""RVC's index training flow, written out for kume's tests and benchmarks.

usage: train_index.py EXPDIR VERSION NAME [SEED]

Reads EXPDIR/3_feature256 (v1) or EXPDIR/3_feature768 (v2) in sorted name
order, shuffles the rows, reduces more than 200,000 rows to 10,000
mini-batch k-means centres, trains IVF{n},Flat with
n = max(1, min(int(16 sqrt(N)), N // 39)) and nprobe 1, adds the rows in
batches of 8192, and writes RVC's trained_ and added_ files into EXPDIR.
Prints one JSON object with the sizes and the seconds of each step.
"""
import json
import os
import sys
import time

import faiss
import numpy as np
from sklearn.cluster import MiniBatchKMeans


def main():
    exp_dir, version, name = sys.argv[1], sys.argv[2], sys.argv[3]
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else None
    rng = np.random.RandomState(seed)
    t0 = time.time()
    folder = os.path.join(exp_dir, "3_feature256" if version == "v1" else "3_feature768")
    parts = [np.load(os.path.join(folder, f)) for f in sorted(os.listdir(folder))]
    x = np.concatenate(parts, 0)
    x = x[rng.permutation(x.shape[0])]
    n_before = x.shape[0]
    t_read = time.time()
    if x.shape[0] > 2e5:
        km = MiniBatchKMeans(
            n_clusters=10000,
            verbose=False,
            batch_size=256 * os.cpu_count(),
            compute_labels=False,
            init="random",
            n_init=3,
            random_state=seed,
        ).fit(x)
        x = km.cluster_centers_.astype(np.float32)
        steps = int(km.n_steps_)
    else:
        steps = 0
    t_reduce = time.time()
    n = x.shape[0]
    n_ivf = max(1, min(int(16 * np.sqrt(n)), n // 39))
    index = faiss.index_factory(x.shape[1], "IVF%d,Flat" % n_ivf)
    faiss.extract_index_ivf(index).nprobe = 1
    index.train(x)
    stem = "IVF%d_Flat_nprobe_1_%s_%s.index" % (n_ivf, name, version)
    faiss.write_index(index, os.path.join(exp_dir, "trained_" + stem))
    for i in range(0, n, 8192):
        index.add(x[i : i + 8192])
    faiss.write_index(index, os.path.join(exp_dir, "added_" + stem))
    t_end = time.time()
    print(json.dumps({
        "n_before": n_before, "n_after": n, "n_ivf": n_ivf, "kmeans_steps": steps,
        "read_s": t_read - t0, "reduce_s": t_reduce - t_read, "index_s": t_end - t_reduce,
        "total_s": t_end - t0,
    }))


if __name__ == "__main__":
    main()
