"""Fit ``y ~ c * f(a * x + b) + d`` for many candidate functions ``f`` and many edges at once.

For fixed ``(a, b)`` the best ``(c, d)`` is linear least squares, and its r² is the squared
correlation of ``f(a x + b)`` with ``y``. So the search runs over ``(a, b)`` only, scored by
that correlation, batched over a grid of ``(a, b)`` and over edges (one tensor op per function,
no Python loop over grid points or edges), then zooms in around the best grid point a few
times, and finally solves ``(c, d)`` on all samples.

The search works on ``x`` normalised to ``[-1, 1]`` (``x~ = (x - m) / h``), so one grid fits
every edge, and uses the invariances of each function to search fewer dimensions (each library
entry carries its ``SearchSpec``; user functions without one get ``DEFAULT_SEARCH``, a plain
``phase`` grid with both signs of ``alpha``):

========  ============================================  =========================================
kind      functions                                     searched
========  ============================================  =========================================
zero      ``0``                                         nothing: ``c = 0``, ``d = mean(y)``
linear    ``x``                                         nothing: ``a = 1, b = 0``
scale     powers, ``1/x^n``, roots, ``log``, ``abs``,   the shift ``t`` of ``f(s (x~ + t))``
          ``sgn``                                       (scale goes into ``c``, or ``d`` for log)
shift     ``exp``                                       the rate ``alpha`` of ``exp(alpha x~)``
phase     ``sin``, ``cos``, ``tan``, ``arcsin`` ...     ``alpha, beta`` of ``f(alpha x~ + beta)``
center    ``tanh``, ``gaussian``, ``sigmoid`` ...       ``log alpha`` and the centre ``p`` of
                                                        ``f(alpha (x~ - p))``
range     any, when ``a_range`` or ``b_range`` is given  ``a`` and ``b`` of ``f(a x + b)`` on the
                                                        raw x, over the user's rectangle
========  ============================================  =========================================

User ranges (pykan's ``a_range``, ``b_range``): the per-function specs cover the shapes a
trained edge usually has (up to about 12 half-periods of a sine across the edge's range). A
function whose argument runs much further, like ``J0(20 x)``, needs a wider search: given
``a_range`` and/or ``b_range`` (the missing one defaults to pykan's ``(-10, 10)``), every
searched function is searched on a grid of the raw ``(a, b)`` rectangle instead (fine enough
that neighbouring grid points move the argument by about 0.5 across the samples, at most
``affine_ranges.RANGE_GRID_POINTS`` points), zoomed and polished without leaving it; the result keeps the
raw ``(a, b)`` found (no canonical form), so it lies inside the ranges.

Singular points: the function is evaluated with its safe variant, and a grid point is
rejected when any sample falls outside ``domain`` (where safe and exact differ) or the values
are constant. So ``log`` of data crossing zero is fitted as ``log(x + b)`` with ``b`` moving the
data into the domain, never through the clamped region. All arithmetic is float64 and
deterministic (no random restarts, no ``lstsq`` driver).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from .affine_polish import check_domain, polish_affine, solve_cd
from .affine_ranges import PYKAN_RANGE, check_range, projector, range_spec
from .functions import SearchSpec, domain_of, get_function, search_of

__all__ = ["fit_affine", "AffineFits", "check_range"]


@dataclass
class AffineFits:
    """Result of ``fit_affine``: tensors of shape (n_edges, n_names), float64.

    ``r2`` is ``1 - SSE / max(SST, sst_floor)``; ``-inf`` where no ``(a, b)`` keeps every sample in
    the function's domain (then ``c = 0`` and ``d = mean(y)``, still finite).
    """

    names: list
    a: torch.Tensor
    b: torch.Tensor
    c: torch.Tensor
    d: torch.Tensor
    r2: torch.Tensor


def _ab(spec: SearchSpec, t1, t2, mh=None):
    """Search parameters -> (alpha, beta) of ``f(alpha * x~ + beta)``; any shape.

    mh : for the ``range`` kind, the (E, 1) centre and half-width of each edge's inputs
    (``t1, t2`` are the raw ``a, b``, clamped to the rectangle; the result is per edge).
    """
    if spec.kind == "range":
        m, h = mh
        a = t1.clamp(spec.th1[0], spec.th1[-1])
        b = t2.clamp(spec.th2[0], spec.th2[-1])
        return a * h, b + a * m
    if spec.kind == "scale":
        s = torch.where(t1 >= 0, 1.0, -1.0).to(t1.dtype)
        return s, s * t1
    if spec.kind == "shift":
        return t1, torch.zeros_like(t1)
    if spec.kind == "center":
        alpha = torch.exp(t1)
        return alpha, -alpha * t2
    return t1, t2


_DOM_X = torch.linspace(-1, 1, 17, dtype=torch.float64)  # domain probe points in x~


def _score(funcs, u, probe, yc, syy):
    """Squared correlation of ``f(u)`` with ``y`` for every function and candidate.

    funcs : F functions; u : (F or 1, E, G, N) arguments (shared when the first axis is 1);
    probe : (F or 1, E or 1, G, 17) the same affine maps on 17 points of [-1, 1], for the
    domain test (the map is monotone; the polish and the final fit check every sample);
    yc : (E, N) centred outputs; syy : (E,)  ->  (F, E, G) scores, -1 where rejected
    """
    zs, oks = [], []
    for k, f in enumerate(funcs):
        z = f.safe_fn(u[min(k, len(u) - 1)])
        if not f.builtin:
            z = torch.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)
        zs.append(z)
        oks.append(check_domain(f, domain_of(f), probe[min(k, len(probe) - 1)]))
    z = torch.stack(zs)  # (F, E, G, N)
    n = z.shape[-1]
    s1 = z.sum(-1)
    szz = (z * z).sum(-1) - s1 * s1 / n
    szy = torch.matmul(z, yc.unsqueeze(-1)).squeeze(-1)  # yc is centred: no need to centre z
    # a (numerically) constant z carries no shape: reject, it would only fit the mean
    ok = szz > 1e-10 * (s1 * s1 / n) + 1e-280
    for k, o in enumerate(oks):
        if o is not None:
            ok[k] &= o.expand(ok.shape[1:])
    r2 = szy * szy / (szz * syy[:, None]).clamp_min(1e-300)
    return torch.where(ok, r2, -1.0)


def _steps(values: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Distance to the farther neighbour of ``values[idx]`` in a sorted 1-D grid."""
    if len(values) == 1:
        return torch.zeros(idx.shape, dtype=values.dtype)
    gaps = values.diff()
    left = torch.cat([gaps[:1], gaps])[idx]
    right = torch.cat([gaps, gaps[-1:]])[idx]
    return torch.maximum(left, right)


