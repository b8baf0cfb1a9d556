"""``BSplineState``: the numbers behind ``BSplineExplorer``, without widgets.

B-splines from scratch, the way a KAN edge uses them: the ``G + k`` basis functions of order
``k`` and their sum (partition of unity); the Cox-de Boor recursion at one level ``p``
(``0..k``); a curve ``sum_i c_i B_i(x)`` with its control polygon; the samples and where the
grid puts its points (``grid_eps``: 1 = uniform, 0 = at sample quantiles, the backend's
convention).

Knots come from the backend (``grid_from_samples`` + ``extend_grid``); the recursion is
written out here in numpy so each level can be drawn, and the tests check it against the
backend's ``bspline_basis``.
"""

from __future__ import annotations

import numpy as np
import torch
from traitlets import Float, Int, Tuple

from ..core.bspline import extend_grid
from ..core.edges import as_edge
from ..core.grid import fit_coef, grid_from_samples
from .teaching_common import TeachingState

__all__ = ["BSplineState", "cox_de_boor_levels", "greville", "N_PER", "ORDER_NAMES"]

N_PER = 16  # plot samples per knot interval: every function is drawn at the same resolution
ORDER_NAMES = ["constant", "linear", "quadratic", "cubic", "quartic", "quintic"]


def cox_de_boor_levels(x, knots, k: int) -> list[np.ndarray]:
    """All levels of the Cox-de Boor recursion on one knot vector.

    Returns ``[B^0, ..., B^k]``; ``B^p`` has shape ``(len(x), len(knots) - 1 - p)`` and column
    ``i`` is ``B_{i,p}``, supported on ``[t_i, t_{i+p+1})``.
    """
    x = np.asarray(x, dtype=float)[:, None]
    t = np.asarray(knots, dtype=float)
    B = ((x >= t[:-1]) & (x < t[1:])).astype(float)  # order 0: interval indicators
    levels = [B]
    for p in range(1, k + 1):
        left = (x - t[: -(p + 1)]) / (t[p:-1] - t[: -(p + 1)])
        right = (t[p + 1:] - x) / (t[p + 1:] - t[1:-p])
        B = left * B[:, :-1] + right * B[:, 1:]
        levels.append(B)
    return levels


def greville(knots, k: int) -> np.ndarray:
    """Greville abscissae: where the control value ``c_i`` sits under its basis function."""
    t = np.asarray(knots, dtype=float)
    n = len(t) - k - 1
    if k == 0:  # no interior knots to average: the middle of the support
        return (t[:-1] + t[1:]) / 2
    return np.array([t[i + 1: i + k + 1].mean() for i in range(n)])


def _default_samples(n=600, seed=0) -> np.ndarray:
    """Samples in [0, 1] crowded on the left, so a data-adaptive grid visibly differs."""
    rng = np.random.default_rng(seed)
    u = np.concatenate([rng.normal(0.3, 0.08, int(n * 0.7)), rng.uniform(0, 1, n - int(n * 0.7))])
    return np.clip(u, 0, 1)


