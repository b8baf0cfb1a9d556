"""``discover``: the manual recipe (fit with sparsity, prune, refit, refine, symbolic fit,
refit, formula) run over a few structures, views and sparsity strengths, within a time
budget, each run ending in a formula on a ``Front``."""

from __future__ import annotations

import time
import warnings

import torch

from ..core import KAN, NonFiniteError
from ..symbolic import formula as _formula
from .front import Candidate, Front
from .polish import complexity, nrmse, polish, snap
from .symbolize import prune_by_gaps, symbolize
from .views import as_dataset, make_views

__all__ = ["discover", "plan"]

MAX_ROWS = 1000  # training rows the KANs see (the polish uses every row)


def plan(n_var: int, views, widths=None, lambs=(1e-3, 1e-2)) -> list[tuple]:
    """The runs, in order: (view, width, lamb). Shallow models first (a sum of one-variable
    functions, in the log view a product of powers), then one hidden layer of a few nodes,
    then wider ones along the sparsity path; each view in turn."""
    n = n_var
    if widths is None:
        first = [[n, 1]]
        later = [[n, 1, 1], [n, 2, 1], [n, 2 * n + 1, 1], [n, 2, 1, 1]]
    else:
        first, later = [w for w in widths if len(w) == 2], [w for w in widths if len(w) > 2]
    runs = [(v, w, 0.0) for w in first for v in reversed(views)]  # log view first
    for lamb in lambs:
        runs += [(v, w, lamb) for w in later for v in views]
    return runs


def _check_width(w, n_var):
    w = [int(v) for v in w]
    if len(w) < 2 or w[0] != n_var or w[-1] != 1 or min(w) < 1:
        raise ValueError(f"each width must start with the number of variables ({n_var}) and end "
                         f"with 1, e.g. [{n_var}, 1] or [{n_var}, 2, 1]; got {w}")
    return w