@functools.lru_cache(maxsize=64)
def _grid(spec: SearchSpec):
    g1 = torch.tensor(spec.th1, dtype=torch.float64)
    g2 = torch.tensor(spec.th2, dtype=torch.float64)
    T1, T2 = torch.meshgrid(g1, g2, indexing="ij")
    return g1, g2, T1.reshape(1, -1), T2.reshape(1, -1)


def _search(funcs, spec, xs, yc, syy, rounds, mh=None):
    """Grid search for functions sharing one search ``spec``: a coarse grid (on every other
    sample: the shape is what counts there; one argument tensor for all the functions), then
    ``rounds`` zooms of a 5 x 5 (or 9-point) grid around each function's best point.

    xs, yc : (E, N); syy : (E,); mh : see ``_ab``
    Returns alpha, beta, r2, each (F, E): ``f(alpha * x~ + beta)`` and its score.
    """
    g1, g2, T1, T2 = _grid(spec)
    alpha, beta = _ab(spec, T1, T2, mh)  # (1 or E, G)
    yc2 = yc[:, ::2] - yc[:, ::2].mean(1, keepdim=True)
    u = torch.addcmul(beta[..., None], alpha[..., None], xs[:, None, ::2])  # (E, G, N / 2)
    probe = torch.addcmul(beta[..., None], alpha[..., None], _DOM_X)  # (1, G, 17)
    best = _score(funcs, u[None], probe[None], yc2, (yc2 * yc2).sum(1)).argmax(-1)  # (F, E)
    i1, i2 = best // len(g2), best % len(g2)
    t1, t2 = g1[i1], g2[i2]
    s1, s2 = _steps(g1, i1), _steps(g2, i2)
    one_d = len(g2) == 1
    off = torch.linspace(-1, 1, 9 if one_d else 5, dtype=xs.dtype)
    o1, o2 = (off, torch.zeros(1, dtype=xs.dtype)) if one_d else (off, off)
    O1, O2 = (v.reshape(-1) for v in torch.meshgrid(o1, o2, indexing="ij"))
    score = None
    for _ in range(max(rounds, 1)):
        c1 = t1[..., None] + s1[..., None] * O1  # (F, E, C); the centre is a candidate
        c2 = t2[..., None] + s2[..., None] * O2
        alpha, beta = _ab(spec, c1, c2, mh)
        u = torch.addcmul(beta[..., None], alpha[..., None], xs[None, :, None, :])
        probe = torch.addcmul(beta[..., None], alpha[..., None], _DOM_X)
        score, k = _score(funcs, u, probe, yc, syy).max(-1)
        t1, t2 = c1.gather(-1, k[..., None])[..., 0], c2.gather(-1, k[..., None])[..., 0]
        s1, s2 = s1 / 2, s2 / 2
    return (*_ab(spec, t1, t2, mh), score)


