#!/usr/bin/env python3
"""`make bench-peers` (GEMM part): the SGEMM shapes of `sdae bench gemm` in sdae, matrixmultiply,
numpy (OpenBLAS) and PyTorch (MKL), interleaved in one session (rounds x thread counts x
implementations), medians printed with the FMA peak measured by sdae in the same run and the
CPU model. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for numpy's runs only (they slow a
current OpenBLAS on some machines). A peer that is not installed is reported as such."""
import json, os, statistics, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
sdae = os.environ.get("SDAE_BIN", os.path.join(here, "..", "..", "target", "release", "sdae"))
threads = [int(v) for v in os.environ.get("THREADS", "1,2").split(",")]
rounds = int(os.environ.get("ROUNDS", "3"))
reps = os.environ.get("REPS", "11")


def have(mod):
    return subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True).returncode == 0


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


peers = [m for m in ("numpy", "torch") if have(m)]
missing = [m for m in ("numpy", "torch") if m not in peers]
res, peak, libs, plan = {}, {}, {}, {}
for r in range(rounds):
    for t in threads:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t),
                   MATMUL_NUM_THREADS=str(t))
        order = ["sdae"] + peers
        order = order[r % len(order):] + order[:r % len(order)]
        for name in order:
            if name == "sdae":
                cmd = [sdae, "--threads", str(t), "bench", "gemm", "--json", "--reps", reps]
                e = env
            else:
                cmd = [sys.executable, os.path.join(here, "gemm_peer.py"), "--impl", name, "--threads", str(t), "--reps", reps]
                e = dict(env)
                if name == "numpy":
                    e.pop("OPENBLAS_CORETYPE", None)
                    e.pop("OPENBLAS_L2_SIZE", None)
            out = subprocess.run(cmd, capture_output=True, text=True, env=e)
            if out.returncode != 0:
                print(f"{name} threads {t} failed: {out.stderr.strip()}", file=sys.stderr)
                continue
            for line in out.stdout.splitlines():
                j = json.loads(line)
                if j["op"] == "fma_peak":
                    peak.setdefault(t, []).append(j["gflops"])
                    continue
                key = (t, j["m"], j["n"], j["k"], j["ta"], j["tb"], j["impl"])
                res.setdefault(key, []).append(j["gflops"])
                if "lib" in j:
                    libs[j["impl"]] = j["lib"]
                if j["impl"] == "sdae":
                    plan[j["isa"]] = f"{j.get('plan', '?')} ({j.get('plan_source', '?')})"

impls = ["sdae", "matrixmultiply"] + peers
print(f"SGEMM GFLOP/s, medians of {rounds} interleaved rounds x {reps} reps; CPU: {cpu_model()}")
for isa, p in plan.items():
    print(f"sdae plan ({isa}): {p}")
for t in threads:
    pk = statistics.median(peak[t]) if t in peak else float("nan")
    print(f"\n{t} thread(s), FMA peak measured by sdae in this run: {pk:.1f} GFLOP/s")
    print(f"{'shape':>20} " + " ".join(f"{n:>15}" for n in impls) + "   sdae/best-other")
    shapes = sorted({k[1:6] for k in res if k[0] == t}, key=lambda s: (s[3] + s[4], s[0], s[1], s[2]))
    for (m, n, k, ta, tb) in shapes:
        med = {i: statistics.median(res[(t, m, n, k, ta, tb, i)]) if (t, m, n, k, ta, tb, i) in res else float("nan") for i in impls}
        others = [v for i, v in med.items() if i != "sdae" and v == v]
        ratio = med["sdae"] / max(others) if others else float("nan")
        cells = " ".join(f"{med[i]:>7.1f} ({100 * med[i] / pk:>3.0f}%)" for i in impls)
        print(f"{f'{m}x{n}x{k} {ta}{tb}':>20} {cells}   {ratio:.2f}x")
for n, l in libs.items():
    print(f"{n}: {l}")
for m in missing:
    print(f"{m}: not installed (pip install {m})")
