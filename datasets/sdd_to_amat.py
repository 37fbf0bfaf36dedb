#!/usr/bin/env python3
"""Write a .sdd split as a Larochelle-style .amat text file (pixels then label per line).

An independent reader of the .sdd format (datasets/README.md), used to build realistic import
fixtures, e.g. to measure `sdae data import-amat` throughput:

    python3 datasets/sdd_to_amat.py data/mnist-back-image/test.sdd /tmp/test.amat [--rows N] [--fmt %.18e]
"""
import argparse
import struct
import sys

import numpy as np


def read_sdd(path):
    with open(path, "rb") as f:
        head = f.read(64)
        magic, version, reserved, rows, cols, classes, foff, loff, checksum = struct.unpack(
            "<8sIIQQQQQQ", head)
        if magic != b"SDAEDATA" or version != 1:
            sys.exit(f"{path}: not an sdae v1 dataset (magic {magic!r}, version {version})")
    feats = np.memmap(path, dtype="<f4", mode="r", offset=foff, shape=(rows, cols))
    labels = np.memmap(path, dtype="<u4", mode="r", offset=loff, shape=(rows,))
    return feats, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sdd")
    ap.add_argument("amat")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--fmt", default="%.18e", help="number format (numpy.savetxt's default: %%.18e)")
    a = ap.parse_args()
    feats, labels = read_sdd(a.sdd)
    n = len(labels) if a.rows is None else min(a.rows, len(labels))
    table = np.hstack([feats[:n].astype(np.float64), labels[:n, None].astype(np.float64)])
    with open(a.amat, "w") as f:
        f.write(f"#size: {n} {table.shape[1]}\n")
        np.savetxt(f, table, fmt=a.fmt)


if __name__ == "__main__":
    main()
