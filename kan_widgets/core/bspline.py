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

Two evaluators
--------------
``bspline_basis``: full Cox-de Boor recursion, dense output. Clear and exact; used as the
reference and for plotting.

``local_bspline``: only the ``k + 1`` non-zero values per sample (de Boor's triangular scheme,
NURBS Book A2.2, after locating the knot span; on uniform knot vectors a closed-form blending
matrix). Used where knots change from call to call (grid fitting, plots); ``dense_from_local``
scatters its values into the dense ``(batch, n_in, G + k)`` layout.

The layer's training path evaluates the same values from per-span polynomial tables built
once per grid (``span_tables``): fewer, larger tensor operations than the triangle.
"""

from __future__ import annotations

import functools

import torch

__all__ = [
    "extend_grid",
    "uniform_grid",
    "bspline_basis",
    "local_bspline",
    "dense_from_local",
    "basis",
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


@functools.cache
def _blend_matrix64(k: int) -> torch.Tensor:
    """Uniform B-spline blending matrix ``M`` (k+1, k+1): inside a span at fraction ``t``,
    the k+1 non-zero values are ``[1, t, .., t^k] @ M``.

    Obtained once per order from the triangular recursion at k+1 points (a Vandermonde solve
    in float64); powers of ``t`` in [0, 1) are well conditioned, unlike the truncated-power
    form, which loses float32 precision on fine grids.
    """
    t = torch.linspace(0.1, 0.9, k + 1, dtype=torch.float64)
    j = torch.arange(1, k + 1, dtype=torch.float64)
    frac = t[:, None]
    left_rev, right = (frac + (j - 1)).flip(-1), j - frac
    N = torch.ones(k + 1, 1, dtype=torch.float64)
    pad = torch.nn.functional.pad
    for p in range(1, k + 1):
        R, L = right[:, :p], left_rev[:, k - p :]
        temp = N / (R + L)
        N = pad(R * temp, (0, 1)) + pad(L * temp, (1, 0))
    V = frac ** torch.arange(k + 1, dtype=torch.float64)  # (k+1 points, k+1 powers)
    return torch.linalg.solve(V, N)


def _powers(t: torch.Tensor, k: int) -> torch.Tensor:
    """``[1, t, .., t^k]`` on a new last axis, by products (``pow`` is ~10x slower on CPU)."""
    if t.requires_grad and torch.is_grad_enabled():  # out= writes are not differentiable
        cols = [torch.ones_like(t)]
        for _ in range(k):
            cols.append(cols[-1] * t)
        return torch.stack(cols, dim=-1)
    P = t.new_empty(*t.shape, k + 1)
    P[..., 0] = 1
    if k > 0:
        P[..., 1] = t
    for p in range(2, k + 1):
        torch.mul(P[..., p - 1], t, out=P[..., p])
    return P


def _blend_matrix(k: int, dtype, device) -> torch.Tensor:
    return _blend_matrix64(k).to(dtype=dtype, device=device)


def _padded(knots: torch.Tensor, k: int) -> torch.Tensor:
    # k extra knots each side, so the triangular scheme never indexes outside the vector
    # for samples in the outermost spans (their virtual basis functions are sliced away).
    return extend_grid(knots, k)


def local_bspline(x: torch.Tensor, knots: torch.Tensor, k: int, uniform: bool = False,
                  derivative: bool = False):
    """The ``k + 1`` non-zero B-spline values at each sample.

    Parameters
    ----------
    x : (batch, n_in)
    knots : (n_in, M) extended knot vectors, M = G + 2k + 1
    k : spline order
    uniform : knots evenly spaced per row (skips the span search and knot gathers)
    derivative : also return ``d values / dx``

    Returns
    -------
    values : (batch, n_in, k + 1)
        ``values[..., r]`` is ``B_{span - k + r}(x)``; all zero outside ``[t_0, t_{M-1})``.
    span : (batch, n_in) int64
        Knot span index ``s`` with ``t_s <= x < t_{s+1}`` (clamped to ``[0, M - 2]``).
    dvalues : (batch, n_in, k + 1), only with ``derivative=True``
        ``d/dx`` of ``values``, from the order ``k - 1`` values:
        ``B'_{c,k} = k (B_{c,k-1} / (t_{c+k} - t_c) - B_{c+1,k-1} / (t_{c+k+1} - t_{c+1}))``.
    """
    n_in, M = knots.shape
    t0 = knots[:, 0]
    # Samples outside the knot vector get all-zero values: the recursion starts from the
    # in-range indicator. Checking the column ranges first skips that mask in the common case
    # (two cheap reductions instead of broadcast passes over (B, n_in, k+1)).
    all_inside = x.numel() == 0 or bool((x.amin(0) >= t0).all() and (x.amax(0) < knots[:, -1]).all())
    N0 = 1.0 if all_inside else ((x >= t0) & (x < knots[:, -1])).to(x.dtype).unsqueeze(-1)
    N = N0  # (B, n_in, 1) indicator, or 1.0
    if uniform:
        h = (knots[:, -1] - t0) / (M - 1)  # (n_in,)
        u = (x - t0) / h
        # NaN -> 0 keeps the index valid; the NaN still propagates through frac to the output
        span = u.floor().nan_to_num_(0.0).clamp_(0, M - 2)
        frac = u - span  # (B, n_in), in [0, 1) inside
        span = span.long()
        # closed form: the k+1 values are polynomials in frac (one small matmul)
        Mb = _blend_matrix(k, x.dtype, x.device)  # (k+1, k+1)
        powers = _powers(frac, k)  # (B, n_in, k+1)
        N = powers @ Mb if all_inside else N0 * (powers @ Mb)  # (B, n_in, k+1)
        if not derivative:
            return N, span
        if k == 0:
            return N, span, torch.zeros_like(N)
        dM = Mb[1:] * torch.arange(1, k + 1, dtype=x.dtype, device=x.device)[:, None]
        return N, span, (powers[..., :k] @ dM) * (N0 / h.unsqueeze(-1))
    else:
        if all_inside:  # the recursion needs a tensor to start from
            N = torch.ones_like(x).unsqueeze(-1)
        span = torch.searchsorted(knots, x.T.contiguous(), right=True).T - 1
        span = span.clamp_(0, M - 2)
        tp = _padded(knots, k).T.contiguous()  # (M + 2k, n_in)
        # the 2k knots around the span, t_{s-k+1} .. t_{s+k}, in one gather
        offs = torch.arange(1, 2 * k + 1, device=x.device)  # padded index s + offs
        idx = (span.unsqueeze(1) + offs[:, None]).reshape(-1, n_in)  # (B * 2k, n_in)
        win = tp.gather(0, idx).reshape(x.shape[0], 2 * k, n_in).transpose(1, 2)  # (B, n_in, 2k)
        xe = x.unsqueeze(-1)
        left_rev = xe - win[..., :k]  # left_k .. left_1 (left_j = x - t_{s+1-j})
        right = win[..., k:] - xe  # right_j = t_{s+j} - x
    # de Boor's triangular scheme, one level per order, vectorised over the k+1 values
    pad = torch.nn.functional.pad
    for p in range(1, k + 1):
        R = right[..., :p]  # right_{r+1}, r = 0..p-1
        L = left_rev[..., k - p :]  # left_{p-r}; R + L is the support width of B_{., p-1}
        temp = N / (R + L)
        N = pad(R * temp, (0, 1)) + pad(L * temp, (1, 0))
    if not derivative:
        return N, span
    if k == 0:
        return N, span, torch.zeros_like(N)
    return N, span, k * (pad(temp, (1, 0)) - pad(temp, (0, 1)))


def dense_from_local(values: torch.Tensor, span: torch.Tensor, n_basis: int, k: int):
    """Scatter local values into the dense ``(batch, n_in, n_basis)`` basis tensor.

    ``n_basis = G + k``. Basis indices ``span - k + r`` outside ``[0, n_basis)`` belong to the
    padding knots and are dropped.
    """
    B, n_in, _ = values.shape
    # padded width: k virtual functions before index 0, up to k after the last one
    idx = span.unsqueeze(-1) + torch.arange(k + 1, device=span.device)  # (B, n_in, k+1), +k pad
    out = values.new_zeros(B, n_in, n_basis + 2 * k)
    out = out.scatter(2, idx, values)
    return out[:, :, k : k + n_basis]


def basis(x: torch.Tensor, knots: torch.Tensor, k: int, uniform: bool | None = None):
    """Dense basis ``(batch, n_in, G + k)`` through the local-support fast path."""
    if uniform is None:
        uniform = is_uniform(knots)
    values, span = local_bspline(x, knots, k, uniform)
    return dense_from_local(values, span, knots.shape[1] - k - 1, k)
