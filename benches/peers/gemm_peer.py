#!/usr/bin/env python3
"""SGEMM at sdae's bench shapes (`sdae bench gemm`) in numpy (its BLAS, OpenBLAS for the wheels)
or PyTorch (MKL / oneDNN on x86): C = op(A) op(B), row-major float32, transposed operands as
views (no copies), C preallocated. Each sample lasts about 2 ms (several calls), preceded by
one untimed call; the median of --reps samples is printed as one JSON line per shape:
{"op":"sgemm","impl","m","n","k","ta","tb","threads","gflops","lib"}."""
import argparse, json, statistics, time

SHAPES = [(20, 784, 1000, "N", "N"), (128, 784, 1000, "N", "N"), (128, 1000, 1000, "N", "N"),
          (1000, 1000, 1000, "N", "N"), (20, 784, 1000, "N", "T"), (128, 784, 1000, "N", "T"),
          (784, 1000, 20, "T", "N"), (784, 1000, 128, "T", "N")]

p = argparse.ArgumentParser()
p.add_argument("--impl", choices=["numpy", "torch"], required=True)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--reps", type=int, default=11)
a = p.parse_args()

if a.impl == "numpy":
    import numpy as np
    lib = "numpy " + np.__version__
    try:
        from threadpoolctl import threadpool_info
        lib += " (" + ", ".join(f"{i['internal_api']} {i.get('architecture', '')}".strip() for i in threadpool_info()) + ")"
    except Exception:
        pass

    def operands(m, n, k, ta, tb):
        rng = np.random.default_rng(1)
        A = rng.uniform(-1, 1, (m, k) if ta == "N" else (k, m)).astype(np.float32)
        B = rng.uniform(-1, 1, (k, n) if tb == "N" else (n, k)).astype(np.float32)
        C = np.empty((m, n), np.float32)
        opA = A if ta == "N" else A.T
        opB = B if tb == "N" else B.T
        return lambda: np.matmul(opA, opB, out=C)
else:
    import torch
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    lib = "torch " + torch.__version__ + (" (MKL)" if torch.backends.mkl.is_available() else "")

    def operands(m, n, k, ta, tb):
        g = torch.Generator().manual_seed(1)
        A = torch.rand((m, k) if ta == "N" else (k, m), generator=g) * 2 - 1
        B = torch.rand((k, n) if tb == "N" else (n, k), generator=g) * 2 - 1
        C = torch.empty(m, n)
        opA = A if ta == "N" else A.t()
        opB = B if tb == "N" else B.t()
        return lambda: torch.mm(opA, opB, out=C)

for (m, n, k, ta, tb) in SHAPES:
    f = operands(m, n, k, ta, tb)
    f()
    t = time.perf_counter(); f(); dt = max(time.perf_counter() - t, 1e-7)
    calls = min(1000, max(1, int(2e-3 / dt + 0.999)))
    samples = []
    for _ in range(a.reps):
        f()
        t = time.perf_counter()
        for _ in range(calls):
            f()
        samples.append((time.perf_counter() - t) / calls)
    g = 2.0 * m * n * k / statistics.median(samples) / 1e9
    print(json.dumps({"op": "sgemm", "impl": a.impl, "m": m, "n": n, "k": k, "ta": ta, "tb": tb,
                      "threads": a.threads, "gflops": round(g, 1), "lib": lib}))