def _as_rows(v, what) -> torch.Tensor:
    v = torch.as_tensor(v).detach().to("cpu", torch.float64)
    if v.ndim == 1:
        v = v[None]
    if v.ndim != 2:
        raise ValueError(f"{what} must be (n_samples,) or (n_edges, n_samples); got {tuple(v.shape)}")
    return v


def fit_affine(x, y, names, sst_floor=None, max_search: int = 128, rounds: int = 2,
               polish: int = 10, chunk: int = 1_000_000, a_range=None,
               b_range=None) -> AffineFits:
    """Fit ``y ~ c * f(a * x + b) + d`` for every function in ``names`` and every edge.

    Parameters
    ----------
    x, y : (n_samples,) or (n_edges, n_samples) edge inputs and outputs
    names : library names to try
    sst_floor : (n_edges,) or float, optional. r² is measured against
        ``max(SST, sst_floor)``: an edge whose spread is below the floor counts as flat, which
        makes ``"0"`` a good fit there (see ``SymbolicMixin.suggest_symbolic``).
    max_search : samples used by the grid search and the polish (evenly spaced in sorted
        order); the final ``(c, d)`` and r² use all samples
    rounds : zoom rounds after the coarse grid (each halves the step)
    polish : Levenberg-Marquardt iterations after the zoom
    chunk : cap on ``n_edges * grid * samples`` per tensor (memory)
    a_range, b_range : (low, high), optional: search ``f(a x + b)`` over this rectangle of
        the raw ``a`` and ``b`` (pykan's ``a_range``, ``b_range``; the missing one defaults to
        ``(-10, 10)``) instead of each function's own search (see the module doc). Needed for
        arguments that run far, like ``J0(20 x)``: ``a_range=(-40, 40)``.

    Returns
    -------
    AffineFits with (n_edges, n_names) float64 tensors ``a, b, c, d, r2``.

    Raises
    ------
    ValueError : fewer than 3 samples, non-finite values, an edge whose input is constant,
        or a range that is not ``(low, high)`` with finite ``low <= high``
    KeyError : unknown function name
    """
    ranged = a_range is not None or b_range is not None
    a_range = check_range(PYKAN_RANGE if a_range is None else a_range, "a_range")
    b_range = check_range(PYKAN_RANGE if b_range is None else b_range, "b_range")
    x, y = _checked_samples(x, y)
    funcs = [get_function(n) for n in names]  # unknown names fail here, with close matches
    specs = [search_of(f) for f in funcs]
    prob = _Problem.of(x, y, max_search)
    project = None
    if ranged:
        spec = range_spec(a_range, b_range, prob)
        specs = [spec if n in _searched(specs) else s for n, s in enumerate(specs)]
        project = projector(a_range, b_range, prob)
    alpha, beta, score = _grid_search(funcs, specs, prob, rounds, chunk)
    if polish > 0:
        _polish_promising(funcs, specs, prob, alpha, beta, score, polish, project)
    a, b = _canonical_affine(specs, prob, alpha, beta)
    return _final_fit(funcs, x, y, a, b, sst_floor, list(names))