def _one_run(ds, view, width, lamb, seed, steps, deadline, halt=None):
    """One pass of the recipe in ``view``; returns a Candidate. Its fits stop at the
    ``deadline`` or when ``halt()`` says so (the rest of the recipe still runs, briefly, so
    the run ends in a formula)."""
    t0 = time.perf_counter()
    rows = torch.randperm(len(ds.X_train), generator=torch.Generator().manual_seed(seed))
    vds = view.dataset(ds, rows[:MAX_ROWS])
    log = [f"{view.kind} view: inputs scaled to [-1, 1]" + (" after log" if view.kind == "log"
                                                           else "") + ", target standardised"]

    def stop(_info):
        return time.perf_counter() > deadline or (halt is not None and bool(halt()))

    def fit(model, n, lamb=0.0, update_grid=False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(vds, steps=n, lamb=lamb, progress=False, callback=stop,
                      update_grid=update_grid)

    model = KAN(width, grid=5, k=3, seed=seed)
    vds = _as_dtype(vds, model.dtype)
    fit(model, steps, lamb, update_grid=True)
    log.append(f"KAN{width} fitted {steps} steps" + (f" with lamb={lamb:g}" if lamb else ""))
    if model.depth > 1:
        model, note = prune_by_gaps(model, vds.X_train)
        log.append(note)
        fit(model, steps)
    model.refine(10)
    fit(model, steps)
    log.append("grid refined to 10 and refitted")
    notes, below = symbolize(model, vds, steps=steps // 2 or 1, fit=fit)
    log += notes + ["every edge symbolic (layer by layer, refit after each)"]
    zs = view.symbols()
    expr = view.fold(_formula(model, variables=zs)[0], zs)
    log.append("formula folded back to the original variables")
    names = ds.variables
    expr, _ = polish(expr, names, ds.X_train, ds.y_train)
    log.append("constants polished in float64")
    expr, _, snaps = snap(expr, names, ds.X_train, ds.y_train)
    log += snaps
    return Candidate(expr, nrmse(expr, names, ds.X_test, ds.y_test),
                     nrmse(expr, names, ds.X_train, ds.y_train), complexity(expr), model, vds,
                     view.kind, list(width), log, below, time.perf_counter() - t0)


def _as_dtype(ds, dtype):
    return type(ds)(*(t.to(dtype) for t in (ds.X_train, ds.y_train, ds.X_test, ds.y_test)),
                    ds.variables, ds.outputs)


def discover(data, y=None, *, target=None, variables=None, time_budget=60.0, seed=0,
             widths=None, use_log=None, max_models=None, steps=40, progress=True,
             callback=None, stop=None) -> Front:
    """Candidate formulas for the data, on an accuracy/complexity front.

    Parameters
    ----------
    data : ``Dataset`` (its ``variables``/``outputs`` name the formula's symbols), a pandas
        DataFrame with ``target`` (column name), or an array X (n, n_var) with ``y`` (n,)
        and optional ``variables``
    time_budget : seconds; no new run starts after it and a run in progress is cut short
        (its fits stop), so a call takes about this long (a minute suits four variables on
        two CPUs)
    seed : seeds the models and the row sampling; the same seed gives the same front when
        the run ends by ``max_models`` or by running out of plans, not by the clock
    widths : list of KAN widths to try instead of the default plan (``plan``)
    use_log : None (the log view when the data allow it), True (require it), False (never)
    max_models : stop after this many runs
    steps : LBFGS steps per fit
    progress : show a tqdm progress bar (time spent out of the budget)
    callback : ``callback(front, candidate)`` after each candidate; return True to stop
    stop : ``stop()`` -> bool, asked at every fit step and before each run (e.g. a
        ``threading.Event``'s ``is_set`` from another thread): True ends the search soon,
        the run in progress cut short but finished into a formula (``front.interrupted``)

    Returns
    -------
    Front. Every candidate has a formula. A ``KeyboardInterrupt`` during the search stops it
    and returns the front found so far (``front.interrupted`` is True).

    What each run does (``candidate.steps`` lists it): scale (and maybe log) the data, fit a
    KAN with sparsity, prune at the gaps of the attribution scores (never to an empty
    model), refit, refine the grid, fix every edge to a library function layer by layer
    (the best one when none clears r2 0.9; steep fits replaced), refit, fold the scaling
    back into the formula exactly, polish its constants in float64 and snap clearly simple
    ones when that does not hurt the error.
    """
    ds = as_dataset(data, y, target=target, variables=variables, seed=seed)
    if not time_budget > 0:
        raise ValueError(f"time_budget must be a positive number of seconds; got {time_budget!r}")
    if max_models is not None and int(max_models) < 1:
        raise ValueError(f"max_models must be >= 1; got {max_models!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable(front, candidate); got {callback!r}")
    if stop is not None and not callable(stop):
        raise TypeError(f"stop must be a callable taking no argument (e.g. event.is_set); "
                        f"got {stop!r}")
    widths = None if widths is None else [_check_width(w, ds.n_var) for w in widths]
    runs = plan(ds.n_var, make_views(ds, use_log), widths)
    if max_models is not None:
        runs = runs[:int(max_models)]
    front = Front(ds.outputs[0], ds.variables)
    t0 = time.perf_counter()
    deadline = t0 + float(time_budget)
    bar = _bar(progress, time_budget)
    try:
        for k, (view, width, lamb) in enumerate(runs):
            if time.perf_counter() > deadline:
                break
            if stop is not None and stop():
                front.interrupted = True
                break
            try:
                cand = _one_run(ds, view, width, lamb, seed + k, steps, deadline, stop)
            except NonFiniteError as err:
                # one run's model went non-finite: the other runs still count (any other error
                # ends the search and reaches the caller)
                warnings.warn(f"discover: run {k + 1} (width {width}, lamb {lamb}) failed and "
                              f"was skipped: {err}", RuntimeWarning, stacklevel=2)
                continue
            front.add(cand)
            if bar is not None:
                bar.n = round(min(time.perf_counter() - t0, time_budget), 1)
                bar.set_postfix_str(f"best: {front.best}"[:60])
            if callback is not None and callback(front, cand):
                front.interrupted = True
                break
            if stop is not None and stop():
                front.interrupted = True
                break
    except KeyboardInterrupt:
        front.interrupted = True
    finally:
        front.seconds = time.perf_counter() - t0
        if bar is not None:
            bar.close()
    return front


def _bar(progress, total):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=round(float(total), 1), unit="s", desc="discover",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s {postfix}")

