"""Forward and forward+backward speed and peak memory of a KAN against its peers.

Run by hand (never in CI), on a quiet machine:

    .venv/bin/pip install -r benchmarks/requirements.txt   # pykan 0.2.8 and what it imports
    .venv/bin/python benchmarks/speed.py [--quick]

Every number of one table comes from the same run, at one thread. Peers per configuration:
  floor   the dense matmul a KAN layer cannot beat: (B, n*(G+k+1)) @ (n*(G+k+1), m) per layer,
          backward to the weights only (the issue's target is measured against this one)
  floor+dX  the same matmuls, plus the gradient to their input for every layer but the first,
          which any multi-layer network has to compute
  kan~    the KAN after one grid update (sample-adaptive, non-uniform grids: what training runs on)
  kan*    a KAN with multiplication nodes and as many edges into each hidden layer: every
          hidden layer h becomes [h/2, h/4] (h/2 sum nodes, h/4 products of 2 sub-nodes)
  mlp     an MLP with the same number of parameters and depth
  pykan   pykan 0.2.8 in ``speed()`` mode (if installed)
Each measurement runs in its own subprocess so peak RSS is per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CONFIGS = [
    ("[10,64,64,1] G=5", [10, 64, 64, 1], 5, 4096),
    ("[10,64,64,1] G=20", [10, 64, 64, 1], 20, 4096),
    ("[100,256,256,10] G=5", [100, 256, 256, 10], 5, 1024),
]
K = 3

WORKER = r"""
import json, os, statistics, sys, time
import torch
torch.set_num_threads(1)
torch.manual_seed(0)
cfg = json.loads(sys.argv[1])
width, G, B, kind, reps = cfg["width"], cfg["G"], cfg["B"], cfg["kind"], cfg["reps"]
k = 3
dev = torch.device(cfg.get("device", "cpu"))
sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
x = (torch.rand(B, width[0]) * 2 - 1).to(dev)
feats_dx = []

if kind in ("kan", "kan_reg", "kan_adaptive", "kan_mult"):
    from kan_widgets import KAN
    from kan_widgets.core.training import regularization
    if kind == "kan_mult":
        width = [width[0]] + [[h // 2, h // 4] for h in width[1:-1]] + [width[-1]]
    model = KAN(width, grid=G, k=k, device=dev)
    if kind == "kan_adaptive":
        model.update_grid(x)
    if kind in ("kan", "kan_adaptive", "kan_mult"):
        fwd = lambda: model(x)
    else:
        fwd = lambda: (lambda y, r: y.sum() + 1e-3 * r)(*regularization(model, x))
    params = list(model.parameters())
elif kind in ("floor", "floor_dx"):
    ws = [torch.randn(n * (G + k + 1), m, requires_grad=True, device=dev)
          for n, m in zip(width[:-1], width[1:])]
    feats = [torch.rand(B, n * (G + k + 1), requires_grad=kind == "floor_dx" and i > 0, device=dev)
             for i, n in enumerate(width[:-1])]
    fwd = lambda: sum((f @ w).sum() for f, w in zip(feats, ws))
    feats_dx = [f for f in feats if f.requires_grad]  # not parameters: their grads are reset
    params = ws + feats_dx
elif kind == "mlp":
    n_kan = sum(n * m * (G + k + 2) for n, m in zip(width[:-1], width[1:]))
    # hidden widths scaled by one factor so the parameter count matches the KAN's
    lo, hi = 1.0, 64.0
    for _ in range(60):
        s = (lo + hi) / 2
        w = [width[0]] + [max(1, round(h * s)) for h in width[1:-1]] + [width[-1]]
        n = sum(a * b + b for a, b in zip(w[:-1], w[1:]))
        lo, hi = (s, hi) if n < n_kan else (lo, s)
    mods = []
    for a, b in zip(w[:-1], w[1:]):
        mods += [torch.nn.Linear(a, b), torch.nn.SiLU()]
    model = torch.nn.Sequential(*mods[:-1]).to(dev)
    fwd = lambda: model(x)
    params = list(model.parameters())
elif kind == "pykan":
    os.chdir(cfg["tmp"])  # pykan writes ./model and ./figures
    from kan import KAN as PyKAN
    model = PyKAN(width=width, grid=G, k=k, auto_save=False, seed=0)
    model.speed()
    fwd = lambda: model(x)
    params = list(model.parameters())

def run(backward):
    for p in params:
        p.grad = None
    if backward:
        fwd().sum().backward()
    else:
        with torch.no_grad():
            fwd()

def status_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])

