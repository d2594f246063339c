"""Recall@8 of an RVC index file at its own nprobe, for comparing the indexes
kume's train-index and RVC's flow (train_index.py) write.

usage: recall.py INDEX [QUERIES.npy]

The ground truth is an exact search of the index's own vectors. Without
QUERIES, 1,000 queries are drawn near stored vectors: a stored vector plus
Gaussian noise of 0.3 a coordinate (seeded, so every index of the same
vectors gets the same queries); with QUERIES (say, the queries of
kume rvc features -queries), its first 1,000 rows. Prints one JSON object.
"""
import json
import sys

import faiss
import numpy as np


def main():
    path = sys.argv[1]
    index = faiss.read_index(path)
    stored = index.reconstruct_n(0, index.ntotal)
    d = stored.shape[1]
    if len(sys.argv) > 2:
        q = np.ascontiguousarray(np.load(sys.argv[2])[:1000], dtype=np.float32)
    else:
        rng = np.random.default_rng(99)
        q = stored[rng.integers(0, stored.shape[0], 1000)]
        q = q + rng.standard_normal((1000, d)).astype(np.float32) * 0.3
    exact = faiss.IndexFlatL2(d)
    exact.add(stored)
    _, gt = exact.search(q, 8)
    _, got = index.search(q, 8)
    recall = np.mean([len(set(a) & set(b)) / 8 for a, b in zip(got, gt)])
    print(json.dumps({"index": path, "ntotal": index.ntotal, "nlist": index.nlist,
                      "nprobe": faiss.extract_index_ivf(index).nprobe,
                      "queries": sys.argv[2] if len(sys.argv) > 2 else "near stored",
                      "recall8": recall}))


if __name__ == "__main__":
    main()
