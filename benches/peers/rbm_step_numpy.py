#!/usr/bin/env python3
"""One CD-1 step of a 784->1000 RBM (binary units, inputs in [0,1], lr 0.01, v1 sampled) in numpy,
hand-written with in-place ops and preallocated buffers, the same data flow as sdae's step
(src/train/rbm.rs; b the hidden bias, c the visible one):
  H0 = s(V0 W + b), H0~ ~ Bernoulli(H0), P1 = s(H0~ W^T + c), V1 ~ Bernoulli(P1), H1 = s(V1 W + b),
  W += lr/B (V0^T H0 - V1^T H1) as one GEMM over the stacked [V0; V1]^T [H0; -H1],
  b += lr/B sum(H0 - H1), c += lr/B sum(V0 - V1).
(sdae's step also computes the reconstruction cross-entropy it logs; this one does not.)
Prints one JSON object: {"op":"rbm_step","impl":"numpy","batch","threads","examples_per_s"}.
Threads: set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before starting (compare.py does)."""
import argparse, json, os
from step_timing import median_rate
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=128)
p.add_argument("--seconds", type=float, default=3.0)
p.add_argument("--reps", type=int, default=5)
a = p.parse_args()
B, d, h, lr = a.batch, 784, 1000, 0.01
rng = np.random.default_rng(1)
rows = max(B * 8, 512)
X = np.where(rng.random((rows, d)) < 0.8, 0.0, rng.random((rows, d))).astype(np.float32)
r = 1 / np.sqrt(max(d, h))  # PLearn's initialisation, sdae's RBM default
W = rng.uniform(-r, r, (d, h)).astype(np.float32)
b = np.zeros(h, np.float32)
c = np.zeros(d, np.float32)
VV = np.empty((2 * B, d), np.float32)  # [V0; V1]
HH = np.empty((2 * B, h), np.float32)  # [H0; -H1]
HS = np.empty((B, h), np.float32)  # H0~
P1 = np.empty((B, d), np.float32)
RH = np.empty((B, h), np.float32)
RV = np.empty((B, d), np.float32)
MH = np.empty((B, h), np.bool_)
MV = np.empty((B, d), np.bool_)
G = np.empty((d, h), np.float32)


def sigmoid_(v):
    np.negative(v, out=v)
    np.exp(v, out=v)
    v += 1.0
    np.reciprocal(v, out=v)


def step(x):
    V0, V1 = VV[:B], VV[B:]
    H0, H1 = HH[:B], HH[B:]
    np.copyto(V0, x)
    np.matmul(V0, W, out=H0)
    H0 += b
    sigmoid_(H0)
    rng.random(dtype=np.float32, out=RH)
    np.less(RH, H0, out=MH)
    np.copyto(HS, MH)
    np.matmul(HS, W.T, out=P1)
    np.add(P1, c, out=P1)
    sigmoid_(P1)
    rng.random(dtype=np.float32, out=RV)
    np.less(RV, P1, out=MV)
    np.copyto(V1, MV)
    np.matmul(V1, W, out=H1)
    H1 += b
    sigmoid_(H1)
    np.negative(H1, out=H1)
    np.matmul(VV.T, HH, out=G)  # V0^T H0 - V1^T H1 in one GEMM
    np.multiply(G, lr / B, out=G)
    np.add(W, G, out=W)
    gb = HH.sum(axis=0)
    gb *= lr / B
    np.add(b, gb, out=b)
    gc = V0.sum(axis=0)
    gc -= V1.sum(axis=0)
    gc *= lr / B
    np.add(c, gc, out=c)


rate = median_rate(step, X, rows, B, a.seconds, a.reps)
print(json.dumps({"op": "rbm_step", "impl": "numpy " + np.__version__, "batch": B,
                  "threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")),
                  "examples_per_s": rate}))
