#!/usr/bin/env python3
"""The data yardstick: the paper's SVM-rbf protocol on the generated tasks.

Larochelle et al. (2007), whose numbers are the SVM-rbf column of Vincent et al. (2008), trained
an RBF-kernel SVM per task with C and gamma chosen on the validation split, retrained the chosen
pair on train + valid and reported the test error. Running the same protocol on our regenerated
tasks says how much harder or easier each one is than the original, independently of sdae; it is
the yardstick the generator's open choices are calibrated against (datasets/README.md).

Protocol (`--mode yardstick`, the default), per task:
  1. coarse grid: C in {1, 10, 100} x gamma in {10^-2.5, 10^-2, 10^-1.5, 10^-1}, each fitted on
     train and scored on valid;
  2. refinement around the best (C*, gamma*): gamma* x 10^(+-0.25) at C*, then C* x 10^(+-0.5) at
     the best gamma so far (ties go to the earlier, coarser point);
  3. the chosen (C, gamma) is refitted on train + valid, and the test split is opened and read
     once, for that model only.
  The SVM is scikit-learn's SVC (libsvm: one-vs-one for the digit tasks) with kernel="precomputed"
  on K = exp(-gamma * ||x - y||^2): the same RBF SVM as kernel="rbf", with the squared distances
  computed once per task by BLAS instead of inside libsvm (several times faster; predictions
  identical up to rounding).

Proxy (`--mode proxy --fixed FILE`): one fit per task on train, at the (C, gamma) FILE (a yardstick
result) chose for that task, scored on valid. The test split is never opened. This is the cheap
measure used to compare generator candidates; the adopted figures are always full yardstick runs.

    python3 experiments/svm_rbf.py --data data --tasks all --jobs 2 --out results/calibration/yardstick-v2.json
    python3 experiments/svm_rbf.py --mode proxy --fixed results/calibration/yardstick-v1.json \\
        --data /tmp/cand --tasks convex --out /tmp/convex-cand.json

Output: one JSON document (`--out`, written atomically at the end) with every fit (C, gamma, valid
error, support vectors, seconds) and per task the choice, the test error with its 95% interval,
the paper's SVM-rbf figure, and wall/CPU seconds. Progress goes to stderr as JSON lines.
"""
import argparse
import json
import os
import sys
import time

TASKS = ["mnist-basic", "mnist-rot", "mnist-back-rand", "mnist-back-image",
         "mnist-rot-back-image", "rectangles", "rectangles-image", "convex"]

# Larochelle et al. (2007), SVM-rbf test error (%), as reprinted in Vincent et al. (2008), Table 1.
PAPER_SVM_RBF = {"mnist-basic": 3.03, "mnist-rot": 11.11, "mnist-back-rand": 14.58,
                 "mnist-back-image": 22.61, "mnist-rot-back-image": 55.18, "rectangles": 2.15,
                 "rectangles-image": 24.04, "convex": 19.13}

COARSE_C = [1.0, 10.0, 100.0]
COARSE_GAMMA = [10 ** -2.5, 10 ** -2.0, 10 ** -1.5, 10 ** -1.0]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data", help="directory of <task>/{train,valid,test}.sdd")
    ap.add_argument("--tasks", default="all", help="comma-separated task names, or all")
    ap.add_argument("--mode", choices=["yardstick", "proxy"], default="yardstick")
    ap.add_argument("--fixed", default=None,
                    help="--mode proxy: a yardstick result JSON whose chosen (C, gamma) per task is used")
    ap.add_argument("--jobs", type=int, default=1,
                    help="tasks run in parallel (one process each, BLAS threads = cores / jobs)")
    ap.add_argument("--out", default=None, help="write the JSON result here (atomically, at the end)")
    ap.add_argument("--note", default="", help="free text stored in the result (e.g. the recipe)")
    a = ap.parse_args()
    tasks = TASKS if a.tasks == "all" else a.tasks.split(",")
    for t in tasks:
        if t not in TASKS:
            sys.exit(f"--tasks: unknown task {t!r}, expected one of {', '.join(TASKS)} or all")
    a.tasks = tasks
    if a.jobs < 1:
        sys.exit(f"--jobs: {a.jobs}, expected at least 1")
    a.fixed_choice = None
    if a.mode == "proxy":
        if not a.fixed:
            sys.exit("--mode proxy needs --fixed FILE (a yardstick result with a chosen C, gamma per task)")
        try:
            with open(a.fixed) as f:
                doc = json.load(f)
            a.fixed_choice = {t: (r["chosen"]["C"], r["chosen"]["gamma"]) for t, r in doc["tasks"].items()}
        except (OSError, ValueError, KeyError, TypeError) as e:
            sys.exit(f"--fixed {a.fixed}: cannot read a yardstick result ({e}); expected the JSON "
                     "written by --mode yardstick --out")
        missing = [t for t in tasks if t not in a.fixed_choice]
        if missing:
            sys.exit(f"--fixed {a.fixed}: no chosen (C, gamma) for {', '.join(missing)}")
    for t in tasks:
        for s in (["train", "valid"] + (["test"] if a.mode == "yardstick" else [])):
            p = os.path.join(a.data, t, s + ".sdd")
            if not os.path.isfile(p):
                sys.exit(f"--data {a.data}: missing {p} (run `make data DATA_DIR={a.data}` first)")
    return a


