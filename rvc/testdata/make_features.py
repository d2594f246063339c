"""Generated RVC feature folders for timing train-index against RVC's flow.

usage: make_features.py EXPDIR ROWS DIM ROWS_PER_FILE SEED

Writes EXPDIR/3_feature256 (DIM 256) or EXPDIR/3_feature768 (DIM 768): files
of ROWS_PER_FILE rows (the last one shorter), each row 0.8 times one of 2,000 random
Gaussian centres plus Gaussian noise of 0.6, the centre held for runs of 20
rows, as frames dwell on a sound.
"""
import os
import sys

import numpy as np


def main():
    exp_dir, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    per, seed = int(sys.argv[4]), int(sys.argv[5])
    path = os.path.join(exp_dir, "3_feature256" if d == 256 else "3_feature768")
    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, d)).astype(np.float32)
    done, i = 0, 0
    while done < n:
        m = min(per, n - done)
        lab = np.repeat(rng.integers(0, 2000, m // 20 + 1), 20)[:m]
        x = centres[lab] * 0.8 + rng.standard_normal((m, d)).astype(np.float32) * 0.6
        np.save(os.path.join(path, "%d_%d.npy" % (i // 10, i % 10)), x.astype(np.float32))
        done += m
        i += 1


if __name__ == "__main__":
    main()
