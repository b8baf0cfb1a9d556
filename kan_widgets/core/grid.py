"""Grids from samples, grid update and grid extension, with a deterministic least squares.

pykan solves these least-squares problems with ``torch.linalg.lstsq``'s default CPU driver
(gelsy), which is not deterministic. Here the normal equations of each *input* (the basis
matrix is shared by all of that input's edges) are solved by Cholesky in float64 with a tiny
ridge: deterministic, and one factorisation per input instead of one solve per edge.

Large grids (more than ``BANDED_FROM`` basis functions) use the structure instead: each sample
touches only k+1 B-splines (``window_basis``), so the normal matrix is banded (half-bandwidth
k) and is accumulated, factorised and solved in band storage, in memory and time linear in G
(a dense ``(N, K)`` basis and a ``K x K`` Cholesky grow with G^2 and G^3: ``KAN([2, 1],
grid=2000)`` took 5 s and 1.75 GB that way).
"""

from __future__ import annotations

import torch

from .bspline import bspline_basis, extend_grid

__all__ = ["fit_coef", "grid_from_samples", "update_layer_grid", "window_basis", "BANDED_FROM"]

BANDED_FROM = 100  # basis functions per input from which fit_coef solves in band storage


def window_basis(x: torch.Tensor, knots: torch.Tensor, k: int, start: torch.Tensor):
    """The k+1 B-splines ``start .. start + k`` at ``x``: the columns of ``bspline_basis`` that
    can be non-zero there, with the same arithmetic (bitwise equal), in O(k^2) per sample.

    Parameters
    ----------
    x : (N, n_in)
    knots : (n_in, M) extended knot vectors
    start : (N, n_in) int64, first basis index of each sample's window (0 .. K - k - 1)

    Returns
    -------
    torch.Tensor, shape (N, n_in, k + 1)
    """
    n_in = knots.shape[0]
    offs = torch.arange(2 * k + 2, device=knots.device)
    # knots start .. start + 2k + 1 hold the supports of the window's k+1 splines
    idx = (start.unsqueeze(-1) + offs).clamp_max(knots.shape[1] - 1)  # (N, n_in, 2k+2)
    t = knots.unsqueeze(0).expand(x.shape[0], n_in, -1).gather(2, idx)
    xe = x.unsqueeze(-1)
    B = ((xe >= t[..., :-1]) & (xe < t[..., 1:])).to(x.dtype)  # (N, n_in, 2k+1)
    for p in range(1, k + 1):
        left = (xe - t[..., : -(p + 1)]) / (t[..., p:-1] - t[..., : -(p + 1)])
        right = (t[..., p + 1 :] - xe) / (t[..., p + 1 :] - t[..., 1:-p])
        B = left * B[..., :-1] + right * B[..., 1:]
    return B


def _window_start(x: torch.Tensor, knots: torch.Tensor, k: int) -> torch.Tensor:
    """First basis index of the k+1 splines that can be non-zero at each sample: (N, n_in)."""
    K = knots.shape[1] - k - 1
    span = torch.searchsorted(knots.contiguous(), x.T.contiguous(), right=True).T - 1
    return (span - k).clamp(0, K - k - 1)


def _banded_normal_equations(x, Y, knots, k):
    """Band of ``A^T A`` (n_in, K, k+1), ``[:, c, d] = (A^T A)[c, c + d]``, and ``A^T Y``
    (n_in, K, n_out), accumulated from the samples' k+1 non-zero basis values."""
    n_in, K = knots.shape[0], knots.shape[1] - k - 1
    start = _window_start(x, knots, k)  # (N, n_in)
    V = window_basis(x, knots, k, start).permute(1, 0, 2)  # (n_in, N, k+1)
    start = start.T  # (n_in, N)
    band = x.new_zeros(n_in, K * (k + 1))
    rhs = x.new_zeros(n_in, K, Y.shape[-1])
    for a in range(k + 1):
        col = start + a  # (n_in, N)
        rows = torch.arange(n_in, device=x.device)[:, None]
        rhs.index_put_((rows, col), V[..., a, None] * Y, accumulate=True)
        for d in range(k + 1 - a):
            band.scatter_add_(1, col * (k + 1) + d, V[..., a] * V[..., a + d])
    return band.view(n_in, K, k + 1), rhs