def checksums(d):
    """The XXH64 checksum each split's header records (which bytes were measured)."""
    import struct
    out = {}
    for s in ("train", "valid", "test"):
        with open(os.path.join(d, s + ".sdd"), "rb") as f:
            out[s] = "%016x" % struct.unpack("<Q", f.read(64)[56:64])[0]
    return out


def recipe_of(d):
    p = os.path.join(d, "recipe.txt")
    if not os.path.isfile(p):
        return None
    with open(p) as f:
        return f.read().strip()


def log(obj):
    print(json.dumps(obj), file=sys.stderr, flush=True)


def sq_dists(a, b, a2=None, b2=None):
    """||a_i - b_j||^2 as float64, by BLAS (clamped at 0 against rounding)."""
    import numpy as np
    a2 = (a * a).sum(1) if a2 is None else a2
    b2 = (b * b).sum(1) if b2 is None else b2
    d = a @ b.T
    d *= -2.0
    d += a2[:, None]
    d += b2[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def fit(d_train, y, c, g):
    import numpy as np
    from sklearn.svm import SVC
    k = np.exp(-g * d_train)
    return SVC(C=c, kernel="precomputed", cache_size=500).fit(k, y)


def run_task(task, data, mode, fixed):
    import numpy as np
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "datasets"))
    from sdd_to_amat import read_sdd
    t0, c0 = time.time(), time.process_time()
    d = os.path.join(data, task)

    def load(split):
        x, y = read_sdd(os.path.join(d, split + ".sdd"))
        return np.asarray(x, np.float64), np.asarray(y)

    xtr, ytr = load("train")
    xva, yva = load("valid")
    dtr = sq_dists(xtr, xtr)
    dva = sq_dists(xva, xtr)
    fits = []
    seen = {}

    def score(c, g):
        key = (round(np.log10(c), 6), round(np.log10(g), 6))
        if key in seen:
            return seen[key]
        t = time.time()
        m = fit(dtr, ytr, c, g)
        ve = 100.0 * float(np.mean(m.predict(np.exp(-g * dva)) != yva))
        rec = {"task": task, "C": c, "gamma": g, "valid_error": ve,
               "support_vectors": int(m.n_support_.sum()), "seconds": round(time.time() - t, 1)}
        log(rec)
        fits.append(rec)
        seen[key] = ve
        return ve

    if mode == "proxy":
        c, g = fixed
        ve = score(c, g)
        return {"task": task, "mode": "proxy", "C": c, "gamma": g, "valid_error": ve,
                "recipe": recipe_of(d), "checksums": checksums(d),
                "train_rows": int(len(ytr)), "valid_rows": int(len(yva)),
                "wall_seconds": round(time.time() - t0, 1),
                "cpu_seconds": round(time.process_time() - c0, 1)}

    best = None
    for c in COARSE_C:
        for g in COARSE_GAMMA:
            ve = score(c, g)
            if best is None or ve < best[0]:
                best = (ve, c, g)
    _, c, g = best
    for g2 in (g * 10 ** -0.25, g * 10 ** 0.25):
        ve = score(c, g2)
        if ve < best[0]:
            best = (ve, c, g2)
    _, c, g = best
    for c2 in (c * 10 ** -0.5, c * 10 ** 0.5):
        ve = score(c2, g)
        if ve < best[0]:
            best = (ve, c2, g)
    ve, c, g = best
    # Retrain the chosen pair on train + valid, then read the test split, once.
    x = np.vstack([xtr, xva])
    y = np.concatenate([ytr, yva])
    del dtr, dva
    x2 = (x * x).sum(1)
    m = fit(sq_dists(x, x, x2, x2), y, c, g)
    sv = int(m.n_support_.sum())
    xte, yte = read_sdd(os.path.join(d, "test.sdd"))
    yte = np.asarray(yte)
    pred = []
    for i in range(0, len(yte), 4000):
        xb = np.asarray(xte[i:i + 4000], np.float64)
        pred.append(m.predict(np.exp(-g * sq_dists(xb, x, None, x2))))
    p = float(np.mean(np.concatenate(pred) != yte))
    return {"task": task, "mode": "yardstick", "chosen": {"C": c, "gamma": g}, "valid_error": ve,
            "test_error": round(100.0 * p, 3),
            "ci95": round(100.0 * 1.96 * float(np.sqrt(p * (1 - p) / len(yte))), 3),
            "paper_svm_rbf": PAPER_SVM_RBF[task],
            "recipe": recipe_of(d), "checksums": checksums(d),
            "train_rows": int(len(ytr)), "valid_rows": int(len(yva)), "test_rows": int(len(yte)),
            "final_support_vectors": sv, "fits": fits,
            "wall_seconds": round(time.time() - t0, 1),
            "cpu_seconds": round(time.process_time() - c0, 1)}


