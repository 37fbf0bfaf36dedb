#!/usr/bin/env python3
"""`make bench-peers`: the DAE step (784->1000 tied, nu=0.25, xent, SGD) and the RBM CD-1 step
(784->1000, binary units, v1 sampled) in sdae, numpy and PyTorch, run interleaved in one session
(rounds x configs x steps x implementations), medians printed side by side with the ratio to the
best peer, one table per step. OPS=dae,rbm picks the steps. A peer that is not installed is
reported as such."""
import json, os, statistics, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
sdae = os.environ.get("SDAE_BIN", os.path.join(here, "..", "..", "target", "release", "sdae"))
batches = [int(v) for v in os.environ.get("BATCHES", "1,20,128").split(",")]
threads = [int(v) for v in os.environ.get("THREADS", "1,2").split(",")]
rounds = int(os.environ.get("ROUNDS", "3"))
secs = os.environ.get("SECONDS_PER_RUN", "2")
# step: (sdae bench subcommand, numpy script, torch script, table title)
steps = {
    "dae": ("dae-step", "dae_step_numpy.py", "dae_step_torch.py",
            "DAE step 784->1000 tied, nu=0.25, xent, SGD"),
    "rbm": ("rbm-step", "rbm_step_numpy.py", "rbm_step_torch.py",
            "RBM CD-1 step 784->1000, binary units, v1 sampled"),
}
ops = os.environ.get("OPS", "dae,rbm").split(",")
for op in ops:
    if op not in steps:
        sys.exit(f"OPS: unknown step {op!r} (expected a comma-separated list of {', '.join(steps)})")


def have(mod):
    return subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True).returncode == 0


def peer(script, extra):
    return lambda b, t: [sys.executable, os.path.join(here, script), "--batch", str(b), "--seconds", secs] + extra(t)


missing = [m for m in ("numpy", "torch") if not have(m)]
impls = {}
for op in ops:
    sub, np_script, torch_script, _ = steps[op]
    impls[op] = {"sdae": (lambda sub: lambda b, t: [sdae, "bench", sub, "--batch", str(b), "--threads", str(t), "--seconds", secs, "--json"])(sub)}
    if "numpy" not in missing:
        impls[op]["numpy"] = peer(np_script, lambda t: [])
    if "torch" not in missing:
        impls[op]["torch"] = peer(torch_script, lambda t: ["--threads", str(t)])

res = {}
for r in range(rounds):
    for t in threads:
        for b in batches:
            for op in ops:
                for name, cmd in impls[op].items():
                    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
                    out = subprocess.run(cmd(b, t), capture_output=True, text=True, env=env)
                    if out.returncode != 0:
                        print(f"{op} {name} batch {b} threads {t} failed: {out.stderr.strip()}", file=sys.stderr)
                        continue
                    j = json.loads(out.stdout.strip().splitlines()[-1])
                    res.setdefault((op, t, b, name), []).append(j["examples_per_s"])
                    if name == "sdae":
                        res.setdefault((op, t, b, "peak%"), []).append(j.get("peak_percent", float("nan")))
                    elif r == 0:
                        res.setdefault(("label", name), j.get("impl", name))

for i, op in enumerate(ops):
    names = list(impls[op])
    if i:
        print()
    print(f"{steps[op][3]}: examples/s, median of {rounds} interleaved rounds")
    print(f"{'threads':>7} {'batch':>5} " + " ".join(f"{n:>12}" for n in names) + "   sdae/best-peer")
    for t in threads:
        for b in batches:
            med = {n: statistics.median(res[(op, t, b, n)]) if (op, t, b, n) in res else float("nan") for n in names}
            peers = [med[n] for n in names if n != "sdae"]
            ratio = med["sdae"] / max(peers) if peers else float("nan")
            line = f"{t:>7} {b:>5} " + " ".join(f"{med[n]:>12.0f}" for n in names) + f"   {ratio:.2f}x"
            if op != "dae" and (op, t, b, "peak%") in res:
                line += f"   (sdae {statistics.median(res[(op, t, b, 'peak%')]):.1f}% of FMA peak)"
            print(line)
for n in ("sdae", "numpy", "torch"):
    if ("label", n) in res:
        print(f"{n}: {res[('label', n)]}")
for m in missing:
    print(f"{m}: not installed (pip install {m})")