def _checked_samples(x, y):
    """(n_edges, n_samples) float64 rows of ``x`` and ``y``, checked."""
    x, y = _as_rows(x, "x"), _as_rows(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    if x.shape[1] < 3:
        raise ValueError(f"need at least 3 samples to fit an edge; got {x.shape[1]}")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("edge samples contain NaN or inf")
    return x, y


@dataclass
class _Problem:
    """The search's view of the samples: ``x~ = (x - m) / h`` in [-1, 1] and centred y.

    m, h : (E,) centre and half-width of each edge's input range
    xs, yc : (E, n) the search samples (at most ``max_search``, even quantiles of x), x~ and
        y - mean; syy : (E,) sum of yc²; ystd : (E, 1) standard deviation of y
    """

    m: torch.Tensor
    h: torch.Tensor
    xs: torch.Tensor
    yc: torch.Tensor
    syy: torch.Tensor
    ystd: torch.Tensor

    @classmethod
    def of(cls, x, y, max_search):
        N = x.shape[1]
        lo, hi = x.min(1).values, x.max(1).values
        m, h = (lo + hi) / 2, (hi - lo) / 2
        flat = h <= 1e-12 * (1 + m.abs())
        if flat.any():
            raise ValueError(f"edge input is constant (value {float(m[flat][0]):.6g}) on all {N} "
                             "samples: no samples in range to fit a function to")
        xt = (x - m[:, None]) / h[:, None]
        if N > max_search:  # even quantiles of x: keeps both ends and the shape, cheaply
            pick = torch.linspace(0, N - 1, max_search).round().long()
            order = x.argsort(1)[:, pick]
            xs, ys = xt.gather(1, order), y.gather(1, order)
        else:
            xs, ys = xt, y
        yc = ys - ys.mean(1, keepdim=True)
        syy = (yc * yc).sum(1)
        ystd = (syy / xs.shape[1]).sqrt().clamp_min(1e-300)[:, None]
        return cls(m, h, xs, yc, syy, ystd)


def _searched(specs):
    return [n for n, spec in enumerate(specs) if spec.kind not in ("zero", "linear")]


def _grid_search(funcs, specs, prob, rounds, chunk):
    """Grid search and zoom, functions grouped by search spec (one batched op per group for
    the statistics, one call per function for its values), edges in chunks of memory.

    Returns alpha, beta, score: (E, F) of ``f(alpha x~ + beta)``; -1 score where not searched.
    """
    E, F = prob.xs.shape[0], len(funcs)
    alpha = torch.ones(E, F, dtype=prob.xs.dtype)
    beta = torch.zeros(E, F, dtype=prob.xs.dtype)
    score = torch.full((E, F), -1.0, dtype=prob.xs.dtype)
    groups: dict[SearchSpec, list[int]] = {}
    for n in _searched(specs):
        groups.setdefault(specs[n], []).append(n)
    for spec, cols in groups.items():
        group = [funcs[n] for n in cols]
        step = max(1, chunk // (len(cols) * len(spec.th1) * len(spec.th2) * prob.xs.shape[1]))
        for s in range(0, E, step):
            sl = slice(s, s + step)
            mh = (prob.m[sl, None], prob.h[sl, None]) if spec.kind == "range" else None
            a_g, b_g, r_g = _search(group, spec, prob.xs[sl], prob.yc[sl], prob.syy[sl], rounds,
                                    mh)
            alpha[sl, cols], beta[sl, cols], score[sl, cols] = a_g.T, b_g.T, r_g.T
    return alpha, beta, score


def _polish_promising(funcs, specs, prob, alpha, beta, score, iters, project=None):
    """Levenberg-Marquardt (all functions at once, on standardised y) on the candidates that
    can still matter for the ranking: r² >= 0.9 and within 1000x the best's residual.
    Updates ``alpha`` and ``beta`` in place; ``project`` keeps them in the user's ranges."""
    gap = 1 - score
    close = (score >= 0.9) & (gap <= 1000 * gap.min(1, keepdim=True).values + 1e-6)
    cols = [n for n in _searched(specs) if bool(close[:, n].any())]
    if not cols:
        return
    a_p, b_p = polish_affine([funcs[n] for n in cols], [specs[n] for n in cols], prob.xs,
                             prob.yc / prob.ystd, alpha[:, cols], beta[:, cols], iters,
                             project)
    alpha[:, cols], beta[:, cols] = a_p, b_p


def _canonical_affine(specs, prob, alpha, beta):
    """``f(alpha x~ + beta)`` back on the raw x as ``f(a x + b)``, in a canonical form (the
    redundant scale or shift goes into c or d). Returns a, b: (E, F)."""
    m, h = prob.m, prob.h
    a, b = alpha / h[:, None], beta - alpha * (m / h)[:, None]
    for n, spec in enumerate(specs):
        if spec.kind in ("zero", "linear"):  # x and 0: a = 1, b = 0 exactly
            a[:, n], b[:, n] = 1.0, 0.0
        elif spec.kind == "scale":  # f(s/h * v) = h^-p f(s v) (log: - log h + log(s v)): a = +-1
            a[:, n], b[:, n] = alpha[:, n], alpha[:, n] * (h * beta[:, n] * alpha[:, n] - m)
        elif spec.kind == "shift":  # exp(a x + b) = e^b exp(a x): b goes into c
            b[:, n] = torch.where(b[:, n].abs() <= 30, 0.0, b[:, n])
    return a, b


def _final_fit(funcs, x, y, a, b, sst_floor, names):
    """``(c, d)`` and r² on all samples; a failed fit is ``(1, 0, 0, mean)`` with r² = -inf."""
    E = x.shape[0]
    ymean = y.mean(1)
    sst = ((y - ymean[:, None]) ** 2).sum(1)
    floor = torch.zeros(E, dtype=x.dtype) if sst_floor is None else \
        torch.as_tensor(sst_floor, dtype=x.dtype).flatten().expand(E)
    denom = torch.maximum(sst, floor).clamp_min(1e-300)
    z, ok = _values(funcs, x, a, b)
    c, d, sse = solve_cd(z, y[:, None, :])
    fit_r2 = 1 - sse / denom[:, None]
    # a flat z explains nothing a constant would not: not this function ("0" is exempt)
    zc = z - z.mean(-1, keepdim=True)
    flat = (zc * zc).sum(-1) <= 1e-10 * (z * z).sum(-1) + 1e-280
    is_zero = torch.tensor([f.name == "0" for f in funcs])
    ok &= ~flat | is_zero
    # never hand out NaN parameters
    ok &= torch.isfinite(c) & torch.isfinite(d) & torch.isfinite(a) & torch.isfinite(b)
    a, b = torch.where(ok, a, 1.0), torch.where(ok, b, 0.0)
    c, d = torch.where(ok, c, 0.0), torch.where(ok, d, ymean[:, None])
    r2 = torch.where(ok, fit_r2, -math.inf)
    return AffineFits(names, a, b, c, d, r2)


def _values(funcs, x, a, b):
    """``f(a x + b)`` on all samples, (E, F, N), and (E, F) True where finite and in domain."""
    zs, ok = [], torch.ones(x.shape[0], len(funcs), dtype=torch.bool)
    for n, f in enumerate(funcs):
        if f.name == "0":
            zs.append(torch.zeros_like(x))
            continue
        u = torch.addcmul(b[:, n, None], a[:, n, None], x)
        z = f.safe_fn(u)
        fin = torch.isfinite(z)
        dom_ok = check_domain(f, domain_of(f), u)
        ok[:, n] = fin.all(1) if dom_ok is None else fin.all(1) & dom_ok
        zs.append(torch.where(fin, z, 0.0) if not f.builtin else z)
    return torch.stack(zs, 1), ok
