#!/usr/bin/env python3
"""SVM-rbf baseline on the generated tasks: how hard is OUR data compared with the paper's?

The paper's table has an SVM-rbf column (Larochelle et al. 2007's numbers). Our tasks are
regenerated from MNIST and natural images (datasets/README.md), so they are not the same
examples; running the same kind of SVM on them measures how much harder or easier each
regenerated task is, independently of sdae. Per task: fit scikit-learn's SVC (RBF kernel) on the
training split for every (C, gamma) given, choose the pair with the lowest VALIDATION error, then
read the test split once, for that model only. One JSON object per fit and one per task.

    pip install scikit-learn numpy
    python3 experiments/svm_rbf.py --data data --tasks all --out results/svm-rbf.jsonl

Defaults: C = 10, gamma in {0.01, 0.02, 0.05} (inputs in [0,1], 784 pixels; the paper's grid is
not published in full). A 10,000-example task takes a few minutes on one core.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "datasets"))
from sdd_to_amat import read_sdd  # noqa: E402  (the repository's independent .sdd reader)

TASKS = ["mnist-basic", "mnist-rot", "mnist-back-rand", "mnist-back-image",
         "mnist-rot-back-image", "rectangles", "rectangles-image", "convex"]


def floats(s):
    return [float(v) for v in s.split(",")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data", help="directory of <task>/{train,valid,test}.sdd")
    ap.add_argument("--tasks", default="all", help="comma-separated task names, or all")
    ap.add_argument("--C", type=floats, default=[10.0], help="comma-separated C values")
    ap.add_argument("--gamma", type=floats, default=[0.01, 0.02, 0.05], help="comma-separated gammas")
    ap.add_argument("--out", default=None,
                    help="also write the JSON lines to this file (atomically, when every task is done)")
    a = ap.parse_args()
    from sklearn.svm import SVC

    tasks = TASKS if a.tasks == "all" else a.tasks.split(",")
    lines = []

    def emit(obj):
        line = json.dumps(obj)
        print(line, flush=True)
        lines.append(line)

    for task in tasks:
        if task not in TASKS:
            sys.exit(f"--tasks: unknown task {task!r}, expected one of {', '.join(TASKS)}")
        d = os.path.join(a.data, task)
        xtr, ytr = read_sdd(os.path.join(d, "train.sdd"))
        xva, yva = read_sdd(os.path.join(d, "valid.sdd"))
        xtr, xva = np.asarray(xtr, np.float64), np.asarray(xva, np.float64)
        best = None
        for c in a.C:
            for g in a.gamma:
                t = time.time()
                m = SVC(C=c, gamma=g, kernel="rbf", cache_size=2000).fit(xtr, ytr)
                ve = 100.0 * float(np.mean(m.predict(xva) != yva))
                emit({"task": task, "C": c, "gamma": g, "valid_error": ve,
                      "support_vectors": int(m.n_support_.sum()),
                      "seconds": round(time.time() - t, 1)})
                if best is None or ve < best[0]:
                    best = (ve, c, g, m)
        ve, c, g, m = best
        # The test split, read once, for the model chosen on validation.
        xte, yte = read_sdd(os.path.join(d, "test.sdd"))
        pred = np.concatenate([m.predict(np.asarray(xte[i:i + 5000], np.float64))
                               for i in range(0, len(yte), 5000)])
        p = float(np.mean(pred != yte))
        emit({"task": task, "chosen": {"C": c, "gamma": g}, "valid_error": ve,
              "test_error": 100.0 * p,
              "ci95": 100.0 * 1.96 * float(np.sqrt(p * (1 - p) / len(yte))),
              "test_rows": int(len(yte))})
    if a.out:
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
