"""Data for discovery: the user's data as one ``Dataset``, and the *views* models train on.

A view maps the user's columns to what a KAN sees and maps a formula back, exactly:

- ``linear``: each input min-max scaled to ``[-1, 1]`` (the KAN's grid range), the target
  standardised (zero mean, unit spread);
- ``log`` (only when every input is positive and the target keeps one sign and is never 0):
  inputs ``log x`` and target ``log|y|``, then scaled as above. Products, ratios and powers of
  the inputs are sums there (``log(q1*q2/r**2) = log q1 + log q2 - 2 log r``), which a KAN
  without hidden layer represents with straight edges.

``View.fold(expr)`` turns a formula in the view's scaled symbols back into the user's
variables: the substitutions are the inverse maps, written symbolically, so nothing is
approximated (a formula of a rescaled target equals the rescaled formula).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
import torch

from ..datasets import Dataset, from_arrays
from ..symbolic import clean

__all__ = ["as_dataset", "View", "make_views"]


def as_dataset(data, y=None, *, target=None, variables=None, seed=0) -> Dataset:
    """The user's data as a single-output ``Dataset`` (float64).

    ``data`` is a ``Dataset``; a pandas DataFrame with ``target`` (a column name); or an array
    X of shape (n, n_var) with ``y`` of shape (n,) and optional ``variables`` (names).
    """
    if isinstance(data, Dataset):
        ds = data
    elif hasattr(data, "columns") and hasattr(data, "to_numpy"):  # a DataFrame
        if target is None:
            raise ValueError("discover(df): name the target column, e.g. "
                             "discover(df, target='F')")
        from ..datasets import from_dataframe

        ds = from_dataframe(data, target, test_size=0.2, seed=seed, dtype=torch.float64)
    elif isinstance(data, dict):
        raise TypeError("discover takes a Dataset, a DataFrame with target=..., or X, y; "
                        "for a pykan-style dict use kw.datasets.from_arrays(...) first")
    else:
        if y is None:
            raise ValueError("discover(X, y): give the targets y with the inputs X (or pass a "
                             "Dataset, or a DataFrame with target=...)")
        ds = from_arrays(data, y, seed=seed, variables=variables, dtype=torch.float64)
    if ds.y_train.shape[1] != 1:
        raise ValueError(f"discover finds a formula for one output; the data has "
                         f"{ds.y_train.shape[1]} ({ds.outputs}). Pass one target at a time.")
    for name, t in (("X_train", ds.X_train), ("y_train", ds.y_train), ("X_test", ds.X_test),
                    ("y_test", ds.y_test)):
        if not torch.isfinite(t).all():
            raise ValueError(f"the data's {name} has NaN or inf values; drop or impute those "
                             "rows first")
    if len(ds.X_train) < 10:
        raise ValueError(f"{len(ds.X_train)} training samples are too few to discover a formula")
    if float(ds.y_train.double().std()) == 0.0:
        raise ValueError("the target is constant on the training data: there is no law to find")
    names = ds.variables or [f"x_{i + 1}" for i in range(ds.n_var)]
    out = (ds.outputs or ["y"])[0]
    return Dataset(ds.X_train.double(), ds.y_train.double(), ds.X_test.double(),
                   ds.y_test.double(), list(names), [out])


@dataclass
class View:
    """One way of presenting the data to a KAN (see the module docstring).

    Attributes
    ----------
    kind : "linear" or "log"
    variables : the user's input names
    lo, hi : (n_var,) ranges of the (log-)inputs on the training data
    y_mean, y_std : of the (log-)target on the training data
    sign : +1 or -1, the target's sign in the log view (1 in the linear view)
    """

    kind: str
    variables: list
    lo: np.ndarray
    hi: np.ndarray
    y_mean: float
    y_std: float
    sign: float = 1.0

    def _u(self, X):
        X = torch.as_tensor(X, dtype=torch.float64)
        return torch.log(X) if self.kind == "log" else X

    def inputs(self, X) -> torch.Tensor:
        """(n, n_var) inputs as the view's model sees them, in [-1, 1] on the training data."""
        lo, hi = torch.as_tensor(self.lo), torch.as_tensor(self.hi)
        return 2 * (self._u(X) - lo) / (hi - lo) - 1

    def target(self, y) -> torch.Tensor:
        y = torch.as_tensor(y, dtype=torch.float64)
        v = torch.log(torch.abs(y)) if self.kind == "log" else y
        return (v - self.y_mean) / self.y_std

    def dataset(self, ds: Dataset, rows=None) -> Dataset:
        """``ds`` in this view (training rows ``rows`` only, when given). Its names say the
        view: ``x_s`` is ``x`` scaled to [-1, 1], ``log_x_s`` is ``log x`` scaled; the target
        ``y_s`` (``log_y_s``) is standardised."""
        X, y = (ds.X_train, ds.y_train) if rows is None else (ds.X_train[rows], ds.y_train[rows])
        # names usable as symbols in a formula: ``x_s`` is x scaled, ``log_x_s`` log x scaled
        pre = "log_" if self.kind == "log" else ""
        return Dataset(self.inputs(X), self.target(y), self.inputs(ds.X_test),
                       self.target(ds.y_test), [f"{pre}{v}_s" for v in self.variables],
                       [f"{pre}{ds.outputs[0]}_s"])

    def symbols(self) -> list:
        """The model's input symbols, one per variable (``formula(model, variables=...)``)."""
        return [sp.Dummy(f"z{i}") for i in range(len(self.variables))]

    def fold(self, expr, zs) -> sp.Expr:
        """The formula ``expr`` in the scaled symbols ``zs`` as a formula of the user's
        variables: exactly the inverse of ``inputs`` and ``target``."""
        xs = [sp.Symbol(v) for v in self.variables]
        sub = {}
        for z, x, lo, hi in zip(zs, xs, self.lo, self.hi):
            u = sp.log(x) if self.kind == "log" else x
            sub[z] = 2 * (u - sp.Float(lo)) / sp.Float(hi - lo) - 1
        v = sp.Float(self.y_std) * expr.xreplace(sub) + sp.Float(self.y_mean)
        if self.kind == "linear":
            return clean(v)
        # exp(c1*log q1 + c2*log q2 + k) -> e^k * q1**c1 * q2**c2
        return clean(sp.Float(self.sign) * sp.expand_power_exp(sp.exp(sp.expand(v))))


