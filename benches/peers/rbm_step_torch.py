#!/usr/bin/env python3
"""One CD-1 step of a 784->1000 RBM (binary units, inputs in [0,1], lr 0.01, v1 sampled) in
PyTorch (CPU), hand-written in-place ops, no autograd, preallocated buffers, the same data flow as
sdae's step (src/train/rbm.rs; b the hidden bias, c the visible one):
  H0 = s(V0 W + b), H0~ ~ Bernoulli(H0), P1 = s(H0~ W^T + c), V1 ~ Bernoulli(P1), H1 = s(V1 W + b),
  W += lr/B (V0^T H0 - V1^T H1) as one addmm_ over the stacked [V0; V1]^T [H0; -H1],
  b += lr/B sum(H0 - H1), c += lr/B sum(V0 - V1).
(sdae's step also computes the reconstruction cross-entropy it logs; this one does not.)
Prints one JSON object: {"op":"rbm_step","impl":"torch","batch","threads","examples_per_s"}."""
import argparse, json
from step_timing import median_rate
import torch

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=128)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seconds", type=float, default=3.0)
p.add_argument("--reps", type=int, default=5)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.set_grad_enabled(False)
torch.manual_seed(1)
B, d, h, lr = a.batch, 784, 1000, 0.01
rows = max(B * 8, 512)
X = torch.where(torch.rand(rows, d) < 0.8, torch.zeros(rows, d), torch.rand(rows, d))
r = 1 / max(d, h) ** 0.5  # PLearn's initialisation, sdae's RBM default
W = (torch.rand(d, h) * 2 - 1) * r
b = torch.zeros(h)
c = torch.zeros(d)
VV = torch.empty(2 * B, d)  # [V0; V1]
HH = torch.empty(2 * B, h)  # [H0; -H1]
HS = torch.empty(B, h)  # H0~
P1 = torch.empty(B, d)
gb = torch.empty(h)
gc = torch.empty(d)
gc1 = torch.empty(d)


def step(x):
    V0, V1 = VV[:B], VV[B:]
    H0, H1 = HH[:B], HH[B:]
    V0.copy_(x)
    torch.addmm(b, V0, W, out=H0)
    H0.sigmoid_()
    torch.bernoulli(H0, out=HS)
    torch.addmm(c, HS, W.t(), out=P1)
    P1.sigmoid_()
    torch.bernoulli(P1, out=V1)
    torch.addmm(b, V1, W, out=H1)
    H1.sigmoid_()
    H1.neg_()
    W.addmm_(VV.t(), HH, beta=1.0, alpha=lr / B)  # V0^T H0 - V1^T H1 in one GEMM
    torch.sum(HH, 0, out=gb)
    b.add_(gb, alpha=lr / B)
    torch.sum(V0, 0, out=gc)
    torch.sum(V1, 0, out=gc1)
    gc.sub_(gc1)
    c.add_(gc, alpha=lr / B)


rate = median_rate(step, X, rows, B, a.seconds, a.reps)
print(json.dumps({"op": "rbm_step", "impl": "torch " + torch.__version__, "batch": B,
                  "threads": torch.get_num_threads(), "examples_per_s": rate}))
