"""``ContinualLearningState``: the numbers behind ``ContinualLearningDemo``, without widgets.

The KAN paper's continual-learning toy (its Figure 3.4): a 1-D target made of Gaussian peaks
is shown one region at a time, left to right, and the model only ever sees the current
region. A KAN edge is a spline, and a B-spline basis function is non-zero on ``k + 1`` grid
intervals only, so training on one region leaves the curve elsewhere untouched: the KAN keeps
the peaks it saw earlier. An MLP's units are global functions, so fitting the new region
moves the old ones: it forgets. Both are trained the same way (L-BFGS, same steps, same data).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from traitlets import Int

from ..core.mlp import MLP
from ..core.network import KAN
from ..core.validation import check_int, check_number
from .teaching_common import TeachingState

__all__ = ["ContinualLearningState"]


class ContinualLearningState(TeachingState):
    """A KAN and an MLP trained phase by phase on the regions of a peaked target.

    Parameters
    ----------
    n_peaks : int
        Peaks of the target, evenly spaced in ``[-1, 1]``; also the number of phases (each
        phase's region holds one peak).
    peak_width : float
        Standard deviation of each Gaussian peak.
    grid : int
        Grid intervals of the KAN's one edge (``KAN([1, 1])``; fine, so a phase touches only
        its own coefficients).
    mlp_width : int
        Units of the MLP's two hidden layers (``MLP([1, w, w, 1])``, tanh).
    steps : int
        L-BFGS steps per phase, for both models.
    n_per_phase : int
        Training samples per phase (evenly spaced in the phase's region).
    seed : int
        Seed of both models' initialisation.

    Traits (read-only)
    ------------------
    phase : phases trained so far, ``0 .. n_peaks``
    shown : the phase whose curves are drawn (``0`` before any, else ``1 .. phase``)
    revision : bumped after each command

    Attributes
    ----------
    results_ : list of dict, one per phase trained: ``phase``, ``region`` (lo, hi),
        ``kan_seen_rmse`` / ``mlp_seen_rmse`` (RMSE on every region seen so far),
        ``kan_old_rmse`` / ``mlp_old_rmse`` (on the regions before this one; nan in phase 1),
        ``seconds``
    curves_ : dict phase -> {"kan": (400,), "mlp": (400,)} predictions on ``x``
    kan_, mlp_ : the two models (trained up to ``phase``)
    """

    phase = Int(0, read_only=True)
    shown = Int(0, read_only=True)

    def __init__(self, n_peaks=5, peak_width=0.05, grid=200, mlp_width=32, steps=20,
                 n_per_phase=200, seed=0):
        super().__init__()
        self.n_peaks = check_int("n_peaks", n_peaks, 1)
        self.peak_width = check_number("peak_width", peak_width)
        if not 0 < self.peak_width < 1:
            raise ValueError(f"peak_width must be a number in (0, 1); got {peak_width!r}")
        self.grid = check_int("grid", grid, 1)
        self.mlp_width = check_int("mlp_width", mlp_width, 1)
        self.steps = check_int("steps", steps, 1)
        self.n_per_phase = check_int("n_per_phase", n_per_phase, 2)
        self.seed = check_int("seed", seed, 0)
        self.centers = np.linspace(-1, 1, 2 * self.n_peaks + 1)[1::2]  # one per region
        self.reset()

    # ------------------------------------------------------------------ commands
    def reset(self):
        """New, untrained models; no phase trained. Returns self."""
        with self.lock:
            # base_fun="zero" and frozen scales: every parameter left is a local spline
            # coefficient (silu's weight and the spline scale would act on the whole line)
            self.kan_ = KAN([1, 1], grid=self.grid, k=3, seed=self.seed, base_fun="zero",
                            sb_trainable=False, sp_trainable=False, noise_scale=0.0,
                            grid_eps=1.0, dtype=torch.float64)
            self.mlp_ = MLP([1, self.mlp_width, self.mlp_width, 1], activation="tanh",
                            seed=self.seed, dtype=torch.float64)
            self.results_, self.curves_ = [], {}
            self._update(phase=0, shown=0)
            self._changed()
        return self

    def next_phase(self):
        """Train both models on the next region only. Returns self.

        Raises ``ValueError`` after the last phase (``reset`` starts again).
        """
        with self.lock:
            if self.phase >= self.n_peaks:
                raise ValueError(f"all {self.n_peaks} phases are trained; reset() to start again")
            n = self.phase + 1
            t0 = time.perf_counter()
            X = torch.linspace(*self.region(n), self.n_per_phase, dtype=torch.float64)[:, None]
            y = self.target(X)[:, None]
            # update_grid=False: the KAN's grid stays on [-1, 1], not on this region's samples
            self.kan_.fit(X, y, steps=self.steps, update_grid=False, progress=False)
            self.mlp_.fit(X, y, steps=self.steps, progress=False)
            x = torch.as_tensor(self.x)[:, None]
            self.curves_[n] = {"kan": self.kan_.predict(x)[:, 0].numpy(),
                               "mlp": self.mlp_.predict(x)[:, 0].numpy()}
            row = {"phase": n, "region": self.region(n), "seconds": time.perf_counter() - t0}
            for name in ("kan", "mlp"):
                row[f"{name}_seen_rmse"] = self._rmse(name, n, upto=n)
                row[f"{name}_old_rmse"] = self._rmse(name, n, upto=n - 1)
            self.results_.append(row)
            self._update(phase=n, shown=n)
            self._changed()
        return self

    def run(self):
        """Train every remaining phase. Returns self."""
        while self.phase < self.n_peaks:
            self.next_phase()
        return self

    def show(self, phase: int):
        """Draw the curves as they were after ``phase`` (1 .. ``phase`` trained). Returns self."""
        with self.lock:
            if phase not in self.curves_:
                raise ValueError(f"phase {phase!r} is not trained; trained: {list(self.curves_)}")
            self._update(shown=int(phase))
            self._changed()
        return self

    # ------------------------------------------------------------------ reading
    @property
    def x(self) -> np.ndarray:
        """400 evenly spaced plot points over ``[-1, 1]``."""
        return np.linspace(-1.0, 1.0, 400)

    def region(self, phase: int) -> tuple[float, float]:
        """The interval phase ``phase`` (1-based) trains on."""
        w = 2.0 / self.n_peaks
        return (-1.0 + w * (phase - 1), -1.0 + w * phase)

    def target(self, x):
        """The peaked target on ``x``: tensor ``(N, 1)`` -> ``(N,)``, or numpy ``(N,)`` ->
        ``(N,)``."""
        if isinstance(x, torch.Tensor):
            x = x[:, 0]
            return sum(torch.exp(-(x - c) ** 2 / (2 * self.peak_width ** 2)) for c in self.centers)
        x = np.asarray(x, float)
        return sum(np.exp(-(x - c) ** 2 / (2 * self.peak_width ** 2)) for c in self.centers)

    def _rmse(self, name, phase, upto) -> float:
        """RMSE of ``name``'s curve after ``phase`` on the regions 1..``upto``."""
        if upto < 1:
            return float("nan")
        x = self.x
        seen = x <= self.region(upto)[1]
        err = self.curves_[phase][name][seen] - self.target(x[seen])
        return float(np.sqrt(np.mean(err ** 2)))

    def describe(self) -> str:
        last = self.results_[-1] if self.results_ else None
        done = "" if last is None else (
            f", seen RMSE KAN {last['kan_seen_rmse']:.1e} MLP {last['mlp_seen_rmse']:.1e}")
        return (f"n_peaks={self.n_peaks}, grid={self.grid}, mlp_width={self.mlp_width}, "
                f"steps={self.steps}, phase={self.phase}{done}")
