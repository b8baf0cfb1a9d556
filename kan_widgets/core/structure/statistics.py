"""The statistics behind the structure tests: scale-free matrices from derivatives.

Every statistic is a median over samples (robust to the few samples where a denominator
passes near zero) of a dimensionless quantity, so one tolerance fits functions of any size.
``s_i`` is the spread (std) of input ``i`` over the samples.

- additive, pair (i, j): ``|f_ij| s_i s_j / sqrt(r_i r_j)`` with ``r_i = rms(f_i s_i)``;
  zero for every sample exactly when ``f = u(x_i, ...) + v(x_j, ...)`` (mixed derivative 0).
- multiplicative, pair (i, j): ``|f f_ij - f_i f_j|`` relative to ``|f f_ij| + |f_i f_j|``
  (medians); zero when ``f = u * v`` (``d_ij log|f| = 0``, without dividing by ``f``).
- symmetry, triple (a, b, e): ``s_e`` times the derivative along ``x_e`` of the angle of the
  scaled gradient pair ``(f_b s_b, f_a s_a)``; zero for all pairs of a group and all ``e``
  outside it when ``f`` depends on the group only through one combination ``h(x_group)``.
- generalized, for ``a``, ``b`` in different groups: the ratio ``f_a / f_b`` must depend only
  on the inputs of those two groups and split there as a product: first derivatives of
  ``log|f_a / f_b|`` along other groups' inputs and mixed second derivatives across the
  two groups vanish, both times spreads; and each group must be symmetric (the statistic
  above), else ``sin(x y z + w)`` would pass for ``x | (y, z, w)``. Together they hold
  exactly when ``f = F(g_1(x_A) + g_2(x_B) + ...)``.
"""

from __future__ import annotations

import itertools

import torch

__all__ = ["additive_matrix", "multiplicative_matrix", "angle_tensor", "generalized_tensors",
           "fit_constant", "components", "spreads"]


def spreads(X: torch.Tensor) -> torch.Tensor:
    return X.std(0)


def _median_abs(t: torch.Tensor) -> torch.Tensor:
    """Median of ``|t|`` over samples (dim 0)."""
    return t.abs().median(0).values


def additive_matrix(D, s) -> torch.Tensor:
    """(d, d) additive statistic of every pair (diagonal 0)."""
    gs = D.grad * s  # (n, d)
    r = gs.pow(2).mean(0).sqrt()  # (d,)
    floor = 1e-9 * float(r.max()) + 1e-300
    num = _median_abs(D.hess * s[:, None] * s[None, :])
    out = num / torch.sqrt(r[:, None].clamp_min(floor) * r[None, :].clamp_min(floor))
    return _zero_diag(torch.where(num <= floor, torch.zeros_like(out), out))


def multiplicative_matrix(D, c: float = 0.0) -> torch.Tensor:
    """(d, d) multiplicative statistic of every pair of ``f + c`` (diagonal 0)."""
    f = (D.value + c)[:, None, None]
    fh = f * D.hess  # (n, d, d)
    gg = D.grad[:, :, None] * D.grad[:, None, :]
    den = _median_abs(fh) + _median_abs(gg)
    floor = 1e-9 * float(den.max()) + 1e-300
    num = _median_abs(fh - gg)
    out = num / den.clamp_min(floor)
    return _zero_diag(torch.where(num <= floor, torch.zeros_like(out), out))


def fit_constant(D, pairs) -> list[float]:
    """Least-squares constants ``c`` making ``f + c`` a product for each pair (i, j):
    ``(f + c) f_ij = f_i f_j``; pairs whose mixed derivative vanishes give none."""
    out = []
    for i, j in pairs:
        h = D.hess[:, i, j]
        den = float((h * h).sum())
        if den <= 0:
            continue
        out.append(float((h * (D.grad[:, i] * D.grad[:, j] - D.value * h)).sum()) / den)
    return out


def angle_tensor(D, s) -> torch.Tensor:
    """(d, d, d) symmetry statistic ``[a, b, e]``: the median change of the angle of the
    scaled gradient pair (a, b) along input ``e`` (times its spread)."""
    gs = D.grad * s  # (n, d)
    hs = D.hess * s[:, None] * s[None, :]  # (n, d, d), [a, e]
    num = gs[:, None, :, None] * hs[:, :, None, :] - gs[:, :, None, None] * hs[:, None, :, :]
    # num[n, a, b, e] = g_b h_ae - g_a h_be
    den = gs[:, :, None] ** 2 + gs[:, None, :] ** 2  # (n, a, b)
    floor = 1e-12 * float(den.mean()) + 1e-300
    return _median_abs(num / den.clamp_min(floor)[..., None])


def generalized_tensors(D, s):
    """The pieces of the generalized statistic, medians over samples.

    Returns
    -------
    first : (d, d, d) ``[a, b, e]``: ``s_e |d_e log|f_a / f_b||``
    mixed : (d, d, d, d) ``[a, b, c, e]``: ``s_c s_e |d_c d_e log|f_a / f_b||``
    """
    g, h, t = D.grad, D.hess, D.third  # (n, d), (n, d, d), (n, d, d, d)
    scale = float(g.pow(2).mean().sqrt())
    g_safe = torch.where(g.abs() < 1e-12 * scale + 1e-300,
                         torch.full_like(g, 1e-12 * scale + 1e-300), g)
    dlog = h / g_safe[:, :, None]  # [n, a, e] = d_e log|f_a|
    d2log = t / g_safe[:, :, None, None] - dlog[:, :, :, None] * dlog[:, :, None, :]
    first = _median_abs((dlog[:, :, None, :] - dlog[:, None, :, :]) * s)
    ss = s[:, None] * s[None, :]
    mixed = _median_abs((d2log[:, :, None] - d2log[:, None, :]) * ss)
    return first, mixed


def generalized_statistic(first, mixed, angles, groups) -> float:
    """Largest violation of generalized separability into ``groups`` (a partition), from
    ``generalized_tensors`` and ``angle_tensor``."""
    worst = 0.0
    for G in groups:  # each group enters through one combination g_k(x_G)
        rest = [v for H in groups if H is not G for v in H]
        if len(G) > 1 and rest:
            worst = max(worst, float(angles[G][:, G][:, :, rest].max()))
    for A, B in itertools.combinations(groups, 2):
        others = [e for G in groups if G is not A and G is not B for e in G]
        for a in A:
            for b in B:
                if others:
                    worst = max(worst, float(first[a, b, others].max()))
                worst = max(worst, float(mixed[a, b][A][:, B].max()))
    return worst


def components(stat: torch.Tensor, variables, tol: float) -> list[list[int]]:
    """Connected components of ``variables`` linked where ``stat[i, j] > tol``; each sorted,
    ordered by their smallest member."""
    variables = list(variables)
    parent = {v: v for v in variables}

    def root(v):
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for i, j in itertools.combinations(variables, 2):
        if float(max(stat[i, j], stat[j, i])) > tol:
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for v in variables:
        groups.setdefault(root(v), []).append(v)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def cross_max(stat: torch.Tensor, groups) -> float:
    """Largest ``stat[i, j]`` over pairs in different groups (0 for one group)."""
    worst = 0.0
    for A, B in itertools.combinations(groups, 2):
        worst = max(worst, float(stat[A][:, B].max()), float(stat[B][:, A].max()))
    return worst


def _zero_diag(m: torch.Tensor) -> torch.Tensor:
    return m - torch.diag_embed(torch.diagonal(m))
