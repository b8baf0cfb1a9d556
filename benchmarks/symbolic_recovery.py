"""Symbolic recovery: known formulas through train -> prune -> refine -> fix -> formula, with
kan_widgets and with pykan 0.2.8, in one run.

    .venv/bin/pip install -r benchmarks/requirements.txt     # pykan is optional
    .venv/bin/python benchmarks/symbolic_recovery.py [--only NAME] [--no-pykan] [--steps 30]

Pipeline, the same for both tools (pykan's verbs, its default library and ranking):

    fit(steps, lamb=1e-3 if there is a hidden layer)   1000 train / 1000 test, x in [-1, 1]^n
    prune -> fit(steps)                                 (hidden layers only)
    refine(20) -> fit(steps)
    for each layer: auto_symbolic on that layer -> fit(steps)
    formula, rounded to 4 decimals

Fixing one layer at a time with a refit in between lets later layers absorb the small errors
of earlier fits (a KAN's hidden nodes are only determined up to a warp that the next layer
undoes). For pykan the per-layer step runs its own ``auto_symbolic`` logic on one layer.

Recovered: the rounded formula, with constants snapped to simple exact numbers (integers, p/q,
p*pi/q, p*e/q with q <= 12), equals the truth to 1e-6 (relative) on 500 random points; a
positive factor of ``exp`` may be snapped outside it or inside its argument. RMSE is
the final test RMSE of the symbolic model; wall is the whole pipeline, one torch thread.
Both tools run in float64 by default (``--dtype``), as pykan's own tutorials do.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import tempfile
import time
import warnings

import numpy as np
import sympy as sp
import torch

import kan_widgets as kw
from kan_widgets.symbolic import clean, round_numbers, snap_constants, to_callable

x, y, z, w = sp.symbols("x y z w")
pi = sp.pi

# name: (truth, variables, width)
FORMULAS = {
    "poly": (x**2 + x / 2, [x], [1, 1]),
    "sin(pi x)": (sp.sin(pi * x), [x], [1, 1]),
    "tanh(3x)": (sp.tanh(3 * x), [x], [1, 1]),
    "exp(sin(pi x))": (sp.exp(sp.sin(pi * x)), [x], [1, 1, 1]),
    "sin(x)+y^2": (sp.sin(x) + y**2, [x, y], [2, 1]),
    "paper b": (sp.exp(sp.sin(pi * x) + y**2), [x, y], [2, 5, 1]),
    "paper c: xy": (x * y, [x, y], [2, 2, 1]),
    "gaussian 2d": (sp.exp(-(x**2 + y**2)), [x, y], [2, 1, 1]),
    "sqrt(1+x^2+y^2)": (sp.sqrt(1 + x**2 + y**2), [x, y], [2, 1, 1]),
    "log(2+x+y^2)": (sp.log(2 + x + y**2), [x, y], [2, 1, 1]),
    "tanh(x+2y)": (sp.tanh(x + 2 * y), [x, y], [2, 1, 1]),
    "sin(pi xy)": (sp.sin(pi * x * y), [x, y], [2, 2, 1, 1]),
    "(x+y+z)^2": ((x + y + z) ** 2, [x, y, z], [3, 1, 1]),
    "exp(sin x+cos y+z^2)": (sp.exp(sp.sin(x) + sp.cos(y) + z**2), [x, y, z], [3, 1, 1]),
    "paper d (4 vars)": (sp.exp(sum(sp.sin(pi * v / 2) ** 2 for v in (x, y, z, w)) / 4),
                         [x, y, z, w], [4, 1, 1]),
    "paper e": (sp.exp((sp.sin(pi * (x**2 + y**2)) + sp.sin(pi * (z**2 + w**2))) / 2),
                [x, y, z, w], [4, 2, 1, 1]),
    "xy+zw": (x * y + z * w, [x, y, z, w], [4, 4, 1]),
    # the products again, with multiplication nodes (pykan's [n_sum, n_mult] notation)
    "mult: xy": (x * y, [x, y], [2, [0, 1], 1]),
    "mult: xy+zw": (x * y + z * w, [x, y, z, w], [4, [0, 2], 1]),
    "mult: sin(pi xy)": (sp.sin(pi * x * y), [x, y], [2, [0, 1], 1, 1]),
}


def dataset(truth, variables, seed=0):
    f = sp.lambdify(variables, truth, "torch")

    def fn(X):
        out = f(*X.T)
        return out if isinstance(out, torch.Tensor) else torch.full((len(X),), float(out))

    return kw.datasets.from_function(fn, n_var=len(variables), ranges=(-1, 1), n_train=1000,
                                     n_test=1000, seed=seed)


def _prefactor_into_exp(expr):
    """``c*exp(g) -> exp(g + log c)`` for c > 0 when ``log c`` snaps to a simple number: the
    other way of writing the constant that sympy and ``clean`` keep outside exp
    (``exp(1/2 - g)`` is the recognisable form of ``1.6487*exp(-g)``)."""
    def match(t):
        c, rest = t.as_coeff_Mul()
        return t.is_Mul and c.is_Float and c > 0 and isinstance(rest, sp.exp)

    def push(t):
        c, rest = t.as_coeff_Mul()
        k = snap_constants(round_numbers(sp.Float(math.log(c)), 4))
        return t if k.atoms(sp.Float) else sp.exp(rest.args[0] + k)  # exact k: stays inside
    return expr.replace(match, push)


def recovered(expr, truth, variables):
    """(recovered?, snapped formula) — see the module docstring. Constants are snapped in
    both ways of writing a factor of exp (outside, as ``clean`` does, or inside)."""
    X = np.random.default_rng(1).uniform(-1, 1, (500, len(variables)))
    want = to_callable(truth, variables)(X)
    cleaned = clean(expr)  # pykan's formula is not expanded
    first = None
    rounded = round_numbers(cleaned, 4)
    for form in (rounded, _prefactor_into_exp(rounded)):
        snapped = snap_constants(form)
        first = snapped if first is None else first
        try:
            got = to_callable(snapped, variables)(X)
        except Exception:  # noqa: BLE001 - a formula in other variables is not a recovery
            continue
        if bool(np.all(np.isfinite(got))) and \
                float(np.max(np.abs(got - want))) <= 1e-6 * max(1.0, float(np.max(np.abs(want)))):
            return True, snapped
    return False, first


def run_kan_widgets(truth, variables, width, steps, seed):
    data = dataset(truth, variables)
    names = [v.name for v in variables]
    t = time.perf_counter()
    hidden = len(width) > 2
    model = kw.KAN(width, grid=5, k=3, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # edges left as splines show up as "not recovered"
        model.fit(data, steps=steps, lamb=1e-3 if hidden else 0.0, progress=False)
        if hidden:
            model.prune().fit(data, steps=steps, progress=False)
        model.refine(20).fit(data, steps=steps, progress=False)
        for layer in range(model.depth):
            model.auto_symbolic(layers=[layer]).fit(data, steps=steps, progress=False)
    rmse = model.history_["test_rmse"][-1]
    try:
        expr = kw.formula(model, variables=names)[0]
    except ValueError:  # an edge stayed a spline
        expr = None
    wall = time.perf_counter() - t
    ok, snapped = recovered(expr, truth, variables) if expr is not None else (False, "-")
    return ok, rmse, wall, snapped


def _pykan_fix_layer(model, l):
    """pykan 0.2.8's auto_symbolic loop, restricted to layer ``l``."""
    for i in range(model.width_in[l]):
        for j in range(model.width_out[l + 1]):
            if model.symbolic_fun[l].mask[j, i] > 0. and model.act_fun[l].mask[i][j] == 0.:
                continue
            if model.symbolic_fun[l].mask[j, i] == 0. and model.act_fun[l].mask[i][j] == 0.:
                model.fix_symbolic(l, i, j, "0", verbose=False, log_history=False)
            else:
                name, _, _, _ = model.suggest_symbolic(l, i, j, verbose=False)
                model.fix_symbolic(l, i, j, name, verbose=False, log_history=False)