def main():
    a = parse_args()
    # BLAS threads per process, fixed before numpy loads.
    threads = str(max(1, (os.cpu_count() or 1) // min(a.jobs, len(a.tasks))))
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = threads
    t0 = time.time()
    cpu0 = os.times()
    results = {}
    # Largest tasks first, so the two workers finish together.
    order = sorted(a.tasks, key=lambda t: t in ("rectangles", "convex"))
    if a.jobs == 1:
        for t in order:
            results[t] = run_task(t, a.data, a.mode, a.fixed_choice and a.fixed_choice[t])
            log({k: v for k, v in results[t].items() if k != "fits"})
    else:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(max_workers=a.jobs) as ex:
            futs = {t: ex.submit(run_task, t, a.data, a.mode, a.fixed_choice and a.fixed_choice[t])
                    for t in order}
            for t in order:
                results[t] = futs[t].result()
                log({k: v for k, v in results[t].items() if k != "fits"})
    cpu1 = os.times()
    doc = {"protocol": a.mode, "data": os.path.abspath(a.data), "note": a.note,
           "coarse_C": COARSE_C, "coarse_gamma": COARSE_GAMMA,
           "wall_seconds": round(time.time() - t0, 1),
           "cpu_seconds": round((cpu1.user + cpu1.system + cpu1.children_user + cpu1.children_system)
                                - (cpu0.user + cpu0.system + cpu0.children_user + cpu0.children_system), 1),
           "jobs": a.jobs,
           "tasks": {t: results[t] for t in a.tasks}}
    if a.mode == "yardstick":
        rows = ["| task | paper SVM-rbf | SVM-rbf on our data | gap | chosen C, gamma |", "|---|---|---|---|---|"]
        for t in a.tasks:
            r = results[t]
            rows.append(f"| {t} | {r['paper_svm_rbf']:.2f} | {r['test_error']:.2f} ± {r['ci95']:.2f} | "
                        f"{r['test_error'] - r['paper_svm_rbf']:+.2f} | {r['chosen']['C']:.3g}, {r['chosen']['gamma']:.3g} |")
        print("\n".join(rows))
    else:
        for t in a.tasks:
            r = results[t]
            print(f"{t}: valid error {r['valid_error']:.2f} at C {r['C']:.3g}, gamma {r['gamma']:.3g} "
                  f"(paper test {PAPER_SVM_RBF[t]:.2f})")
    print(f"wall {doc['wall_seconds']} s, CPU {doc['cpu_seconds']} s, jobs {a.jobs}")
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