def make_views(ds: Dataset, use_log=None) -> list[View]:
    """The linear view, and the log view when the data allow it (``use_log`` None: when every
    input is positive and the target never 0 and of one sign; True requires it; False never)."""
    X, y = ds.X_train, ds.y_train[:, 0]
    names = list(ds.variables)

    def ranges(U):
        lo, hi = U.min(0).values.numpy(), U.max(0).values.numpy()
        const = [names[i] for i in np.flatnonzero(hi - lo <= 0)]
        if const:
            raise ValueError(f"input(s) {const} are constant on the training data; drop them")
        return lo, hi

    lo, hi = ranges(X)
    views = [View("linear", names, lo, hi, float(y.mean()), float(y.std()))]
    positive = bool((X > 0).all() and (ds.X_test > 0).all())
    one_sign = bool((y > 0).all() or (y < 0).all()) and bool((ds.y_test * y[0] > 0).all())
    if use_log and not (positive and one_sign):
        raise ValueError("use_log=True needs every input > 0 and a target that is never 0 and "
                         "keeps one sign")
    if (use_log is None and positive and one_sign) or use_log:
        v = torch.log(torch.abs(y))
        llo, lhi = ranges(torch.log(X))
        std = float(v.std())
        views.append(View("log", names, llo, lhi, float(v.mean()),
                          std if std > 0 else 1.0, math.copysign(1.0, float(y[0]))))
    return views