class BSplineState(TeachingState):
    """B-spline bases, the Cox-de Boor recursion and a spline curve, as numbers.

    Parameters
    ----------
    model : KAN, optional
        Open on a trained edge: its knots, ``k``, coefficients ``coef[src, dst]`` and the
        inputs that reach it (from the model's last ``fit``).
    edge : EdgeId or (layer, src, dst), optional
        The edge of ``model`` (default ``(0, 0, 0)``).
    k, G, grid_range, grid_eps : initial order, intervals, range and grid blend (without model)
    samples : array, optional
        1-D samples that a data-adaptive grid follows; default a seeded lopsided cloud that
        stretches with ``grid_range``.

    Traits (read-only; change them with ``set``, ``select``, ...)
    -------------------------------------------------------------
    k, G, grid_range, grid_eps : the grid
    level : the Cox-de Boor level shown (``0..k``)
    selected : the highlighted basis function / coefficient
    revision : bumped after every change

    Attributes
    ----------
    knots : (G + 2k + 1,) extended knot vector; ``grid`` is its middle ``G + 1`` points
    coef : (G + k,) coefficients of the curve
    edge : the model's EdgeId, or None
    edge_values : (x, y) of the trained edge's spline part at its inputs, or None

    Notes
    -----
    Changing ``k``, ``G`` or ``grid_eps`` refits the coefficients by least squares so the
    curve keeps its shape (what ``KAN.refine`` does); changing ``grid_range`` keeps the
    coefficients, so the curve stretches with the grid.
    """

    K_MAX, G_MAX = 5, 30
    k = Int(3, read_only=True)
    G = Int(5, read_only=True)
    grid_range = Tuple((-1.0, 1.0), read_only=True)
    grid_eps = Float(1.0, read_only=True)
    level = Int(3, read_only=True)
    selected = Int(0, read_only=True)

    def __init__(self, model=None, edge=None, *, k=3, G=5, grid_range=(-1.0, 1.0), grid_eps=1.0,
                 samples=None, seed=0):
        super().__init__()
        self.edge = None
        self.edge_values = None
        self._u = _default_samples(seed=seed)
        self._fixed_samples = None if samples is None else np.asarray(samples, float).ravel()
        if model is not None:
            self._init_from_edge(model, (0, 0, 0) if edge is None else edge)
        else:
            self._check(k, G, grid_range, grid_eps)
            self._update(k=int(k), G=int(G), grid_eps=float(grid_eps),
                         grid_range=(float(grid_range[0]), float(grid_range[1])))
            self.knots = self._make_knots()
            # a smooth starting curve: one period of a sine over the grid range
            g = greville(self.knots, self.k)
            lo, hi = self.grid_range
            self.coef = np.sin(2 * np.pi * (g - lo) / (hi - lo))
        self._update(level=self.k, selected=0)
        # the starting state, for reset(); knots kept as given (a trained edge's own grid)
        self._start = (self.k, self.G, self.grid_range, self.grid_eps, self.knots, self.coef)

    def _check(self, k, G, grid_range, grid_eps):
        if not (isinstance(k, (int, np.integer)) and 0 <= k <= max(self.K_MAX, self.k)):
            raise ValueError(f"k must be an int in 0..{self.K_MAX}; got {k!r}")
        if not (isinstance(G, (int, np.integer)) and G >= 1):
            raise ValueError(f"G must be an int >= 1; got {G!r}")
        if not float(grid_range[0]) < float(grid_range[1]):
            raise ValueError(f"grid_range must be (low, high) with low < high; got {grid_range!r}")
        if not 0.0 <= float(grid_eps) <= 1.0:
            raise ValueError(f"grid_eps must be in [0, 1]; got {grid_eps!r}")

    def _init_from_edge(self, model, edge):
        l, i, j = self.edge = as_edge(edge, model.width)
        layer = model.layers[l]
        knots = layer.knots[i].detach().double().cpu().numpy().copy()
        self._update(k=layer.k, G=layer.G, grid_eps=float(layer.grid_eps),
                     grid_range=(float(knots[layer.k]), float(knots[-layer.k - 1])))
        self.knots = knots
        self.coef = layer.coef[i, j].detach().double().cpu().numpy().copy()
        with torch.no_grad():
            if model.X_fit_ is not None:
                xin = model.layer_inputs(model.X_fit_)[l]  # what reaches this layer in training
                self._fixed_samples = xin[:, i].double().cpu().numpy()
            pts = self._fixed_samples if self._fixed_samples is not None else self.x
            xs = np.sort(pts)
            xl = torch.zeros(len(xs), layer.n_in, dtype=layer.knots.dtype)
            xl[:, i] = torch.as_tensor(xs, dtype=xl.dtype)
            ys = layer.spline_values(xl)[:, i, j].double().cpu().numpy()
        self.edge_values = (xs, ys)

    # ------------------------------------------------------------------ reading
    @property
    def samples(self) -> np.ndarray:
        """The 1-D samples the data-adaptive grid follows (x units)."""
        if self._fixed_samples is not None:
            return self._fixed_samples
        lo, hi = self.grid_range
        return lo + (hi - lo) * self._u

    @property
    def n_basis(self) -> int:
        """Number of basis functions, ``G + k``."""
        return self.G + self.k

    @property
    def grid(self) -> np.ndarray:
        """The ``G + 1`` grid points (the knots without the ``k`` extension knots each side)."""
        return self.knots[self.k: len(self.knots) - self.k]

    @property
    def x(self) -> np.ndarray:
        """Plot points: ``N_PER`` per knot interval over the whole extended knot vector."""
        t = self.knots
        s = np.linspace(0.0, 1.0 - 1e-9, N_PER)  # half-open intervals, as the basis is
        return (t[:-1, None] + np.diff(t)[:, None] * s).ravel()

    def _make_knots(self) -> np.ndarray:
        lo, hi = self.grid_range
        s = self.samples
        s = s[(s >= lo) & (s <= hi)]
        # the range ends join the samples, so the grid spans exactly grid_range
        pts = torch.as_tensor(np.concatenate([[lo], s, [hi]]), dtype=torch.float64)[:, None]
        grid = grid_from_samples(pts, self.G, self.grid_eps)
        return extend_grid(grid, self.k)[0].numpy()

    def basis_values(self, x=None) -> np.ndarray:
        """``B_i(x)`` of order ``k``: shape ``(len(x), G + k)``; ``x`` defaults to ``self.x``."""
        return self.level_values(self.k, x)

    def level_values(self, p: int, x=None) -> np.ndarray:
        """Level ``p`` of the Cox-de Boor recursion: ``(len(x), G + 2k - p)`` functions."""
        if not 0 <= p <= self.k:
            raise ValueError(f"level must be in 0..{self.k}; got {p}")
        return cox_de_boor_levels(self.x if x is None else x, self.knots, self.k)[p]

    def partition_sum(self, x=None) -> np.ndarray:
        """``sum_i B_i(x)``: 1 on the grid range, falling off over the extension knots."""
        return self.basis_values(x).sum(1)

    def curve_values(self, x=None) -> np.ndarray:
        """The curve ``sum_i c_i B_i(x)``."""
        return self.basis_values(x) @ self.coef

    # ------------------------------------------------------------------ commands
    def set(self, k=None, G=None, grid_range=None, grid_eps=None, level=None):
        """Change any of the slider values (None = keep); returns self."""
        with self.lock:
            k = self.k if k is None else int(k)
            G = self.G if G is None else int(G)
            rng = self.grid_range if grid_range is None else tuple(float(v) for v in grid_range)
            eps = self.grid_eps if grid_eps is None else float(grid_eps)
            self._check(k, G, rng, eps)
            if level is not None and not 0 <= int(level) <= k:
                raise ValueError(f"level must be in 0..{k}; got {level}")
            new_order = k != self.k
            if (k, G, eps, rng) != (self.k, self.G, self.grid_eps, self.grid_range):
                self._regrid(k, G, rng, eps)
            if level is not None:
                self._update(level=int(level))
            elif new_order:
                self._update(level=self.k)  # a new order shows its top level, the basis itself
            self._changed()
        return self

    def _regrid(self, k, G, rng, eps):
        """New knots; a new ``k``, ``G`` or ``grid_eps`` refits the coefficients."""
        refit = (k, G, eps) != (self.k, self.G, self.grid_eps)
        old_knots, old_k, old_coef = self.knots, self.k, self.coef
        self._update(k=k, G=G, grid_range=rng, grid_eps=eps)
        self.knots = self._make_knots()
        if refit:  # keep the curve: least squares on the new basis, as refine does
            x = self.x[self.k * N_PER: (self.k + self.G) * N_PER]  # grid-range points
            y = cox_de_boor_levels(x, old_knots, old_k)[-1] @ old_coef
            c = fit_coef(torch.as_tensor(x)[:, None], torch.as_tensor(y)[:, None, None],
                         torch.as_tensor(self.knots)[None], self.k)
            self.coef = c[0, 0].numpy()
        self._update(selected=min(self.selected, self.n_basis - 1),
                     level=min(self.level, self.k))

    def set_coef(self, i: int, value: float):
        """Set one coefficient ``c_i`` (and select it); returns self."""
        with self.lock:
            if not 0 <= int(i) < self.n_basis:
                raise IndexError(f"coefficient index must be in 0..{self.n_basis - 1}; got {i}")
            coef = self.coef.copy()
            coef[int(i)] = float(value)
            self.coef = coef
            self._update(selected=int(i))
            self._changed()
        return self

    def set_coefs(self, values):
        """Set all ``G + k`` coefficients at once; returns self."""
        values = np.asarray(values, dtype=float).ravel()
        if values.shape != (self.n_basis,):
            raise ValueError(f"need {self.n_basis} coefficients (G + k); got {values.shape[0]}")
        with self.lock:
            self.coef = values.copy()
            self._changed()
        return self

    def select(self, i: int):
        """Highlight basis function / control value ``i``; returns self."""
        with self.lock:
            self._update(selected=int(np.clip(i, 0, self.n_basis - 1)))
            self._changed()
        return self

    def ones(self):
        """All coefficients 1: by the partition of unity the curve is 1 on the grid range."""
        return self.set_coefs(np.ones(self.n_basis))

    def randomize(self, seed=None):
        """Random coefficients in [-1, 1]; returns self."""
        return self.set_coefs(np.random.default_rng(seed).uniform(-1, 1, self.n_basis))

    def reset(self):
        """Back to the starting grid and coefficients (the trained edge's, in model mode)."""
        with self.lock:
            k, G, rng, eps, knots, coef = self._start
            self.knots, self.coef = knots.copy(), coef.copy()
            self._update(k=k, G=G, grid_range=rng, grid_eps=eps, level=k,
                         selected=min(self.selected, G + k - 1))
            self._changed()
        return self

    def describe(self) -> str:
        src = f", edge={tuple(self.edge)}" if self.edge is not None else ""
        return (f"k={self.k}, G={self.G}, grid_range={self.grid_range}, "
                f"grid_eps={self.grid_eps}{src}")
