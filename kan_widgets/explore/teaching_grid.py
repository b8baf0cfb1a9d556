"""``GridExtensionState``: the numbers behind ``GridExtensionDemo``, without widgets.

A one-edge KAN (``KAN([1, 1])``, float64) is fitted on a coarse grid, then ``refine``\\ d to
finer grids and fitted again, as in the KAN paper's grid-extension experiment. Beside it the
best spline on each grid (least squares, ``fit_coef``) shows the approximation limit the
training is heading for. Test RMSE against G on log-log axes should follow the theoretical
``G^-(k+1)`` slope for a smooth target.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from traitlets import Any, Int, Tuple

from ..core.bspline import bspline_basis, extend_grid
from ..core.grid import fit_coef, grid_from_samples
from ..core.network import KAN
from .teaching_common import TeachingState, parse_formula

__all__ = ["GridExtensionState", "PRESETS"]

PRESETS = ["sin(pi*x)", "exp(sin(pi*x))", "tanh(5*x)", "x^2*cos(3*x)", "abs(x)"]


class GridExtensionState(TeachingState):
    """Coarse fit, grid extension, and test error against G, as numbers.

    Parameters
    ----------
    target : str or callable
        A formula in ``x`` (``"sin(pi*x)"``, ``^`` = power) or a function of an ``(N, 1)``
        tensor returning ``(N,)``.
    k : int
        Spline order (1..5); the theory predicts RMSE ~ ``G^-(k+1)``.
    grids : sequence of int
        Increasing grid sizes; the first is the coarse fit, each later one a ``refine``.
    steps : int
        LBFGS steps of ``KAN.fit`` on each grid.
    x_range, n_train, n_test, seed : the data (uniform samples) and the seed
    sampler : callable
        ``kan_widgets.datasets.from_function`` (or one with its signature and its ``Dataset``
        result): draws the data. The caller passes it because ``datasets`` sits above the
        explore layer (DESIGN.md layering); ``GridExtensionDemo`` does.

    Traits (read-only; change them with ``set``, ``show``)
    ------------------------------------------------------
    target, k, grids, steps : the experiment
    shown_G : the refined grid drawn against the coarse one (None before ``run``)
    revision : bumped after ``set``, ``show`` and each grid of ``run``

    Attributes
    ----------
    results_ : list of dict, one per grid: ``G``, ``kan_train_rmse``, ``kan_test_rmse``,
        ``spline_test_rmse`` (least squares), ``n_params``, ``seconds``
    curves_ : dict G -> KAN prediction on ``x`` (after the fit on that grid)
    knots_ : dict G -> the KAN's knot vector on that grid
    model_ : the KAN after the last grid
    """

    target = Any("x", read_only=True)
    k = Int(3, read_only=True)
    grids = Tuple((3,), read_only=True)
    steps = Int(1, read_only=True)
    shown_G = Any(None, allow_none=True, read_only=True)

    def __init__(self, target="sin(pi*x)", k=3, grids=(3, 5, 10, 20, 50), steps=10,
                 x_range=(-1.0, 1.0), n_train=1000, n_test=1000, seed=0, *, sampler):
        super().__init__()
        self.sampler = sampler
        self.x_range, self.n_train, self.n_test, self.seed = x_range, n_train, n_test, seed
        self._clear()
        self.set(target=target, k=k, grids=grids, steps=steps)

    def _clear(self):
        self.results_, self.curves_, self.knots_ = [], {}, {}
        self.model_ = None
        self._update(shown_G=None)

    # ------------------------------------------------------------------ commands
    def set(self, target=None, k=None, grids=None, steps=None):
        """Change the experiment (None = keep); clears the results. Returns self."""
        if k is not None and not (isinstance(k, (int, np.integer)) and 1 <= k <= 5):
            raise ValueError(f"k must be an int in 1..5; got {k!r}")
        if grids is not None:
            g = [int(v) for v in grids]
            if not g or g[0] < 1 or any(b <= a for a, b in zip(g, g[1:])):
                raise ValueError(f"grids must be increasing ints >= 1; got {grids!r}")
        if steps is not None and int(steps) < 1:
            raise ValueError(f"steps must be >= 1; got {steps!r}")
        f = None
        if target is not None:
            f = target if callable(target) else parse_formula(target, ("x",))[0]
        with self.lock:
            if f is not None:
                self._f = f
            values = {"target": target, "k": None if k is None else int(k),
                      "grids": None if grids is None else tuple(int(v) for v in grids),
                      "steps": None if steps is None else int(steps)}
            self._clear()
            self._update(**{n: v for n, v in values.items() if v is not None})
            self._changed()
        return self

    def run(self, callback=None):
        """Fit on the coarse grid, then refine to each finer grid and fit again. Returns self.

        ``callback(row)`` is called after each grid with the new ``results_`` row, before
        ``revision`` is bumped.
        """
        with self.lock:
            self._clear()
            data = self.sampler(self._f, 1, ranges=self.x_range, n_train=self.n_train,
                                          n_test=self.n_test, seed=self.seed, dtype=torch.float64)
            model = KAN([1, 1], grid=self.grids[0], k=self.k, seed=self.seed, grid_eps=1.0,
                        dtype=torch.float64)
            xs = torch.as_tensor(self.x)[:, None]
            for n, G in enumerate(self.grids):
                t0 = time.perf_counter()
                if n:
                    model.refine(G)  # grid extension: the old curve, least squares on G intervals
                # after the first fit the grid already sits on the data: no grid updates
                model.fit(data, steps=self.steps, update_grid=(n == 0), progress=False)
                h = model.history_
                row = {"G": G, "kan_train_rmse": h["train_rmse"][-1],
                       "kan_test_rmse": h["test_rmse"][-1],
                       "spline_test_rmse": self._best_spline_rmse(data, G),
                       "n_params": G + self.k, "seconds": time.perf_counter() - t0}
                self.results_.append(row)
                self.curves_[G] = model.predict(xs)[:, 0].numpy()
                self.knots_[G] = model.layers[0].knots[0].numpy().copy()
                self.model_ = model
                self._update(shown_G=G)
                if callback is not None:
                    callback(row)
                self._changed()
        return self

    def _best_spline_rmse(self, data, G) -> float:
        """Test RMSE of the least-squares spline on a uniform G-interval grid."""
        knots = extend_grid(grid_from_samples(data.X_train, G, 1.0), self.k)
        coef = fit_coef(data.X_train, data.y_train[:, :, None], knots, self.k, ridge=1e-14)
        pred = bspline_basis(data.X_test, knots, self.k)[:, 0] @ coef[0, 0]
        return float((pred - data.y_test[:, 0]).pow(2).mean().sqrt())

    def show(self, G: int):
        """Draw the fit on grid ``G`` against the coarse one; returns self."""
        with self.lock:
            if G not in self.curves_:
                raise ValueError(f"no fit on G={G}; computed grids: {list(self.curves_)}")
            self._update(shown_G=int(G))
            self._changed()
        return self

    # ------------------------------------------------------------------ reading
    @property
    def done(self) -> bool:
        """Whether ``run`` has fitted every grid of ``grids``."""
        return len(self.results_) == len(self.grids)

    @property
    def x(self) -> np.ndarray:
        """400 evenly spaced plot points over ``x_range``."""
        return np.linspace(self.x_range[0], self.x_range[1], 400)

    def target_values(self, x=None) -> np.ndarray:
        """The target on ``x`` (default ``self.x``)."""
        x = self.x if x is None else np.asarray(x, float)
        with torch.no_grad():
            return self._f(torch.as_tensor(x, dtype=torch.float64)[:, None]).double().numpy()

    def grid_points(self, G: int) -> np.ndarray:
        """The ``G + 1`` grid points of the fit on grid ``G`` (its knots without extension)."""
        t = self.knots_[G]
        return t[self.k: len(t) - self.k]

    @property
    def theory_slope(self) -> int:
        """The predicted log-log slope of RMSE against G, ``-(k + 1)``."""
        return -(self.k + 1)

    def slope(self, which: str = "kan") -> float:
        """Least-squares slope of log(test RMSE) against log(G), without the coarsest grid
        (it is usually before the asymptotic regime).

        ``which``: ``"kan"`` (the trained KAN) or ``"spline"`` (the least-squares spline).
        """
        keys = {"kan": "kan_test_rmse", "spline": "spline_test_rmse"}
        if which not in keys:
            raise ValueError(f"which must be 'kan' or 'spline'; got {which!r}")
        rows = self.results_[1:] if len(self.results_) > 2 else self.results_
        if len(rows) < 2:
            return float("nan")
        lg = np.log([r["G"] for r in rows])
        le = np.log([max(r[keys[which]], 1e-300) for r in rows])
        return float(np.polyfit(lg, le, 1)[0])

    def describe(self) -> str:
        done = ", ".join(f"G={r['G']}: {r['kan_test_rmse']:.1e}" for r in self.results_)
        slope = "" if len(self.results_) < 2 else (
            f", slope {self.slope():.2f} (theory {self.theory_slope})")
        return (f"target={self.target!r}, k={self.k}, grids={self.grids}"
                f"{', ' + done if done else ''}{slope}")