out = {"params": sum(p.numel() for p in params if all(p is not f for f in feats_dx))}
for name, backward in (("fwd", False), ("fwdbwd", True)):
    run(backward)  # warm up
    # peak resident memory of the measured calls alone: reset the high-water mark (Linux)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = status_kb("VmRSS")
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); run(backward); sync(); ts.append(time.perf_counter() - t)
    out[name] = statistics.median(ts) * 1e3
    out["peak_mb"] = (status_kb("VmHWM") - base) / 1024
print(json.dumps(out))
"""


def measure(kind, width, G, B, reps, tmp, device="cpu"):
    cfg = json.dumps(dict(kind=kind, width=width, G=G, B=B, reps=reps, tmp=tmp, device=device))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", WORKER, cfg], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        return {"error": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed"}
    return json.loads(r.stdout.strip().splitlines()[-1])


def has_pykan() -> bool:
    try:
        import kan  # noqa: F401
    except Exception:
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, first config only")
    ap.add_argument("--config", type=int, choices=range(len(CONFIGS)), help="run only this config")
    ap.add_argument("--device", default="cpu", help="torch device of the tensors: cpu, cuda")
    args = ap.parse_args()
    reps = 3 if args.quick else 10
    kinds = ["kan", "kan_reg", "kan_adaptive", "kan_mult", "floor", "floor_dx", "mlp"]
    kinds += ["pykan"] if has_pykan() and args.device == "cpu" else []
    configs = CONFIGS[:1] if args.quick else CONFIGS
    if args.config is not None:
        configs = [CONFIGS[args.config]]
    print(f"torch threads: 1; device: {args.device}; repetitions: {reps}; "
          f"pykan installed: {has_pykan()}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, width, G, B in configs:
            res = {kind: measure(kind, width, G, B, reps, tmp, args.device) for kind in kinds}
            kan = res["kan"]
            print(f"\n{label}, batch {B}, k={K}")
            print(f"  {'peer':<9}{'params':>10}{'fwd ms':>10}{'fwd+bwd ms':>12}{'peak MB*':>9}"
                  f"{'KAN fwd+bwd / peer':>20}")
            for kind, r in res.items():
                if "error" in r:
                    print(f"  {kind:<9} failed: {r['error']}")
                    continue
                ratio = kan["fwdbwd"] / r["fwdbwd"] if "fwdbwd" in kan else float("nan")
                print(f"  {kind:<9}{r['params']:>10}{r['fwd']:>10.2f}{r['fwdbwd']:>12.2f}"
                      f"{r['peak_mb']:>9.1f}{ratio:>20.2f}")
            print("  * peak resident memory above the baseline during the fwd+bwd calls")
            if "error" not in res["floor"]:
                print(f"  targets: kan fwd+bwd / floor = {kan['fwdbwd'] / res['floor']['fwdbwd']:.2f}"
                      f" (<= 2), with regularisation = "
                      f"{res['kan_reg']['fwdbwd'] / res['floor']['fwdbwd']:.2f} (<= 3)")
            if "error" not in res["floor_dx"]:
                print(f"  against floor+dX: kan {kan['fwdbwd'] / res['floor_dx']['fwdbwd']:.2f}, "
                      f"with regularisation {res['kan_reg']['fwdbwd'] / res['floor_dx']['fwdbwd']:.2f}")
            if "pykan" in res and "error" not in res["pykan"]:
                print(f"  pykan speed() / kan fwd+bwd = {res['pykan']['fwdbwd'] / kan['fwdbwd']:.1f}x"
                      " (>= 10)")


if __name__ == "__main__":
    main()
