"""User search ranges of the affine fit (pykan's ``a_range``, ``b_range``): the ``range``
search grid over raw ``(a, b)`` and the projection that keeps the polish inside it. See
``core.affine_fit`` for how they are used."""

from __future__ import annotations

import math

import torch

from .functions import SearchSpec

__all__ = ["check_range", "range_spec", "projector", "RANGE_GRID_POINTS", "PYKAN_RANGE"]

RANGE_GRID_POINTS = 4_000  # most grid points of a user-range search (pykan: 101 x 101)
PYKAN_RANGE = (-10.0, 10.0)  # pykan's default a_range and b_range
_RANGE_STEP = 0.5  # target move of the argument between grid neighbours, across the samples


def check_range(r, what):
    """``(low, high)`` as two floats, finite with ``low <= high``; else a ValueError."""
    try:
        lo, hi = (float(v) for v in r)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a pair (low, high) of numbers, like (-40, 40); got "
                         f"{r!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ValueError(f"{what} must be (low, high) with finite low <= high; got {r!r}")
    return lo, hi


def range_spec(a_range, b_range, prob):
    """The ``range`` search grid over raw ``(a, b)``: neighbouring points move the argument
    by about ``_RANGE_STEP`` on the widest edge, at most ``RANGE_GRID_POINTS`` points."""
    h, m = float(prob.h.max()), float(prob.m.abs().max())
    (a_lo, a_hi), (b_lo, b_hi) = a_range, b_range
    n_a = (a_hi - a_lo) * (h + m) / _RANGE_STEP
    n_b = (b_hi - b_lo) / _RANGE_STEP
    shrink = min(1.0, math.sqrt(RANGE_GRID_POINTS / max((n_a + 1) * (n_b + 1), 1.0)))
    n_a = 1 if a_hi == a_lo else max(5, math.ceil(n_a * shrink) + 1)
    n_b = 1 if b_hi == b_lo else max(5, math.ceil(n_b * shrink) + 1)
    th1 = tuple(torch.linspace(a_lo, a_hi, n_a, dtype=torch.float64).tolist())
    th2 = tuple(torch.linspace(b_lo, b_hi, n_b, dtype=torch.float64).tolist())
    return SearchSpec("range", th1, th2)


def projector(a_range, b_range, prob):
    """``(alpha, beta) -> (alpha, beta)`` with the raw ``(a, b)`` clamped into the ranges
    (E, K) tensors; keeps the polish inside the user's rectangle."""
    m, h = prob.m[:, None], prob.h[:, None]

    def project(alpha, beta):
        a = (alpha / h).clamp(*a_range)
        b = (beta - alpha * m / h).clamp(*b_range)
        return a * h, b + a * m

    return project
