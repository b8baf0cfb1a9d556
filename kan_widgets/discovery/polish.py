"""The last touches on a formula: its numeric constants fitted to the data in float64, then
constants that are clearly simple (integers, small fractions, multiples of pi or e) snapped
to exact numbers when that does not hurt the error.

The formula is an expression object throughout: its constants are swapped for symbols and
the result is compiled with ``to_callable`` (``sympy.lambdify`` on the expression), never
through text.
"""

from __future__ import annotations

import math

import sympy as sp
import torch

from ..core.lbfgs import LBFGS
from ..symbolic import snap_constants, to_callable

__all__ = ["complexity", "nrmse", "polish", "snap", "evaluate"]

MAX_CONSTANTS = 24  # above this the polish is skipped (a formula that long is not the goal)
SNAP_TOL = 1e-2  # relative distance for trying a simple number; the error decides


def complexity(expr) -> int:
    """Number of nodes of the sympy expression tree (symbols, numbers and operations each
    count 1): ``q1*q2/r**2`` is ``Mul(q1, q2, Pow(r, -2))``, 6 nodes."""
    return sum(1 for _ in sp.preorder_traversal(expr))


def evaluate(expr, variables, X) -> torch.Tensor:
    """``expr`` on the (n, n_var) float64 tensor ``X`` (columns in ``variables`` order)."""
    f = to_callable(expr, [sp.Symbol(v) for v in variables], backend="torch")
    return f(*(X[:, k] for k in range(X.shape[1]))).reshape(-1)


def nrmse(expr, variables, X, y) -> float:
    """Root mean squared error over the spread of ``y`` (inf when not finite)."""
    with torch.no_grad():
        pred = evaluate(expr, variables, X)
    y = y.reshape(-1)
    err = float(torch.sqrt(((pred - y) ** 2).mean()) / (y.std() + 1e-300))
    return err if math.isfinite(err) else math.inf


def _template(expr):
    floats = sorted(expr.atoms(sp.Float), key=lambda f: (float(f), str(f)))
    params = [sp.Dummy(f"c{k}") for k in range(len(floats))]
    return expr.xreplace(dict(zip(floats, params))), params, [float(f) for f in floats]


def polish(expr, variables, X, y, iters=60):
    """``expr`` with its float constants fitted to ``(X, y)`` by LBFGS in float64 (the
    original when that does not lower the error or fails). Returns (expr, nrmse)."""
    err0 = nrmse(expr, variables, X, y)
    tmpl, params, values = _template(expr)
    if not params or len(params) > MAX_CONSTANTS:
        return expr, err0
    syms = [sp.Symbol(v) for v in variables]
    f = to_callable(tmpl, syms + params, backend="torch")
    cols = [X[:, k] for k in range(X.shape[1])]
    y = y.reshape(-1)
    scale = float(y.var()) + 1e-300
    theta = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    # the project's L-BFGS: strong-Wolfe search, and no torch._dynamo import on first use
    opt = LBFGS([theta], lr=1, max_iter=iters, tolerance_grad=1e-14, tolerance_change=1e-16)

    def closure():
        opt.zero_grad()
        loss = ((f(*cols, *theta.unbind()) - y) ** 2).mean() / scale
        if torch.isfinite(loss):
            loss.backward()
        return loss

    try:
        opt.step(closure)
    # a singular or non-finite step (torch's strong-Wolfe search raises IndexError on a NaN
    # bracket): keep the original
    except (RuntimeError, ValueError, ArithmeticError, IndexError):
        return expr, err0
    finally:
        opt.release()
    new = theta.detach().tolist()
    if not all(math.isfinite(v) for v in new):
        return expr, err0
    out = tmpl.xreplace({p: sp.Float(v) for p, v in zip(params, new)})
    err = nrmse(out, variables, X, y)
    return (out, err) if err < err0 else (expr, err0)


def _snapped(value: float):
    s = snap_constants(sp.Float(value), tol=SNAP_TOL)
    return None if s.atoms(sp.Float) else s


def _accept(err, err0) -> bool:
    return err <= max(err0 * 1.01, err0 + 1e-9)


def snap(expr, variables, X, y, max_tries=12):
    """Snap constants to simple exact numbers where the error (after re-polishing the other
    constants) stays within 1 % of ``expr``'s. All at once first, then one at a time, the
    nearest to a simple number first. Returns (expr, nrmse, notes)."""
    err0 = nrmse(expr, variables, X, y)
    floats = list(expr.atoms(sp.Float))
    cands = {f: _snapped(float(f)) for f in floats}
    cands = {f: s for f, s in cands.items() if s is not None}
    if not cands:
        return expr, err0, []
    trial, err = polish(expr.xreplace(cands), variables, X, y)
    if _accept(err, err0):
        return trial, err, [f"snapped {len(cands)} constant(s) to exact numbers"]
    done, cur, cur_err, tried = 0, expr, err0, set()
    for _ in range(max_tries):  # one at a time; the others are re-polished after each snap
        left = {f: _snapped(float(f)) for f in cur.atoms(sp.Float) if float(f) not in tried}
        left = {f: s for f, s in left.items() if s is not None}
        if not left:
            break
        f = min(left, key=lambda f: (abs(float(f) - float(left[f])) / max(1.0, abs(float(f))),
                                     str(f)))
        tried.add(float(f))
        trial, err = polish(cur.xreplace({f: left[f]}), variables, X, y)
        if _accept(err, err0):
            cur, cur_err, done = trial, err, done + 1
    notes = [f"snapped {done} near-simple constant(s) one by one"] if done else []
    return cur, cur_err, notes
