#!/usr/bin/env python3
"""Measures a trained conditional GAN on Fashion-MNIST (Debian's python3-numpy and python3-pil):
    python3 scripts/cgan_knn.py --name NAME [--checkpoints_dir ./checkpoints] [--num 100]
For each class k it runs build/apps/cgan_sample --label k --num N, then:
  - accuracy: how often k-nearest neighbours on pixels (k = 5, Euclidean, fitted on the 60000 real
    training images) names k for a sample drawn for k (chance: 10%);
  - the same classifier on N real test images per class, as the ceiling of this measure;
  - variety: the mean pixel distance between two samples of one class, beside the same for real
    test images of that class (a collapsed class shows a small ratio).
Prints one line per class and the totals."""
import argparse
import gzip
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FM = "/usr/share/datasets/fashion-mnist"
NAMES = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"]


def idx(name):
    data = gzip.open(os.path.join(FM, name)).read()
    offset = 16 if data[3] == 3 else 8
    return np.frombuffer(data, np.uint8, offset=offset)


def knn(train_x, train_y, x, k=5):
    # squared distances by ||a||^2 - 2 a.b + ||b||^2, in chunks
    t2 = (train_x ** 2).sum(1)
    out = []
    for i in range(0, len(x), 250):
        c = x[i:i + 250]
        d = (c ** 2).sum(1)[:, None] - 2 * c @ train_x.T + t2[None, :]
        nearest = np.argpartition(d, k, axis=1)[:, :k]
        votes = train_y[nearest]
        out.extend(np.bincount(v, minlength=10).argmax() for v in votes)
    return np.array(out)


def variety(x):
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1) ** 0.5
    n = len(x)
    return d.sum() / (n * (n - 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--checkpoints_dir", default="./checkpoints")
    ap.add_argument("--num", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    train_x = idx("train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    train_y = idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    test_x = idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    test_y = idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    total = real_total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(10):
            out = os.path.join(tmp, str(k))
            subprocess.run([os.path.join(ROOT, "build/apps/cgan_sample"), "--name", a.name, "--checkpoints_dir",
                            a.checkpoints_dir, "--label", str(k), "--num", str(a.num), "--seed", str(a.seed + k),
                            "--results_dir", out], check=True, stdout=subprocess.DEVNULL)
            files = sorted(os.listdir(out))
            x = np.stack([np.asarray(Image.open(os.path.join(out, f)).convert("L"), np.float32).reshape(784) / 255
                          for f in files])
            hit = (knn(train_x, train_y, x) == k).mean()
            real = test_x[test_y == k][:a.num]
            real_hit = (knn(train_x, train_y, real) == k).mean()
            total += hit
            real_total += real_hit
            print(f"class {k} {NAMES[k]:>10}: kNN gives the label to {100 * hit:5.1f}% of {len(x)} samples "
                  f"(real test images: {100 * real_hit:5.1f}%); variety {variety(x):.2f} "
                  f"(real: {variety(real):.2f})", flush=True)
    print(f"all classes: {100 * total / 10:.1f}% of samples get their label (real test images: "
          f"{100 * real_total / 10:.1f}%; chance 10%)")


if __name__ == "__main__":
    sys.exit(main())
