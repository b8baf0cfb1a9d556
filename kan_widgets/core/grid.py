"""Grids from samples, grid update and grid extension, with a deterministic least squares.

pykan solves these least-squares problems with ``torch.linalg.lstsq``'s default CPU driver
(gelsy), which is not deterministic. Here the normal equations of each *input* (the basis
matrix is shared by all of that input's edges) are solved by Cholesky in float64 with a tiny
ridge: deterministic, and one factorisation per input instead of one solve per edge.
"""

from __future__ import annotations

import torch

from .bspline import bspline_basis, extend_grid

__all__ = ["fit_coef", "grid_from_samples", "update_layer_grid"]


def fit_coef(x: torch.Tensor, y: torch.Tensor, knots: torch.Tensor, k: int,
             ridge: float = 1e-8) -> torch.Tensor:
    """Least-squares spline coefficients of curves sampled at ``x``.

    Parameters
    ----------
    x : (n_samples, n_in)
    y : (n_samples, n_in, n_out) target values of each edge's curve
    knots : (n_in, G + 2k + 1)
    ridge : Tikhonov weight, relative to the mean diagonal of the normal matrix

    Returns
    -------
    torch.Tensor, shape (n_in, n_out, G + k), dtype of ``y``
    """
    A = bspline_basis(x.double(), knots.double(), k).transpose(0, 1)  # (n_in, N, K)
    Y = y.double().transpose(0, 1)  # (n_in, N, n_out)
    AtA = A.transpose(1, 2) @ A  # (n_in, K, K)
    scale = AtA.diagonal(dim1=1, dim2=2).mean(-1).clamp_min(1e-12)  # (n_in,)
    eye = torch.eye(AtA.shape[-1], dtype=AtA.dtype, device=AtA.device)
    AtA = AtA + (ridge * scale)[:, None, None] * eye
    L, info = torch.linalg.cholesky_ex(AtA)
    if bool(info.any()) or not bool(torch.isfinite(AtA).all()):
        lo, hi = float(knots[:, k].min()), float(knots[:, -k - 1].max())
        raise ValueError(
            f"the spline least-squares fit failed: the grid spans [{lo:.3g}, {hi:.3g}] and the "
            f"samples [{float(x.min()):.3g}, {float(x.max()):.3g}], beyond what float64 can "
            "solve. Rescale the inputs (e.g. standardise each column)")
    coef = torch.cholesky_solve(A.transpose(1, 2) @ Y, L)  # (n_in, K, n_out)
    return coef.transpose(1, 2).to(y.dtype).contiguous()


def grid_from_samples(x: torch.Tensor, G: int, grid_eps: float) -> torch.Tensor:
    """``G + 1`` grid points per input from samples: quantiles blended with uniform.

    Parameters
    ----------
    x : (n_samples, n_in)

    Returns
    -------
    torch.Tensor, shape (n_in, G + 1)
    """
    xs = torch.sort(x, dim=0).values  # (N, n_in)
    N = xs.shape[0]
    ids = [int(N / G * i) for i in range(G)] + [N - 1]
    adaptive = xs[ids, :].T  # (n_in, G + 1)
    lo, hi = adaptive[:, :1], adaptive[:, -1:]
    steps = torch.arange(G + 1, dtype=x.dtype, device=x.device)
    uniform = lo + (hi - lo) / G * steps
    grid = grid_eps * uniform + (1 - grid_eps) * adaptive
    # degenerate inputs (a constant column) still need an increasing grid
    width = (hi - lo).clamp_min(1e-6)
    flat = (hi - lo) < 1e-6
    if flat.any():
        centred = lo - width / 2 + width / G * steps
        grid = torch.where(flat, centred, grid)
    # strictly increasing even with repeated sample values
    return torch.cummax(grid + 1e-9 * width * steps, dim=1).values


def _fit_points(x: torch.Tensor, knots: torch.Tensor, k: int) -> torch.Tensor:
    """Samples plus an even sweep of the new grid's data interval (keeps the fit well posed
    when the grid has more intervals than there are distinct samples)."""
    G = knots.shape[1] - 2 * k - 1
    lo, hi = knots[:, k], knots[:, -k - 1]  # (n_in,)
    t = torch.linspace(0, 1, 2 * G + 1, dtype=x.dtype, device=x.device)[:, None]
    sweep = lo + (hi - lo) * t * (1 - 1e-9)  # (2G + 1, n_in)
    return torch.cat([x, sweep], dim=0)


def update_layer_grid(layer, x: torch.Tensor, G: int | None = None) -> None:
    """Move ``layer``'s grid to the samples ``x`` (n_samples, n_in), keeping its curves.

    With ``G`` different from the current number of intervals this is grid extension.
    Only the spline part is refitted; base, scales and symbolic edges are untouched.
    """
    G = layer.G if G is None else int(G)
    with torch.no_grad():
        new_knots = extend_grid(grid_from_samples(x, G, layer.grid_eps), layer.k)
        if not bool(torch.isfinite(new_knots).all()):
            raise ValueError(
                f"cannot place a grid on samples spanning [{float(x.min()):.3g}, "
                f"{float(x.max()):.3g}]: the grid overflows {x.dtype}. Rescale the inputs "
                "(e.g. standardise each column)")
        pts = _fit_points(x, new_knots, layer.k)
        y = layer.spline_values(pts)  # (N', n_in, n_out) old curves
        coef = fit_coef(pts, y, new_knots, layer.k)
        # in place when the shape allows (an optimiser may hold flat views of the parameters),
        # otherwise through .data, so optimisers holding the parameter keep working
        if coef.shape == layer.coef.shape:
            layer.coef.copy_(coef)
        else:
            layer.coef.data = coef
        layer.knots = new_knots.to(layer.knots.dtype)
        layer.grid_changed()

