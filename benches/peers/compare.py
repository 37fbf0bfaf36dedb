#!/usr/bin/env python3
"""`make bench-peers`: the DAE step (784->1000 tied, nu=0.25, xent, SGD) in sdae, numpy and
PyTorch, run interleaved in one session (rounds x configs x implementations), medians printed
side by side with the ratio to the best peer. A peer that is not installed is reported as such."""
import json, os, statistics, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
sdae = os.environ.get("SDAE_BIN", os.path.join(here, "..", "..", "target", "release", "sdae"))
batches = [int(v) for v in os.environ.get("BATCHES", "1,20,128").split(",")]
threads = [int(v) for v in os.environ.get("THREADS", "1,2").split(",")]
rounds = int(os.environ.get("ROUNDS", "3"))
secs = os.environ.get("SECONDS_PER_RUN", "2")


def have(mod):
    return subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True).returncode == 0


impls = {"sdae": lambda b, t: [sdae, "bench", "dae-step", "--batch", str(b), "--threads", str(t), "--seconds", secs, "--json"]}
missing = []
for mod, script, extra in [("numpy", "dae_step_numpy.py", lambda t: []), ("torch", "dae_step_torch.py", lambda t: ["--threads", str(t)])]:
    if have(mod):
        impls[mod] = (lambda script, extra: lambda b, t: [sys.executable, os.path.join(here, script), "--batch", str(b), "--seconds", secs] + extra(t))(script, extra)
    else:
        missing.append(mod)

res = {}
for r in range(rounds):
    for t in threads:
        for b in batches:
            for name, cmd in impls.items():
                env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
                out = subprocess.run(cmd(b, t), capture_output=True, text=True, env=env)
                if out.returncode != 0:
                    print(f"{name} batch {b} threads {t} failed: {out.stderr.strip()}", file=sys.stderr)
                    continue
                j = json.loads(out.stdout.strip().splitlines()[-1])
                res.setdefault((t, b, name), []).append(j["examples_per_s"])
                if r == 0 and name != "sdae":
                    impls_label = j.get("impl", name)
                    res.setdefault(("label", name), impls_label)

names = list(impls)
print(f"DAE step 784->1000 tied, nu=0.25, xent, SGD: examples/s, median of {rounds} interleaved rounds")
print(f"{'threads':>7} {'batch':>5} " + " ".join(f"{n:>12}" for n in names) + "   sdae/best-peer")
for t in threads:
    for b in batches:
        med = {n: statistics.median(res[(t, b, n)]) if (t, b, n) in res else float("nan") for n in names}
        peers = [med[n] for n in names if n != "sdae"]
        ratio = med["sdae"] / max(peers) if peers else float("nan")
        print(f"{t:>7} {b:>5} " + " ".join(f"{med[n]:>12.0f}" for n in names) + f"   {ratio:.2f}x")
for n in names:
    if ("label", n) in res:
        print(f"{n}: {res[('label', n)]}")
for m in missing:
    print(f"{m}: not installed (pip install {m})")