def _banded_cholesky_solve(band: torch.Tensor, rhs: torch.Tensor, block: int = 64):
    """Solve ``A c = rhs`` for symmetric positive definite banded ``A`` (band storage as
    ``_banded_normal_equations``), batched over the first axis; None when ``A`` is not
    positive definite. (n_in, K, k+1), (n_in, K, m) -> (n_in, K, m).

    In blocks of ``block`` >= k unknowns the matrix is block tridiagonal, so a block Cholesky
    (one small dense factorisation and two triangular solves per block) does it in time
    ``K * block^2`` and memory ``K * block``: linear in K.
    """
    n_in, K, w = band.shape
    k, m, dev = w - 1, rhs.shape[-1], band.device
    B = max(block, k)
    nb = -(-K // B)
    Kp = nb * B
    c = torch.arange(K, device=dev)[:, None].expand(K, w)  # column of each band entry
    r = c + torch.arange(w, device=dev)  # its row
    keep = (r < K).flatten()
    c, r = c.flatten()[keep], r.flatten()[keep]
    vals = band.reshape(n_in, -1)[:, keep]  # (n_in, nnz)
    # diagonal blocks (both triangles) and the blocks below them, as dense (n_in, nb, B, B)
    D = band.new_zeros(n_in, nb, B, B)
    E = band.new_zeros(n_in, nb, B, B)  # E[:, i] = A[block i, block i - 1]
    same = (r // B) == (c // B)
    for rows, cols, sel, out in ((r, c, same, D), (c, r, same & (r != c), D),
                                 (r, c, ~same, E)):
        out.view(n_in, -1).index_put_(
            (torch.arange(n_in, device=dev)[:, None],
             ((rows[sel] // B) * B * B + (rows[sel] % B) * B + cols[sel] % B)[None]),
            vals[:, sel])
    pad = torch.arange(K, Kp, device=dev) % B  # unknowns past K: identity rows, solution 0
    D[:, -1, pad, pad] = 1.0
    rhs = torch.cat([rhs, rhs.new_zeros(n_in, Kp - K, m)], dim=1).view(n_in, nb, B, m)
    Ls, Fs, z = [], [None], []
    for i in range(nb):
        Di = D[:, i] if i == 0 else D[:, i] - Fs[i] @ Fs[i].transpose(1, 2)
        L, info = torch.linalg.cholesky_ex(Di)
        if bool(info.any()):
            return None
        Ls.append(L)
        if i + 1 < nb:  # L[i+1, i] = E[i+1] L[i]^-T
            Fs.append(torch.linalg.solve_triangular(L, E[:, i + 1].transpose(1, 2),
                                                    upper=False).transpose(1, 2))
        ri = rhs[:, i] if i == 0 else rhs[:, i] - Fs[i] @ z[-1]
        z.append(torch.linalg.solve_triangular(L, ri, upper=False))
    out = [None] * nb
    for i in range(nb - 1, -1, -1):
        zi = z[i] if i == nb - 1 else z[i] - Fs[i + 1].transpose(1, 2) @ out[i + 1]
        out[i] = torch.linalg.solve_triangular(Ls[i].transpose(1, 2), zi, upper=True)
    return torch.cat(out, dim=1)[:, :K]


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
    if knots.shape[1] - k - 1 >= BANDED_FROM:
        return _fit_coef_banded(x, y, knots, k, ridge)
    A = bspline_basis(x.double(), knots.double(), k).transpose(0, 1)  # (n_in, N, K)
    Y = y.double().transpose(0, 1)  # (n_in, N, n_out)
    AtA = A.transpose(1, 2) @ A  # (n_in, K, K)
    scale = AtA.diagonal(dim1=1, dim2=2).mean(-1).clamp_min(1e-12)  # (n_in,)
    eye = torch.eye(AtA.shape[-1], dtype=AtA.dtype, device=AtA.device)
    AtA = AtA + (ridge * scale)[:, None, None] * eye
    L, info = torch.linalg.cholesky_ex(AtA)
    if bool(info.any()) or not bool(torch.isfinite(AtA).all()):
        _unsolvable(x, knots, k)
    coef = torch.cholesky_solve(A.transpose(1, 2) @ Y, L)  # (n_in, K, n_out)
    return coef.transpose(1, 2).to(y.dtype).contiguous()


def _unsolvable(x, knots, k):
    lo, hi = float(knots[:, k].min()), float(knots[:, -k - 1].max())
    raise ValueError(
        f"the spline least-squares fit failed: the grid spans [{lo:.3g}, {hi:.3g}] and the "
        f"samples [{float(x.min()):.3g}, {float(x.max()):.3g}], beyond what float64 can "
        "solve. Rescale the inputs (e.g. standardise each column)")


def _fit_coef_banded(x, y, knots, k, ridge):
    """``fit_coef`` in band storage (see the module doc): memory and time linear in G."""
    band, rhs = _banded_normal_equations(x.double(), y.double().transpose(0, 1),
                                         knots.double(), k)
    scale = band[:, :, 0].mean(-1).clamp_min(1e-12)  # (n_in,) mean diagonal
    band[:, :, 0] += (ridge * scale)[:, None]
    coef = None
    if bool(torch.isfinite(band).all()):
        coef = _banded_cholesky_solve(band, rhs)
    if coef is None:
        _unsolvable(x, knots, k)
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

