"""Per-span polynomial tables: the fast local B-spline evaluation on any knot vector.

On each knot span ``[t_s, t_{s+1})`` the ``k + 1`` B-splines that do not vanish are
polynomials of degree ``k`` in the span fraction ``u = (x - t_s) / (t_{s+1} - t_s)``. The
origin is the knot itself, not the span's centre: knots are exact in the working dtype, so
``x - t_s`` keeps float32 accuracy even on spans far narrower than ``|x|`` (a rounded centre
costs ``eps |x| / h``, 1e-4 on the narrow spans of sample-adaptive grids). The
tables are computed once per grid, in float64, from the Cox-de Boor reference; evaluation is
then a span search, one table lookup and Horner's scheme per sample, instead of de Boor's
``k`` levels of small tensor operations. On uniform knot vectors every interior span has the
same polynomials (the blending matrix), so samples inside the grid points skip the search and
the lookup: a floor, the powers of the fraction and one small matmul (about twice as fast).

Derivatives of any order ``r`` are the same tables evaluated for the ``r``-th derivative of
the polynomials (``d/dx = scale d/du``); zero above the spline order.

Rows of the tables, per input (``M`` knots): row 0 is ``x < t_0``, row ``s + 1`` is span
``s``, row ``M`` is ``x >= t_{M-1}``; that is exactly ``searchsorted(knots, x, right=True)``.
Outside the knot vector the polynomials are zero.

Feature slots: the layer's feature vector per input is ``[b(x), B_0(x) .. B_{K-1}(x)]`` with
``K = G + k``, so basis ``c`` lives in slot ``c + 1``. Each row writes ``k + 1`` consecutive,
distinct slots (the window is shifted inward at the ends of the knot vector, where some of
the span's B-splines would belong to missing knots; those columns are simply zero). Distinct
slots let the caller use a plain ``scatter_`` into zeros.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .bspline import is_uniform
from .grid import window_basis

__all__ = ["SpanTables", "build_span_tables", "local_values", "scatter_features"]


class SpanTables(NamedTuple):
    """Lookup tables of one layer (``n_in`` inputs, ``M`` knots, order ``k``).

    The coefficient table is stored column-major (one table row per column) so that a lookup
    yields one contiguous ``(n_lookups,)`` vector per coefficient: the Horner steps then run on
    contiguous memory. Row ``r`` of input ``i`` is column ``i * (M + 1) + r``.
    """

    rows: torch.Tensor  # (2 + (k+1)^2, n_in * (M + 1)): origin, scale, C[power, value]
    slot_start: torch.Tensor  # (n_in * (M + 1),) int64 first feature slot written by each row
    row_offset: torch.Tensor  # (n_in, 1) int64: first table row of each input
    lattice: tuple | None  # span search by uniform cells (see _lattice), or None: searchsorted
    uniform: tuple | None  # evenly spaced knots: (t_0 (n_in,), 1/h (n_in,), blend (k+1, k+1))


# the span search by lattice cells costs a few elementwise operations per sample instead of a
# binary search; its tables grow with range / (smallest knot gap), so it has a budget
_LATTICE_MAX_CELLS = 1 << 22


def _lattice(t: torch.Tensor):
    """Uniform cells over each knot vector, each narrower than the smallest knot gap.

    A cell then holds at most one knot, so the table row of ``x`` is
    ``first_row[cell] + (x >= next_knot[cell])``: no binary search. Cell 0 collects
    ``x < t_0`` and cell ``L + 1`` collects ``x >= t_{M-1}``.

    Returns ``(origin (n_in, 1), inv_width (n_in, 1), n_cells L, first_row (n_in*(L+2),) int64
    counting table rows from 0 per input, next_knot (n_in*(L+2),))`` in float64, or None when
    the knots are too unevenly spaced for the budget.
    """
    n_in, M = t.shape
    gaps = t.diff(dim=1)
    pos_gaps = torch.where(gaps > 0, gaps, torch.full_like(gaps, float("inf")))
    g_min = pos_gaps.amin(1)  # (n_in,)
    span = t[:, -1] - t[:, 0]
    if not bool(torch.isfinite(g_min).all()) or not bool((span > 0).all()):
        return None
    L = int(torch.ceil((span / g_min).max()).item()) + 1  # cells narrower than every gap
    if L * n_in > _LATTICE_MAX_CELLS:
        return None
    width = span / L  # (n_in,)
    starts = t[:, :1] + width[:, None] * torch.arange(L, dtype=t.dtype)  # (n_in, L)
    count = torch.searchsorted(t, starts, right=True)  # knots <= cell start, in [1, M]
    nxt = torch.where(count < M, t.gather(1, count.clamp_max(M - 1)),
                      torch.full_like(starts, float("inf")))
    first_row = torch.cat([torch.zeros(n_in, 1, dtype=torch.long), count,
                           torch.full((n_in, 1), M, dtype=torch.long)], dim=1)  # (n_in, L + 2)
    next_knot = torch.cat([t[:, :1], nxt, torch.full((n_in, 1), float("inf"), dtype=t.dtype)], 1)
    return t[:, :1], (1 / width)[:, None], L, first_row, next_knot


def build_span_tables(knots: torch.Tensor, k: int) -> SpanTables:
    """Tables for extended knot vectors ``knots`` (n_in, M), in ``knots``' dtype and device.

    Computed in float64: the k+1 non-zero B-splines of each span are sampled at k+1 points
    with the Cox-de Boor reference and converted to monomials in ``u`` (a well-conditioned
    Vandermonde solve on points spread over [0.125, 0.875]).
    """
    n_in, M = knots.shape
    K = M - k - 1  # basis functions per input
    t = knots.detach().to(torch.float64)
    lo, hi = t[:, :-1], t[:, 1:]  # (n_in, S = M - 1) span ends
    h = hi - lo
    live = h > 0  # zero-width spans never contain a sample
    scale = torch.where(live, 1 / h.clamp_min(1e-300), torch.zeros_like(h))

    u_pts = torch.linspace(0.125, 0.875, k + 1, dtype=torch.float64)  # (k+1,)
    x_pts = lo[..., None] + u_pts * h[..., None]  # (n_in, S, k + 1)
    s = torch.arange(M - 1)
    start = (s - k).clamp(0, K - k - 1)  # (S,) first basis index of each span's window
    # only the window's k+1 splines, each point's (the same values as the dense reference's
    # columns, bitwise): memory and time linear in G, where the dense basis grew with G^2
    pts_start = start.repeat_interleave(k + 1)[:, None].expand(-1, n_in)  # (S*(k+1), n_in)
    window = window_basis(x_pts.reshape(n_in, -1).T, t, k, pts_start)  # (S*(k+1), n_in, k+1)
    window = window.reshape(M - 1, k + 1, n_in, k + 1).permute(2, 0, 1, 3)  # (n_in, S, pts, k+1)
    V = u_pts[:, None] ** torch.arange(k + 1, dtype=torch.float64)  # (pts, powers)
    C = torch.linalg.solve(V, window)  # (n_in, S, powers, k+1)
    C = torch.where(live[..., None, None], C, 0.0).reshape(n_in, M - 1, -1)

    inside = torch.cat([lo[..., None], scale[..., None], C], dim=-1)  # (n_in, S, 2 + (k+1)^2)
    below = torch.zeros(n_in, 1, inside.shape[-1], dtype=torch.float64)  # x < t_0: all zero
    above = below.clone()
    below[:, 0, 0], above[:, 0, 0] = t[:, 0], t[:, -1]
    rows = torch.cat([below, inside, above], dim=1)  # (n_in, M + 1, 2 + (k+1)^2)
    slot_start = 1 + torch.cat([start[:1], start, start[-1:]])  # out-of-range rows: any window
    row_offset = (torch.arange(n_in) * (M + 1))[:, None]  # (n_in, 1)
    lattice = _lattice(t)
    dev, dt = knots.device, knots.dtype
    uniform = None
    if K > k and is_uniform(t):  # an interior span (window start s - k) holds the blending matrix
        blend = C[0, k].view(k + 1, k + 1)  # (powers, values)
        uniform = (knots[:, 0], (M - 1) / (knots[:, -1] - knots[:, 0]), blend.to(dev, dt))
    if lattice is not None:
        origin, inv_width, L, first_row, next_knot = lattice
        first_row = (first_row + row_offset).reshape(-1)  # global table rows
        cell_offset = torch.arange(n_in) * (L + 2)
        lattice = (origin.T.to(dev, dt), inv_width.T.to(dev, dt), L, cell_offset.to(dev),
                   first_row.to(dev), next_knot.reshape(-1).to(dev, dt))
    return SpanTables(
        rows=rows.reshape(n_in * (M + 1), -1).T.contiguous().to(dtype=dt, device=dev),
        slot_start=slot_start.repeat(n_in).to(dev),
        row_offset=row_offset.to(dev),
        lattice=lattice,
        uniform=uniform,
    )


def _table_rows(x: torch.Tensor, knots: torch.Tensor, tables: SpanTables) -> torch.Tensor:
    """Table row of every sample: (batch, n_in) -> (batch * n_in,) int64, batch-major."""
    if tables.lattice is None:  # binary search, input-major; one transpose back
        pos = torch.searchsorted(knots, x.T.contiguous(), right=True)  # (n_in, B) in [0, M]
        return (pos + tables.row_offset).T.reshape(-1)
    origin, inv_width, L, cell_offset, first_row, next_knot = tables.lattice
    cell = ((x - origin) * inv_width).add_(1).clamp(0, L + 1).nan_to_num_(0).long()
    cell = (cell + cell_offset).view(-1)  # (B * n_in,) global cell
    return first_row.index_select(0, cell) + (x.reshape(-1) >= next_knot.index_select(0, cell))


def _falling(p: int, r: int) -> float:
    """``p! / (p - r)!``: the factor of ``u^(p-r)`` in the ``r``-th derivative of ``u^p``."""
    return float(math.perm(p, r))


def _horner(planes, u, with_next: bool):
    """``sum_q planes[q] u^q`` and, with ``with_next``, its ``d/du`` riding along."""
    v, d = planes[-1], None
    for q in range(len(planes) - 2, -1, -1):
        if with_next:
            d = v if d is None else torch.addcmul(v, d, u)
        v = torch.addcmul(planes[q], v, u)
    if with_next and d is None:  # a constant polynomial
        d = torch.zeros_like(v)
    return v, d


def _inside_grid(x, knots, k) -> bool:
    """All samples within the grid points ``[t_k, t_{M-k-1})`` (two cheap column reductions)."""
    if x.numel() == 0:
        return True
    return bool((x.amin(0) >= knots[:, k]).all() and (x.amax(0) < knots[:, -k - 1]).all())


def _uniform_values(x, n_knots: int, uniform, order: int, with_next: bool):
    """Closed form on a uniform grid for samples inside the grid points: every span's window
    is the natural one (slots ``s - k + 1 .. s + 1``), values ``[1, f, .., f^k] @ blend``."""
    B, n_in = x.shape
    t0, inv_h, blend = uniform
    k1 = blend.shape[0]
    k = k1 - 1
    u = (x - t0) * inv_h
    span = u.floor().clamp_(k, n_knots - k - 2)  # inside the grid points; clamp: rounding only
    frac = (u - span).view(-1)  # (N,) in [0, 1)
    P = x.new_empty(k1, frac.shape[0])  # powers of frac, one contiguous row each
    P[0] = 1
    if k1 > 1:
        P[1] = frac
    for p in range(2, k1):
        torch.mul(P[p - 1], frac, out=P[p])
    # the r-th derivative's matrix: rows p >= r of the blend, times p!/(p-r)!, moved up r rows
    mats = []
    for r in (order, order + 1) if with_next else (order,):
        D = blend.new_zeros(k1, k1)
        if r <= k:
            ff = torch.tensor([_falling(p, r) for p in range(r, k1)], dtype=x.dtype,
                              device=x.device)
            D[: k1 - r] = blend[r:] * ff[:, None]
        mats.append(D)
    out = (torch.cat(mats, dim=1).T @ P).view(len(mats) * k1, B, n_in)
    slots = span.long() + torch.arange(2 - k1, 2, device=x.device)[:, None, None]  # (k1, B, n_in)
    v = out[:k1] * inv_h**order if order else out[:k1]
    return v, slots, (out[k1:] * inv_h ** (order + 1) if with_next else None)


def local_values(x: torch.Tensor, knots: torch.Tensor, tables: SpanTables, order: int = 0,
                 with_next: bool = False, closed_form: bool = True):
    """The ``k + 1`` non-zero B-splines (or their ``order``-th derivatives) per sample, and the
    feature slots they fill.

    Parameters
    ----------
    x : (batch, n_in)
    knots : (n_in, M) the knot vectors the tables were built from
    tables : ``build_span_tables(knots, k)``
    order : derivative order ``r >= 0`` (0: the values themselves)
    with_next : also return the order ``r + 1`` values (one pass: Horner's derivative rides along)
    closed_form : use the uniform closed form where it applies. Without it every step is a
        plain differentiable torch op on ``x`` (no in-place writes, no data-dependent branch),
        as ``torch.func`` transforms need.

    Returns
    -------
    Value-major, so every step runs on contiguous memory (write them through
    ``feats.permute(2, 0, 1)``, which is ``(slot, batch, n_in)``; see ``scatter_features``):
    values : (k + 1, batch, n_in), zero outside the knot vector; NaN inputs give NaN
    slots : (k + 1, batch, n_in) int64, distinct feature slots (1-based: slot 0 is b(x))
    next_values : (k + 1, batch, n_in), the order ``r + 1`` values, or None
    """
    B, n_in = x.shape
    k1 = round(math.sqrt(tables.rows.shape[0] - 2))
    k = k1 - 1
    if closed_form and tables.uniform is not None and _inside_grid(x, knots, k):
        return _uniform_values(x, knots.shape[1], tables.uniform, order, with_next)
    row = _table_rows(x.detach(), knots, tables)  # (N,) N = B * n_in
    cols = tables.rows.index_select(1, row)  # (2 + k1^2, N)
    start = tables.slot_start.index_select(0, row)  # (N,)
    slots = (start + torch.arange(k1, device=x.device)[:, None]).view(k1, B, n_in)
    if order > k:
        zero = x.new_zeros(k1, B, n_in)
        return zero, slots, (zero if with_next else None)
    u = (x.reshape(-1) - cols[0]) * cols[1]  # (N,) span fraction, in [0, 1) inside
    C = cols[2:].view(k1, k1, -1)  # (power, value, N)
    # coefficients of the order-th derivative in u: C[p] p!/(p-order)! for p >= order
    planes = [C[p] * _falling(p, order) if order else C[p] for p in range(order, k1)]
    v, d = _horner(planes, u, with_next)
    if order:
        v = v * cols[1] ** order  # d/dx = scale d/du
    if with_next:
        d = d * cols[1] ** (order + 1)
    return v.view(k1, B, n_in), slots, (d.view(k1, B, n_in) if with_next else None)


def scatter_features(values: torch.Tensor, slots: torch.Tensor, n_slots: int,
                     base: torch.Tensor | None = None) -> torch.Tensor:
    """Feature tensor ``(batch, n_in, n_slots)`` with ``values`` (k+1, batch, n_in) at ``slots``,
    ``base`` (batch, n_in) in slot 0 (zero without it) and zeros elsewhere."""
    _, B, n_in = values.shape
    feats = values.new_zeros(B, n_in, n_slots)
    feats.permute(2, 0, 1).scatter_(0, slots, values)  # the slots of a sample are distinct
    if base is not None:
        feats[..., 0] = base
    return feats
