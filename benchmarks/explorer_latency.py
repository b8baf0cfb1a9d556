"""Explorer latency on the Python side (no browser): what a click and a training step cost.

Run by hand (never in CI), on a quiet machine, one thread:

    .venv/bin/python benchmarks/explorer_latency.py [--quick]

Measures
--------
click -> panel filled   ``explorer.select(edge)`` on a [4, 10, 10, 1] model with 1000 samples:
                        the selection drawn on the network and the edge panel filled (curve,
                        samples, histogram, suggestions with their loss previews). First click
                        on an edge computes the suggestions; a second click uses the cache.
redraw at 200 edges     one live redraw of the network while training a [5, 10, 10, 5] model
                        (200 edges): attribution, scene and every trace update.
training slowdown       steps/s of ``fit`` alone vs. from the Explorer with live redraws, and
                        the live frames per second.

Targets (issue 4): click -> panel under 100 ms; redraw under 300 ms; >= 4 redraws/s while
slowing training by at most 20%. The browser adds its own time (see tests/browser logs).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def _data(n_var, n_out, n, seed=0):
    from kan_widgets import datasets

    def f(X):
        y = torch.sin(torch.pi * X[:, :1]) + X[:, 1:2] ** 2 + X.prod(1, keepdim=True)
        return y.repeat(1, n_out) * torch.linspace(1, 2, n_out)

    return datasets.from_function(f, n_var=n_var, n_train=n, n_test=n, seed=seed)


def _ms(v):
    return f"{1000 * v:7.1f} ms"


def _stats(name, xs):
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(0.9 * len(xs)))]
    print(f"  {name:<38} median {_ms(statistics.median(xs))}   p90 {_ms(p90)}   n={len(xs)}")
    return statistics.median(xs)


def bench_click(quick):
    from kan_widgets import KAN
    from kan_widgets.widgets import Explorer

    data = _data(4, 1, 1000)
    model = KAN([4, 10, 10, 1], seed=0).fit(data, steps=20, opt="Adam", lr=1e-2, progress=False)
    t = time.perf_counter()
    ex = Explorer(model, data)
    ex.widget  # noqa: B018 -- build every panel (first FigureWidget import included)
    print(f"  build the widget (first in process)      {_ms(time.perf_counter() - t)}")
    s = ex.session
    edges = model.edges()[:: 3 if quick else 1][:30 if quick else 150]
    first, shown, second, sugg, detail, prev = [], [], [], [], [], []
    for e in edges:
        s._cache.clear()
        t0 = time.perf_counter()
        s.suggestions(e)
        t1 = time.perf_counter()
        s.edge_detail(e)
        t2 = time.perf_counter()
        s.previews(e)
        t3 = time.perf_counter()
        sugg.append(t1 - t0)
        detail.append(t2 - t1)
        prev.append(t3 - t2)
        s._cache.clear()
        ex.select(None)
        t0 = time.perf_counter()
        ex.select(e)  # what a click does: selection shapes + edge panel filled
        first.append(time.perf_counter() - t0)
        shown.append(ex.edge_panel.last_fill_s)
        ex.select(None)
        t0 = time.perf_counter()
        ex.select(e)  # the same edge again: everything comes from the cache
        second.append(time.perf_counter() - t0)
    print("click -> edge panel filled, [4, 10, 10, 1], 1000 samples:")
    _stats("suggest_symbolic (top 5)", sugg)
    _stats("edge detail (curve + samples)", detail)
    _stats("loss previews of the 5 candidates", prev)
    _stats("click: edge + suggestions shown", shown)
    m1 = _stats("click: all filled, incl. previews", first)
    m2 = _stats("click again, cached", second)
    return m1, m2


def bench_train(quick):
    from kan_widgets import KAN
    from kan_widgets.widgets import Explorer

    data = _data(5, 5, 1000)
    model = KAN([5, 10, 10, 5], seed=0).fit(data, steps=2, opt="Adam", lr=1e-2, progress=False)
    assert len(model.edges()) == 200
    ex = Explorer(model.copy(), data)
    view = ex.network
    costs = []
    for _ in range(5 if quick else 20):
        t0 = time.perf_counter()
        view.redraw(live=True)
        costs.append(time.perf_counter() - t0)
    print("live redraw of the network at 200 edges ([5, 10, 10, 5]):")
    med = _stats("attribute + scene + trace updates", costs)
    t0 = time.perf_counter()
    for _ in range(10):
        ex.session.scene()
    print(f"  {'scene alone (plain numbers)':<38} {_ms((time.perf_counter() - t0) / 10)}")

    steps = 40 if quick else 150
    bare = model.copy()
    t0 = time.perf_counter()
    bare.fit(data, steps=steps, opt="Adam", lr=1e-2, progress=False)
    t_bare = time.perf_counter() - t0
    frames = []
    ex.session.observe(lambda ch: frames.append(time.perf_counter()), "live")
    t0 = time.perf_counter()
    ex.train(steps=steps, opt="Adam", lr=1e-2)
    t_ex = time.perf_counter() - t0
    print(f"training {steps} Adam steps at 200 edges, 1000 samples:")
    print(f"  fit alone                                {t_bare:7.2f} s   "
          f"({steps / t_bare:.1f} steps/s)")
    print(f"  from the Explorer, live redraws          {t_ex:7.2f} s   "
          f"({steps / t_ex:.1f} steps/s; slowdown {100 * (t_ex / t_bare - 1):+.0f}%)")
    print(f"  live frames                              {len(frames)}  "
          f"({len(frames) / t_ex:.1f} per s)")
    return med, t_ex / t_bare


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer edges and steps")
    args = p.parse_args()
    torch.set_num_threads(1)
    m1, m2 = bench_click(args.quick)
    med, ratio = bench_train(args.quick)
    print("summary (targets: click < 100 ms, redraw < 300 ms, slowdown <= 20%):")
    print(f"  click {_ms(m1)} (cached {_ms(m2)}), redraw {_ms(med)}, "
          f"training slowdown {100 * (ratio - 1):+.0f}%")


if __name__ == "__main__":
    main()
