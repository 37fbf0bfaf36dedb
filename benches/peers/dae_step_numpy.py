#!/usr/bin/env python3
"""One denoising step of a 784->1000 tied DAE (nu=0.25 masking, cross-entropy, SGD) in numpy,
hand-written with in-place ops and preallocated buffers, the same data flow as sdae's step
(stacked [X~; dA] and [dY; Y] so the tied weight gradient is one GEMM).
Prints one JSON object: {"op":"dae_step","impl":"numpy","batch","threads","examples_per_s"}.
Threads: set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before starting (compare.py does)."""
import argparse, json, os
from step_timing import median_rate
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=128)
p.add_argument("--seconds", type=float, default=3.0)
p.add_argument("--reps", type=int, default=5)
a = p.parse_args()
B, d, h, nu, lr = a.batch, 784, 1000, 0.25, 0.01
rng = np.random.default_rng(1)
rows = max(B * 8, 512)
X = np.where(rng.random((rows, d)) < 0.8, 0.0, rng.random((rows, d))).astype(np.float32)
r = 4 * np.sqrt(6 / (d + h))
W = rng.uniform(-r, r, (d, h)).astype(np.float32)
b = np.zeros(h, np.float32)
c = np.zeros(d, np.float32)
XS = np.empty((2 * B, d), np.float32)  # [X~; dA]
YS = np.empty((2 * B, h), np.float32)  # [dY; Y]
G = np.empty((d, h), np.float32)
T = np.empty((B, h), np.float32)
R = np.empty((B, d), np.float32)
ncount = int(round(nu * d))
rowsel = np.arange(B)[:, None]


def sigmoid_(v):
    np.negative(v, out=v)
    np.exp(v, out=v)
    v += 1.0
    np.reciprocal(v, out=v)


def step(x):
    xt, dA = XS[:B], XS[B:]
    dY, Y = YS[:B], YS[B:]
    # masking noise: exactly round(nu*d) zeros per row
    rng.random(dtype=np.float32, out=R)
    idx = np.argpartition(R, ncount, axis=1)[:, :ncount]
    np.copyto(xt, x)
    xt[rowsel, idx] = 0.0
    np.matmul(xt, W, out=Y)
    Y += b
    sigmoid_(Y)
    np.matmul(Y, W.T, out=dA)
    dA += c
    sigmoid_(dA)  # Z
    dA -= x  # dA = Z - x (cross-entropy gradient wrt pre-activation)
    gc = dA.sum(axis=0)
    np.matmul(dA, W, out=dY)
    np.subtract(1.0, Y, out=T)
    np.multiply(T, Y, out=T)
    dY *= T
    gb = dY.sum(axis=0)
    np.matmul(XS.T, YS, out=G)  # X~^T dY + dA^T Y in one GEMM
    np.multiply(G, lr / B, out=G)
    np.subtract(W, G, out=W)
    gb *= lr / B
    np.subtract(b, gb, out=b)
    gc *= lr / B
    np.subtract(c, gc, out=c)


rate = median_rate(step, X, rows, B, a.seconds, a.reps)
print(json.dumps({"op": "dae_step", "impl": "numpy " + np.__version__, "batch": B,
                  "threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")),
                  "examples_per_s": rate}))
