"""Where more torch threads start to pay, per operation: 1 thread against all cores.

Run by hand (never in CI):

    PYTHONPATH=$PWD .venv/bin/python benchmarks/thread_crossover.py [--quick] [--reps 5]

For each operation (forward = ``predict``, one ``fit`` step, ``suggest_symbolic`` of one edge,
``refine``) and a range of model and batch sizes, the median wall time at a fixed 1 thread and
at a fixed all-cores setting (``kan_widgets.set_threads``), interleaved so both see the same
machine state, and the policy's work measure (``kan_widgets.core.threads.work_of``) of the
call. ``THRESHOLDS`` in ``kan_widgets/core/threads.py`` come from the tables below: the work
where the all-cores column starts to win.

Measured on the 2-core cloud VM of the project (torch 2.13 CPU, OpenMP), 2026-12-02
13:21-13:35 UTC, ``--reps 3``, while 4-5 other sessions ran test suites on the same machine:
1-min load 0.9 at the start, 5.4 at the end, 2-7 runnable tasks. So this is a *busy* machine,
the common case here; the run was stopped during the largest model's batch-1000 rows
(minutes per fit step). Times in ms (median of 3); ratio = 2 threads / 1 thread (> 1: one
thread wins); work = ``work_of`` (samples x spline coefficients; samples for
suggest_symbolic).

    operation        model                 batch     work  1 thr ms  2 thr ms  ratio
    forward          [2,5,1] G=5             100  1.4e+04       0.2      23.8 101.38
    forward          [2,5,1] G=20            100  3.6e+04       0.2      24.1 102.92
    forward          [2,5,1] G=5            1000  1.4e+05       0.6       0.4   0.62
    forward          [2,5,1] G=20           1000  3.6e+05       0.7       0.4   0.59
    forward          [2,5,1] G=5           10000  1.4e+06       2.2       6.3   2.88
    forward          [2,5,1] G=20          10000  3.6e+06       8.6      28.3   3.31
    forward          [10,64,64,1] G=5        100  4.3e+06       1.6      25.1  15.25
    forward          [10,64,64,1] G=5       1000  4.3e+07       5.0       9.1   1.80
    forward          [100,256,256,10] G=5    100  8.4e+07      22.5     238.0  10.57
    forward          [10,64,64,1] G=5      10000  4.3e+08      79.6     559.4   7.03
    forward          [100,256,256,10] G=5   1000  8.4e+08     112.9    1211.4  10.73
    fit step         [2,5,1] G=5             100  1.4e+04      42.4      99.3   2.34
    fit step         [2,5,1] G=20            100  3.6e+04      21.3     308.0  14.43
    fit step         [2,5,1] G=5            1000  1.4e+05      19.9     335.2  16.87
    fit step         [2,5,1] G=20           1000  3.6e+05      25.9     231.2   8.93
    fit step         [2,5,1] G=5           10000  1.4e+06     153.1     614.1   4.01
    fit step         [2,5,1] G=20          10000  3.6e+06     202.5    1511.4   7.46
    fit step         [10,64,64,1] G=5        100  4.3e+06     373.4    2075.6   5.56
    fit step         [10,64,64,1] G=5       1000  4.3e+07     802.1     254.5   0.32
    fit step         [100,256,256,10] G=5    100  8.4e+07    1417.5   17622.2  12.43
    fit step         [10,64,64,1] G=5      10000  4.3e+08   15966.9   35267.3   2.21
    suggest_symbolic [2,5,1] G=5             100    1e+02      26.9     360.5  13.42
    suggest_symbolic [2,5,1] G=20            100    1e+02      21.2     110.0   5.20
    suggest_symbolic [10,64,64,1] G=5        100    1e+02      31.7     825.4  26.02
    suggest_symbolic [100,256,256,10] G=5    100    1e+02     159.4    1607.4  10.08
    suggest_symbolic [2,5,1] G=5            1000    1e+03      41.5     317.8   7.65
    suggest_symbolic [2,5,1] G=20           1000    1e+03      49.6     196.6   3.96
    suggest_symbolic [10,64,64,1] G=5       1000    1e+03      37.0      39.1   1.06
    suggest_symbolic [2,5,1] G=5           10000    1e+04     105.4     225.9   2.14
    suggest_symbolic [2,5,1] G=20          10000    1e+04      68.4     381.6   5.58
    suggest_symbolic [10,64,64,1] G=5      10000    1e+04     266.9    1689.0   6.33
    refine           [2,5,1] G=5             100  1.4e+04      14.0      14.6   1.04
    refine           [2,5,1] G=20            100  3.6e+04      30.0      26.0   0.87
    refine           [2,5,1] G=5            1000  1.4e+05      36.4      34.0   0.93
    refine           [2,5,1] G=20           1000  3.6e+05      52.5     139.4   2.66
    refine           [2,5,1] G=5           10000  1.4e+06      83.4     797.0   9.56
    refine           [2,5,1] G=20          10000  3.6e+06     400.0     863.0   2.16
    refine           [10,64,64,1] G=5        100  4.3e+06      30.3      87.3   2.88
    refine           [10,64,64,1] G=5       1000  4.3e+07     113.7      66.0   0.58
    refine           [100,256,256,10] G=5    100  8.4e+07     329.6    4376.1  13.28
    refine           [10,64,64,1] G=5      10000  4.3e+08    8794.7    4440.8   0.50

Reading: with other processes on the cores, two threads lose almost everywhere, by 2-100x
for small work (each fork/join waits for a descheduled worker); they won only on the
largest work that finished, a fit step and refine at 4e7-4e8 (0.3-0.6), and lost again on
other rows of the same size when the load rose. Hence the policy: one thread below
``THRESHOLDS`` (2e7 for forward, fit step, refine, attribute; 2e5 samples x edges for the
symbolic fits, which lost up to 1e4), and above it only as many threads as there are cores
without another runnable task (``/proc/loadavg``), which is what separates the winning rows
from the losing ones. An idle machine was not available to place the threshold more finely.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

import kan_widgets as kw
from kan_widgets import KAN
from kan_widgets.core.threads import work_of

MODELS = [("[2,5,1] G=5", [2, 5, 1], 5), ("[2,5,1] G=20", [2, 5, 1], 20),
          ("[10,64,64,1] G=5", [10, 64, 64, 1], 5), ("[100,256,256,10] G=5", [100, 256, 256, 10], 5)]
BATCHES = [100, 1000, 10000]


def data(width, n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(n, width[0], generator=gen) * 2 - 1
    y = torch.sin(3 * X[:, :1]) + X.sum(1, keepdim=True) ** 2 / width[0]
    return X, y.expand(n, width[-1]).contiguous()


def ops(width, G, n):
    """name -> (setup, call, method, kind, args, kwargs) for one model size and batch."""
    X, y = data(width, n)
    base = KAN(width, grid=G, k=3, seed=0)
    base.fit(X, y, steps=1, progress=False)  # grids on the data, X_fit_ set
    return {
        "forward": (lambda: base, lambda m: m.predict(X), "forward", "forward", (X,), {}),
        "fit step": (lambda: base.copy(),
                     lambda m: m.fit(X, y, steps=1, update_grid=False, progress=False),
                     "fit", "fit", (X, y), {}),
        "suggest_symbolic": (lambda: base, lambda m: m.suggest_symbolic((0, 0, 0), X=X),
                             "suggest_symbolic", "symbolic", ((0, 0, 0),), {"X": X}),
        "refine": (lambda: base.copy(), lambda m: m.refine(2 * G, X=X), "refine", "grid",
                   (2 * G,), {"X": X}),
    }


def timed(setup, call, reps, n_threads):
    old = kw.set_threads(n_threads)
    try:
        m = setup()
        call(m)  # warm up
        ts = []
        for _ in range(reps):
            m = setup()
            t = time.perf_counter()
            call(m)
            ts.append(time.perf_counter() - t)
    finally:
        kw.set_threads(old)
    return statistics.median(ts) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="two smallest models, two batches")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--ops", nargs="*", default=None, help="only these operations")
    args = ap.parse_args()
    all_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    models = MODELS[:2] if args.quick else MODELS
    batches = BATCHES[:2] if args.quick else BATCHES
    print(f"cores {all_cores}; load {os.getloadavg()}; reps {args.reps}")
    rows = []
    for label, width, G in models:
        for n in batches:
            if width[0] >= 100 and n > 1000 and not args.quick:
                continue  # minutes per fit step on two cores; the crossover is far below
            for name, (setup, call, method, kind, a, k) in ops(width, G, n).items():
                if args.ops and name not in args.ops:
                    continue
                t1 = timed(setup, call, args.reps, 1)
                tn = timed(setup, call, args.reps, all_cores)
                work = work_of(setup(), kind, a, k, method)
                rows.append((name, label, n, work, t1, tn))
                print(f"{name:<17}{label:<22}{n:>6}{work:>12.3g}{t1:>10.2f}{tn:>10.2f}"
                      f"{tn / t1:>7.2f}", flush=True)
    print(f"\nload after: {os.getloadavg()}")
    print(f"\n{'operation':<17}{'model':<22}{'batch':>6}{'work':>12}{'1 thr ms':>10}"
          f"{f'{all_cores} thr ms':>10}{'ratio':>7}")
    for name, label, n, work, t1, tn in sorted(rows, key=lambda r: (r[0], r[3])):
        print(f"{name:<17}{label:<22}{n:>6}{work:>12.3g}{t1:>10.2f}{tn:>10.2f}{tn / t1:>7.2f}")


if __name__ == "__main__":
    main()
