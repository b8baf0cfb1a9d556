"""B-spline bases on per-input knot vectors.

Conventions (shared by the whole package)
-----------------------------------------
* A *grid* of ``G`` intervals on one input is ``G + 1`` increasing points. It is *extended*
  by ``k`` points on each side (same spacing as the first/last interval), giving a knot vector
  of ``G + 2k + 1`` points, shape ``(n_in, G + 2k + 1)`` for a layer.
* On such a knot vector there are ``G + k`` B-splines of order ``k`` (degree ``k``; ``k = 3``
  is cubic). ``B_c`` is supported on ``[t_c, t_{c+k+1})``.
* Outside ``[t_0, t_last)`` every basis function is zero (as in pykan): the grid update keeps the
  data inside the grid.

One reference, one fast path
----------------------------
``bspline_basis`` here: the full Cox-de Boor recursion, dense output. Clear and exact; the
reference for tests, the least-squares grid fits (``grid.fit_coef``) and the tables below.

``span_tables``: the fast local evaluation of the layer (per-span polynomial tables built once
per grid from this reference, with a closed form for uniform grids), values and derivatives
of any order. Everything evaluating a layer goes through ``KANLayer.features``.
"""

from __future__ import annotations

import torch

__all__ = [
    "extend_grid",
    "uniform_grid",
    "bspline_basis",
    "is_uniform",
]


def uniform_grid(n_in: int, G: int, grid_range=(-1.0, 1.0), k: int = 3, *, dtype=None,
                 device=None) -> torch.Tensor:
    """Extended uniform knot vectors.

    Returns
    -------
    torch.Tensor, shape (n_in, G + 2k + 1)
    """
    lo, hi = float(grid_range[0]), float(grid_range[1])
    g = torch.linspace(lo, hi, G + 1, dtype=dtype or torch.get_default_dtype(), device=device)
    return extend_grid(g.expand(n_in, G + 1).contiguous(), k)


def extend_grid(grid: torch.Tensor, k: int) -> torch.Tensor:
    """Extend ``(n_in, G + 1)`` grid points by ``k`` knots each side -> ``(n_in, G + 2k + 1)``.

    The extension repeats the first and last interval widths, as pykan does.
    """
    h_lo = grid[:, 1:2] - grid[:, 0:1]  # (n_in, 1)
    h_hi = grid[:, -1:] - grid[:, -2:-1]
    steps = torch.arange(1, k + 1, dtype=grid.dtype, device=grid.device)  # (k,)
    left = grid[:, 0:1] - h_lo * steps.flip(0)  # (n_in, k)
    right = grid[:, -1:] + h_hi * steps
    return torch.cat([left, grid, right], dim=1)


def is_uniform(knots: torch.Tensor, rtol: float = 1e-6) -> bool:
    """Whether every row of ``knots`` (n_in, M) is evenly spaced (to ``rtol`` of the span)."""
    d = knots.diff(dim=1)
    span = (knots[:, -1] - knots[:, 0]).abs().clamp_min(1e-30)
    return bool(((d - d[:, :1]).abs() <= rtol * span[:, None]).all())


def bspline_basis(x: torch.Tensor, knots: torch.Tensor, k: int) -> torch.Tensor:
    """All B-splines of order ``k`` at ``x`` by the Cox-de Boor recursion.

    Parameters
    ----------
    x : (batch, n_in)
    knots : (n_in, G + 2k + 1) extended knot vectors
    k : order (degree) of the splines

    Returns
    -------
    torch.Tensor, shape (batch, n_in, G + k)
    """
    xe = x.unsqueeze(-1)  # (B, n_in, 1)
    t = knots.unsqueeze(0)  # (1, n_in, M)
    # order 0: indicator of each knot interval
    B = ((xe >= t[..., :-1]) & (xe < t[..., 1:])).to(x.dtype)  # (B, n_in, M - 1)
    for p in range(1, k + 1):
        left = (xe - t[..., : -(p + 1)]) / (t[..., p:-1] - t[..., : -(p + 1)])
        right = (t[..., p + 1 :] - xe) / (t[..., p + 1 :] - t[..., 1:-p])
        B = left * B[..., :-1] + right * B[..., 1:]
    return B
