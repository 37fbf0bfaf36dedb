#!/usr/bin/env python3
"""One denoising step of a 784->1000 tied DAE (nu=0.25 masking, cross-entropy, SGD) in PyTorch
(CPU), hand-written in-place ops, no autograd, preallocated buffers, the same data flow as sdae
(stacked [X~; dA] and [dY; Y]; the SGD update folded into one addmm_).
Prints one JSON object: {"op":"dae_step","impl":"torch","batch","threads","examples_per_s"}."""
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
B, d, h, nu, lr = a.batch, 784, 1000, 0.25, 0.01
rows = max(B * 8, 512)
X = torch.where(torch.rand(rows, d) < 0.8, torch.zeros(rows, d), torch.rand(rows, d))
r = 4 * (6 / (d + h)) ** 0.5
W = (torch.rand(d, h) * 2 - 1) * r
b = torch.zeros(h)
c = torch.zeros(d)
XS = torch.empty(2 * B, d)
YS = torch.empty(2 * B, h)
T = torch.empty(B, h)
R = torch.empty(B, d)
gb = torch.empty(h)
gc = torch.empty(d)
ncount = int(round(nu * d))


def step(x):
    xt, dA = XS[:B], XS[B:]
    dY, Y = YS[:B], YS[B:]
    R.uniform_()
    idx = torch.topk(R, ncount, dim=1, sorted=False).indices
    xt.copy_(x)
    xt.scatter_(1, idx, 0.0)
    torch.addmm(b, xt, W, out=Y)
    Y.sigmoid_()
    torch.addmm(c, Y, W.t(), out=dA)
    dA.sigmoid_()
    dA.sub_(x)
    torch.sum(dA, 0, out=gc)
    torch.mm(dA, W, out=dY)
    torch.mul(Y, Y, out=T)
    T.neg_().add_(Y)  # y (1 - y)
    dY.mul_(T)
    torch.sum(dY, 0, out=gb)
    W.addmm_(XS.t(), YS, beta=1.0, alpha=-lr / B)
    b.add_(gb, alpha=-lr / B)
    c.add_(gc, alpha=-lr / B)


rate = median_rate(step, X, rows, B, a.seconds, a.reps)
print(json.dumps({"op": "dae_step", "impl": "torch " + torch.__version__, "batch": B,
                  "threads": torch.get_num_threads(), "examples_per_s": rate}))