def run_pykan(truth, variables, width, steps, seed):
    from kan import KAN as PyKAN

    data = dataset(truth, variables).as_dict()
    hidden = len(width) > 2
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cwd = os.getcwd()
        os.chdir(tmp)  # pykan writes ./model and ./figures
        os.makedirs("model", exist_ok=True)
        try:
            t = time.perf_counter()
            model = PyKAN(width=width, grid=5, k=3, seed=seed, auto_save=False)
            model.fit(data, opt="LBFGS", steps=steps, lamb=1e-3 if hidden else 0.0)
            if hidden:
                model = model.prune()
                model.fit(data, opt="LBFGS", steps=steps)
            model = model.refine(20)
            model.fit(data, opt="LBFGS", steps=steps)
            for layer in range(len(model.width) - 1):
                model(data["train_input"])  # suggest_symbolic reads the cached activations
                _pykan_fix_layer(model, layer)
                model.fit(data, opt="LBFGS", steps=steps)
            with torch.no_grad():
                rmse = float(torch.sqrt(((model(data["test_input"]) - data["test_label"]) ** 2)
                                        .mean()))
            expr = model.symbolic_formula()[0][0]
            wall = time.perf_counter() - t
        except Exception as e:  # noqa: BLE001 - report a crash as "not recovered"
            return False, float("nan"), float("nan"), f"error: {type(e).__name__}: {e}"[:80]
        finally:
            os.chdir(cwd)
    # pykan names inputs x_1 .. x_n
    expr = sp.sympify(expr).xreplace({s: variables[int(s.name.split("_")[1]) - 1]
                                      for s in sp.sympify(expr).free_symbols
                                      if s.name.startswith("x_")})
    ok, snapped = recovered(expr, truth, variables)
    return ok, rmse, wall, snapped


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", action="append", help="run only this formula (repeatable)")
    ap.add_argument("--no-pykan", action="store_true")
    ap.add_argument("--show", action="store_true", help="print the recovered formulas")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                    help="default dtype of both tools (pykan's tutorials use float64; in float32 "
                         "the last digits of fitted constants often stay off)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(getattr(torch, args.dtype))
    tools = {"kan_widgets": run_kan_widgets}
    if not args.no_pykan:
        try:
            import kan  # noqa: F401

            tools["pykan 0.2.8"] = run_pykan
        except ImportError:
            print("pykan is not installed (pip install -r benchmarks/requirements.txt): "
                  "kan_widgets only")
    names = args.only or list(FORMULAS)
    head = f"{'formula':<22}{'vars':>5}  {'width':<18}"
    for t in tools:
        head += f"| {t:<11} {'rec':>3} {'RMSE':>9} {'wall s':>7} "
    print(head)
    totals = {t: [0, 0.0] for t in tools}
    shown = []
    for name in names:
        truth, variables, width = FORMULAS[name]
        row = f"{name:<22}{len(variables):>5}  {str(width):<18}"
        for t, fn in tools.items():
            ok, rmse, wall, snapped = fn(truth, variables, width, args.steps, args.seed)
            totals[t][0] += ok
            totals[t][1] += wall if wall == wall else 0.0
            row += f"| {'':<11} {'yes' if ok else 'no':>3} {rmse:>9.1e} {wall:>7.1f} "
            shown.append(f"  {name:<22} {t:<12} {snapped}")
        print(row, flush=True)
    print(f"{'total':<47}" + "".join(f"| {'':<11} {totals[t][0]:>3} {'':>9} {totals[t][1]:>7.1f} "
                                     for t in tools))
    print(f"recovered out of {len(names)}; steps={args.steps}, seed={args.seed}, {args.dtype}, "
          "one torch thread")
    if args.show:
        print("\nformulas (rounded to 4 decimals, constants snapped):")
        print("\n".join(shown))


if __name__ == "__main__":
    main()
