"""Torch defaults against fixed thread counts: does the library's thread policy cost anything?

Run by hand (never in CI):

    PYTHONPATH=$PWD .venv/bin/python benchmarks/threads.py [--quick] [--device cpu]

Workloads: the paper-toy recipe of ``benchmarks/paper_toy.py`` (``KAN([2,5,1])``, fit 50 with
lamb, prune, fit 50, refine(20), fit 50) and forward+backward of the three configurations of
``benchmarks/speed.py``. Settings, each in a fresh interpreter: torch's defaults (nothing set:
the library's policy decides), one thread fixed and all cores fixed (``torch.set_num_threads``
after the import, which the policy leaves alone). Conditions: as the machine is, and with a
busy background process that this script starts (one core spinning on float64 matmuls).
Goal: with the defaults never more than 1.1x the best fixed setting.

Run of 2026-12-02 14:45-14:52 UTC, ``--quick --reps 3`` (toy recipe with 10 steps per fit),
on the project's 2-core VM while ~5 other sessions ran test suites: 1-min load 12.7 at the
start, 13.5-16.8 during the run (the "as is" condition is already a heavily loaded machine).
Stopped at the deadline after the first busy row. Times in ms:

    cores 2; device cpu; load at start (12.7099609375, 11.72900390625, 11.7744140625)
    workload              condition     default    1 thread   2 threads  default/best   (ms)
    paper toy             as is         13120.1     19347.4      9156.4          1.43   load 13.82
    [10,64,64,1] G=5      as is           267.6       533.8       300.6          0.89   load 13.55
    [10,64,64,1] G=20     as is           433.9       662.5       806.1          0.65   load 14.83
    [100,256,256,10] G=5  as is           533.8       614.5       423.8          1.26   load 14.71
    paper toy             busy          23598.3     21042.2     21596.4          1.12   load 16.76

At this load every number is scheduling noise (the same fixed setting varies 2x between
neighbouring runs; a 1-thread toy took 19 s where it takes ~4 s on a quieter machine), so
the goal (default <= 1.1x the best fixed setting) is neither shown nor refuted by this run:
3 of 5 rows meet it, the toy "as is" (1.43) and the largest config (1.26) do not. Rerun on a
quieter machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CONFIGS = [
    ("[10,64,64,1] G=5", [10, 64, 64, 1], 5, 4096),
    ("[10,64,64,1] G=20", [10, 64, 64, 1], 20, 4096),
    ("[100,256,256,10] G=5", [100, 256, 256, 10], 5, 1024),
]

WORKER = r"""
import json, statistics, sys, time
import torch
import kan_widgets
from kan_widgets import KAN
cfg = json.loads(sys.argv[1])
if cfg["threads"]:
    torch.set_num_threads(cfg["threads"])  # after the import: the user's explicit choice
dev = torch.device(cfg["device"])
sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
if cfg["kind"] == "toy":
    gen = torch.Generator().manual_seed(0)
    X = (torch.rand(1000, 2, generator=gen) * 2 - 1).to(dev)
    Xt = (torch.rand(1000, 2, generator=gen) * 2 - 1).to(dev)
    f = lambda X: torch.exp(torch.sin(torch.pi * X[:, [0]]) + X[:, [1]] ** 2)
    y, yt = f(X), f(Xt)
    s = cfg["steps"]
    ts = []
    for _ in range(cfg["reps"]):
        t = time.perf_counter()
        m = KAN([2, 5, 1], grid=5, k=3, seed=0, device=dev)
        m.fit(X, y, X_test=Xt, y_test=yt, steps=s, lamb=1e-3, progress=False)
        m.prune()
        m.fit(X, y, X_test=Xt, y_test=yt, steps=s, progress=False)
        m.refine(20).fit(X, y, X_test=Xt, y_test=yt, steps=s, progress=False)
        sync()
        ts.append(time.perf_counter() - t)
    rmse = float(torch.sqrt(((m.predict(Xt) - yt) ** 2).mean()))
    print(json.dumps({"ms": statistics.median(ts) * 1e3, "rmse": rmse}))
else:
    torch.manual_seed(0)
    width, G, B = cfg["width"], cfg["G"], cfg["B"]
    m = KAN(width, grid=G, k=3, device=dev)
    x = (torch.rand(B, width[0]) * 2 - 1).to(dev)
    m.update_grid(x)
    def step():
        for p in m.parameters():
            p.grad = None
        m(x).sum().backward()
    step()
    sync()
    ts = []
    for _ in range(cfg["reps"]):
        t = time.perf_counter(); step(); sync(); ts.append(time.perf_counter() - t)
    print(json.dumps({"ms": statistics.median(ts) * 1e3}))
"""

SPINNER = "import numpy as np\na = np.random.rand(400, 400)\nwhile True:\n    a = a @ a / 400\n"


def measure(kind, threads, device, reps, steps=50, width=None, G=None, B=None):
    cfg = json.dumps(dict(kind=kind, threads=threads, device=device, reps=reps, steps=steps,
                          width=width, G=G, B=B))
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "KW_NUM_THREADS")}
    r = subprocess.run([sys.executable, "-c", WORKER, cfg], capture_output=True, text=True,
                       env=env)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip()[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])["ms"]


def start_spinner():
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", SPINNER], env=env)
    time.sleep(1.0)
    return proc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="toy recipe with 10 steps per fit")
    ap.add_argument("--device", default="cpu", help="torch device of model and data: cpu, cuda")
    ap.add_argument("--reps", type=int, default=5, help="repetitions of forward+backward")
    ap.add_argument("--conditions", nargs="*", default=["as is", "busy"])
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    settings = [("default", 0), ("1 thread", 1), (f"{cores} threads", cores)]
    work = [("paper toy", dict(kind="toy", reps=1, steps=10 if args.quick else 50))]
    work += [(label, dict(kind="speed", reps=args.reps, width=w, G=G, B=B))
             for label, w, G, B in CONFIGS]
    print(f"cores {cores}; device {args.device}; load at start {os.getloadavg()}")
    head = f"{'workload':<22}{'condition':<9}" + "".join(f"{s:>12}" for s, _ in settings)
    lines = [head + f"{'default/best':>14}"]
    print(lines[0] + "   (ms)")
    for cond in args.conditions:
        spinner = start_spinner() if cond == "busy" else None
        try:
            for label, kw in work:
                row = {name: measure(threads=n, device=args.device, **kw) for name, n in settings}
                best = min(v for name, v in row.items() if name != "default")
                line = (f"{label:<22}{cond:<9}" + "".join(f"{row[s]:>12.1f}" for s, _ in settings)
                        + f"{row['default'] / best:>14.2f}")
                lines.append(line)
                print(line, f"  load {os.getloadavg()[0]:.2f}", flush=True)
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    print(f"\nload at end {os.getloadavg()}\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
