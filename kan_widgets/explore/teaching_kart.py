"""``KARTState``: the numbers behind ``KARTDemo``, without widgets.

The Kolmogorov-Arnold representation theorem for functions of two variables: every
continuous ``f(x, y)`` on a square can be written with one-variable functions and sums only,
``f(x, y) = sum_q Phi_q(phi_q1(x) + phi_q2(y))``, ``q = 1 .. 5`` (2n + 1 for n = 2). A
``KAN([2, q, 1])`` has exactly that shape: its first layer's edges are the inner functions
``phi_qp``, its hidden nodes sum, its second layer's edges are the outer ``Phi_q``. The state
trains one, reads back what it found, checks a known exact decomposition where there is one,
and trains a plain MLP with the same parameter count and the same budget beside it.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn
from traitlets import Int, Unicode

from ..core.lbfgs import LBFGS
from ..core.network import KAN
from ..core.threads import scope
from .teaching_common import TeachingState, normalize_expr, parse_formula

__all__ = ["KARTState", "PRESETS", "mlp_like", "kan_param_count"]

_SQ = "<sup>2</sup>"
# formula -> input ranges, a known exact decomposition (HTML text) and the same as
# inner/outer numpy callables, so the demo can check numerically that it is exact
PRESETS = {
    "x*y": dict(ranges=((-1, 1), (-1, 1)), text=f"x&middot;y = &frac14;(x + y){_SQ} &minus; "
                f"&frac14;(x &minus; y){_SQ}: two hidden nodes, inner x, &plusmn;y, outer "
                f"&plusmn;z{_SQ}/4",
                inner=[(lambda x: x, lambda y: y), (lambda x: x, lambda y: -y)],
                outer=[lambda z: z ** 2 / 4, lambda z: -z ** 2 / 4]),
    "x/y": dict(ranges=((-1, 1), (0.5, 2)), text=f"x / y = &frac14;(x + 1/y){_SQ} &minus; "
                f"&frac14;(x &minus; 1/y){_SQ}: the product trick with inner function 1/y",
                inner=[(lambda x: x, lambda y: 1 / y), (lambda x: x, lambda y: -1 / y)],
                outer=[lambda z: z ** 2 / 4, lambda z: -z ** 2 / 4]),
    "exp(sin(pi*x)+y^2)": dict(
        ranges=((-1, 1), (-1, 1)), text=f"one hidden node: inner sin(&pi;x) and y{_SQ}, outer exp",
        inner=[(lambda x: np.sin(np.pi * x), lambda y: y ** 2)], outer=[np.exp]),
    "sqrt(x^2+y^2)": dict(
        ranges=((-1, 1), (-1, 1)), text=f"one hidden node: inner x{_SQ} and y{_SQ}, outer &radic;z",
        inner=[(lambda x: x ** 2, lambda y: y ** 2)], outer=[np.sqrt]),
    "sin(pi*x)*cos(pi*y)": dict(
        ranges=((-1, 1), (-1, 1)), text="sin(&pi;x)cos(&pi;y) = &frac12;sin(&pi;(x + y)) + "
        "&frac12;sin(&pi;(x &minus; y)): two hidden nodes, outer &frac12;sin(&pi;z)",
        inner=[(lambda x: x, lambda y: y), (lambda x: x, lambda y: -y)],
        outer=[lambda z: np.sin(np.pi * z) / 2, lambda z: np.sin(np.pi * z) / 2]),
    "x+y": dict(ranges=((-1, 1), (-1, 1)), text="already a sum: inner x and y, outer the identity",
                inner=[(lambda x: x, lambda y: y)], outer=[lambda z: z]),
}
_BY_KEY = {normalize_expr(k): k for k in PRESETS}


def kan_param_count(width, grid, k) -> int:
    """Parameters that shape a KAN's spline edges: ``G + k`` coefficients and two scales
    (``scale_base``, ``scale_sp``) per edge. The symbolic-edge affine parameters are left out:
    they do nothing on spline edges."""
    return sum(a * b for a, b in zip(width, width[1:])) * (grid + k + 2)


def mlp_like(n_params: int, n_in=2, n_out=1, seed=0):
    """A SiLU MLP ``[n_in, h, h, n_out]`` whose parameter count is closest to ``n_params``."""
    def count(h):
        return n_in * h + h + h * h + h + h * n_out + n_out

    h = min(range(1, 200), key=lambda h: abs(count(h) - n_params))
    with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG alone
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(n_in, h), nn.SiLU(), nn.Linear(h, h), nn.SiLU(),
                             nn.Linear(h, n_out))


def _rmse(pred, target) -> float:
    v = float(torch.mean((pred - target) ** 2))
    return math.sqrt(v) if math.isfinite(v) else float("nan")


class KARTState(TeachingState):
    """A small KAN on ``f(x, y)``, its inner and outer functions, and an MLP beside it.

    Parameters
    ----------
    function : str
        A formula in ``x`` and ``y``; presets (with known decompositions) are the keys of
        ``PRESETS``. Other formulas use ``x, y`` in [-1, 1].
    hidden : int
        Hidden nodes q (1..5); the theorem needs at most 2n + 1 = 5.
    grid, k : spline grid intervals and order of the KAN
    steps : LBFGS steps, for the KAN and for the MLP alike
    n_train, n_test, seed : data size and seed
    sampler : callable
        ``kan_widgets.datasets.from_function`` (or one with its signature and its ``Dataset``
        result): draws the data. The caller passes it because ``datasets`` sits above the
        explore layer (DESIGN.md layering); ``KARTDemo`` does.

    Traits (read-only; change them with ``set``)
    --------------------------------------------
    function, hidden, steps : the controls
    revision : bumped after ``set`` and after ``train``

    Attributes
    ----------
    model_ : the trained KAN; ``mlp_`` the trained MLP (None before ``train``)
    kan_rmse_, mlp_rmse_ : test RMSE of each after ``train``
    kan_seconds_, mlp_seconds_ : training times
    data : the ``Dataset`` (inputs x, y)
    preset : the ``PRESETS`` entry of ``function``, or None
    """

    MAX_HIDDEN = 5
    function = Unicode("x*y", read_only=True)
    hidden = Int(5, read_only=True)
    steps = Int(20, read_only=True)

    def __init__(self, function="x*y", hidden=5, grid=5, k=3, steps=20, n_train=500, n_test=500,
                 seed=0, *, sampler):
        super().__init__()
        self.sampler = sampler
        self.grid, self.k, self.seed = int(grid), int(k), int(seed)
        self.n_train, self.n_test = int(n_train), int(n_test)
        self.set(function=function, hidden=hidden, steps=steps)

    # ------------------------------------------------------------------ commands
    def set(self, function=None, hidden=None, steps=None):
        """Change the function, hidden nodes or steps (None = keep); forgets the trained
        models. Returns self."""
        if hidden is not None and not (isinstance(hidden, (int, np.integer))
                                       and 1 <= hidden <= self.MAX_HIDDEN):
            raise ValueError(f"hidden must be an int in 1..{self.MAX_HIDDEN}; got {hidden!r}")
        if steps is not None and int(steps) < 1:
            raise ValueError(f"steps must be >= 1; got {steps!r}")
        with self.lock:
            if function is not None:
                f, f_numpy, _ = parse_formula(function, ("x", "y"))
                preset = PRESETS.get(_BY_KEY.get(normalize_expr(function), ""), None)
                ranges = preset["ranges"] if preset else ((-1, 1), (-1, 1))
                self.data = self.sampler(f, 2, ranges=ranges, n_train=self.n_train,
                                                   n_test=self.n_test, seed=self.seed,
                                                   variables=["x", "y"])
                self._f_numpy, self.preset = f_numpy, preset
                self._update(function=str(function))
            if hidden is not None:
                self._update(hidden=int(hidden))
            if steps is not None:
                self._update(steps=int(steps))
            self.model_ = self.mlp_ = None
            self.kan_rmse_ = self.mlp_rmse_ = None
            self.kan_seconds_ = self.mlp_seconds_ = None
            self._changed()
        return self

    def train(self, callback=None):
        """Train the KAN, then the MLP with the same steps, optimizer and data. Returns self.

        ``callback(which, step, model)`` is called after each step (``which`` is "KAN" or
        "MLP"; ``model`` the network being trained).
        """
        with self.lock:
            d = self.data
            model = KAN(self.width, grid=self.grid, k=self.k, seed=self.seed)
            t0 = time.perf_counter()
            cb = None if callback is None else (lambda i: callback("KAN", i["step"], model))
            model.fit(d, steps=self.steps, progress=False, callback=cb)
            kan_seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            with scope("fit", d.X_train.shape[0] * self.kan_params):  # threads as for the KAN
                mlp = self._train_mlp(callback)
            mlp_seconds = time.perf_counter() - t0
            with torch.no_grad():
                mlp_rmse = _rmse(mlp(d.X_test), d.y_test)
            self.model_, self.kan_rmse_ = model, _rmse(model.predict(d.X_test), d.y_test)
            self.kan_seconds_, self.mlp_seconds_ = kan_seconds, mlp_seconds
            self.mlp_, self.mlp_rmse_ = mlp, mlp_rmse
            self._changed()
        return self

    def _train_mlp(self, callback=None):
        mlp = mlp_like(self.kan_params, seed=self.seed).to(self.data.X_train.dtype)
        # the optimizer KAN.fit uses (L-BFGS, 20 inner iterations per step), full batch
        opt = LBFGS(mlp.parameters(), lr=1.0, history_size=10)
        X, Y = self.data.X_train, self.data.y_train

        def closure():
            opt.zero_grad()
            loss = torch.mean((mlp(X) - Y) ** 2)
            loss.backward()
            return loss

        try:
            for s in range(self.steps):
                opt.step(closure)
                if callback is not None:
                    callback("MLP", s, mlp)
        finally:
            opt.release()
        return mlp

    # ------------------------------------------------------------------ reading
    @property
    def width(self) -> list[int]:
        """The KAN's width, ``[2, hidden, 1]``."""
        return [2, self.hidden, 1]

    @property
    def kan_params(self) -> int:
        return kan_param_count(self.width, self.grid, self.k)

    @property
    def mlp_params(self) -> int:
        return sum(p.numel() for p in mlp_like(self.kan_params).parameters())

    @property
    def mlp_shape(self) -> list[int]:
        """Widths of the trained MLP's layers, ``[2, h, h, 1]`` (empty before ``train``)."""
        if self.mlp_ is None:
            return []
        lin = [m for m in self.mlp_ if hasattr(m, "out_features")]
        return [lin[0].in_features, *[m.out_features for m in lin]]

    def exact_error(self) -> float | None:
        """Max |f - known decomposition| on the training inputs (None without a preset)."""
        if self.preset is None:
            return None
        x, y = (self.data.X_train[:, i].double().numpy() for i in range(2))
        dec = sum(P(a(x) + b(y)) for (a, b), P in zip(self.preset["inner"], self.preset["outer"]))
        return float(np.max(np.abs(dec - self._f_numpy(x, y))))

    def _model(self, model):
        model = self.model_ if model is None else model
        if model is None:
            raise RuntimeError("no trained KAN yet: call train() (or press Train)")
        return model

    def inner_functions(self, n=200, model=None) -> dict:
        """``{(q, p): (t, phi_qp(t))}`` over input ``p``'s range (p = 0 is x, 1 is y).

        ``model``: a KAN of this width other than ``model_`` (one still training)."""
        model = self._model(model)
        lo, hi = self.data.X_train.min(0).values, self.data.X_train.max(0).values
        grid = lo + (hi - lo) * torch.linspace(0, 1, n)[:, None]  # (n, 2): both inputs at once
        with torch.no_grad():
            acts = model.activations(grid, layer=0)  # (n, q, 2); edge (p->q) sees x_p only
        return {(q, p): (grid[:, p].numpy(), acts[:, q, p].numpy())
                for q in range(self.hidden) for p in range(2)}

    def outer_functions(self, n=200, model=None) -> dict:
        """``{q: (z, Phi_q(z))}`` over the range of hidden sum ``z_q`` on the training data."""
        model = self._model(model)
        with torch.no_grad():
            z = model.layer_inputs(self.data.X_train)[1]  # (N, q) hidden sums
            lo, hi = z.min(0).values, z.max(0).values
            line = lo + (hi - lo) * torch.linspace(0, 1, n)[:, None]
            acts = model.layers[1].activations(line)  # (n, 1, q)
        return {q: (line[:, q].numpy(), acts[:, 0, q].numpy()) for q in range(self.hidden)}

    def edge_importance(self, model=None) -> tuple[np.ndarray, np.ndarray]:
        """Std of every edge's output on the training data, scaled to max 1 per layer:
        inner ``(q, 2)``, outer ``(q,)``."""
        model = self._model(model)
        with torch.no_grad():
            a0, a1 = model.activations(self.data.X_train)
        s0, s1 = a0.std(0).numpy(), a1.std(0)[0].numpy()
        return s0 / max(s0.max(), 1e-12), s1 / max(s1.max(), 1e-12)

    def describe(self) -> str:
        res = ""
        if self.kan_rmse_ is not None:
            res = (f", KAN test RMSE {self.kan_rmse_:.2e} ({self.kan_params} params), MLP "
                   f"{self.mlp_rmse_:.2e} ({self.mlp_params} params)")
        return f"function={self.function!r}, width={self.width}{res}"
