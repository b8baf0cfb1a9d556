"""The paper's toy recipe end to end, kan_widgets against pykan 0.2.8, in one run.

    f(x, y) = exp(sin(pi x) + y^2), KAN([2, 5, 1]), G=5, k=3, 1000 train / 1000 test samples
    fit(50 steps, lamb=1e-3) -> prune -> fit(50) -> refine(G=20) -> fit(50)

Run by hand (never in CI), on a quiet machine, one thread:

    .venv/bin/pip install -r benchmarks/requirements.txt
    .venv/bin/python benchmarks/paper_toy.py [--seeds 10]

Prints wall time and the final test RMSE of each tool for each seed, and the ratios.
Targets: kan_widgets at most a third of pykan's time, and no worse test RMSE.

Where a seed ends is chaotic for both tools: the sparse fit can stall at a kink of the
penalty or leave a second hidden node alive, and the final RMSE then differs by 10-100x
between neighbouring seeds. Medians of three seeds swing either way; use ten.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time

import torch


def toy_data(seed):
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(1000, 2, generator=gen) * 2 - 1
    Xt = torch.rand(1000, 2, generator=gen) * 2 - 1
    f = lambda X: torch.exp(torch.sin(torch.pi * X[:, [0]]) + X[:, [1]] ** 2)  # noqa: E731
    return X, f(X), Xt, f(Xt)


def run_kan_widgets(seed):
    from kan_widgets import KAN

    X, y, Xt, yt = toy_data(seed)
    t = time.perf_counter()
    model = KAN([2, 5, 1], grid=5, k=3, seed=seed)
    model.fit(X, y, X_test=Xt, y_test=yt, steps=50, lamb=1e-3, progress=False)
    model.prune()
    model.fit(X, y, X_test=Xt, y_test=yt, steps=50, progress=False)
    model.refine(20).fit(X, y, X_test=Xt, y_test=yt, steps=50, progress=False)
    wall = time.perf_counter() - t
    rmse = model.score(Xt, yt)
    return wall, rmse


def run_pykan(seed):
    from kan import KAN as PyKAN

    X, y, Xt, yt = toy_data(seed)
    data = {"train_input": X, "train_label": y, "test_input": Xt, "test_label": yt}
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        cwd = os.getcwd()
        os.chdir(tmp)  # pykan writes ./model and ./figures (prune logs there even without auto_save)
        os.makedirs("model", exist_ok=True)
        try:
            t = time.perf_counter()
            model = PyKAN(width=[2, 5, 1], grid=5, k=3, seed=seed, auto_save=False)
            model.fit(data, opt="LBFGS", steps=50, lamb=1e-3)
            model = model.prune()
            model.fit(data, opt="LBFGS", steps=50)
            model = model.refine(20)
            model.fit(data, opt="LBFGS", steps=50)
            wall = time.perf_counter() - t
            with torch.no_grad():
                rmse = float(torch.sqrt(((model(Xt) - yt) ** 2).mean()))
        finally:
            os.chdir(cwd)
    return wall, rmse


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(1)
    try:
        import kan  # noqa: F401

        tools = {"kan_widgets": run_kan_widgets, "pykan 0.2.8": run_pykan}
    except ImportError:
        print("pykan is not installed: pip install -r benchmarks/requirements.txt")
        tools = {"kan_widgets": run_kan_widgets}
    res = {name: [] for name in tools}
    print(f"{'seed':>4}  {'tool':<12}{'wall s':>8}{'test RMSE':>12}")
    for seed in range(args.seeds):
        for name, fn in tools.items():
            wall, rmse = fn(seed)
            res[name].append((wall, rmse))
            print(f"{seed:>4}  {name:<12}{wall:>8.2f}{rmse:>12.2e}")
    print("\nmedian over seeds:")
    for name, rows in res.items():
        print(f"  {name:<12} wall {statistics.median(r[0] for r in rows):6.2f} s   "
              f"test RMSE {statistics.median(r[1] for r in rows):.2e}")
    if len(res) == 2:
        a, b = res["kan_widgets"], res["pykan 0.2.8"]
        tr = statistics.median(r[0] for r in a) / statistics.median(r[0] for r in b)
        er = statistics.median(r[1] for r in a) / statistics.median(r[1] for r in b)
        print(f"  kan_widgets / pykan: time {tr:.2f} (target <= 0.33), RMSE {er:.2f} (target <= 1)")
        better = sum(ra[1] < rb[1] for ra, rb in zip(a, b))
        print(f"  seeds where kan_widgets reached the lower test RMSE: {better} of {len(a)}")


if __name__ == "__main__":
    main()
