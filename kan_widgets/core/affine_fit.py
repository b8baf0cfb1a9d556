"""Fit ``y ~ c * f(a * x + b) + d`` for many candidate functions ``f`` and many edges at once.

For fixed ``(a, b)`` the best ``(c, d)`` is linear least squares, and its r² is the squared
correlation of ``f(a x + b)`` with ``y``. So the search runs over ``(a, b)`` only, scored by
that correlation, batched over a grid of ``(a, b)`` and over edges (one tensor op per function,
no Python loop over grid points or edges), then zooms in around the best grid point a few
times, and finally solves ``(c, d)`` on all samples.

The search works on ``x`` normalised to ``[-1, 1]`` (``x~ = (x - m) / h``), so one grid fits
every edge, and uses the invariances of each function to search fewer dimensions:

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
========  ============================================  =========================================

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
from .functions import domain_of, get_function

__all__ = ["fit_affine", "AffineFits"]


@dataclass(frozen=True)
class _Spec:
    kind: str  # zero | linear | scale | shift | phase | center
    th1: tuple = ()
    th2: tuple = (0.0,)


def _lin(lo, hi, n, endpoint=True):
    step = (hi - lo) / (n - 1 if endpoint else n)
    return tuple(lo + step * i for i in range(n))


_SCALE_T = tuple(sorted(set(_lin(-3.0, 3.0, 49) + tuple(
    s * 10 ** (math.log10(3.5) + i * (2 - math.log10(3.5)) / 9) for s in (-1, 1) for i in range(10)))))
_SCALE = _Spec("scale", _SCALE_T)
_LOG_A = _lin(math.log(0.1), math.log(20.0), 24)

SPECS: dict[str, _Spec] = {
    "0": _Spec("zero"),
    "x": _Spec("linear"),
    **{n: _SCALE for n in ("x^2", "x^3", "x^4", "x^5", "1/x", "1/x^2", "1/x^3", "1/x^4", "1/x^5",
                           "sqrt", "x^0.5", "x^1.5", "1/sqrt(x)", "1/x^0.5", "log", "abs", "sgn")},
    "exp": _Spec("shift", _lin(-12.0, 12.0, 49)),
    "sin": _Spec("phase", _lin(0.25, 12.0, 48), _lin(-math.pi / 2, math.pi / 2, 12, False)),
    "cos": _Spec("phase", _lin(0.25, 12.0, 48), _lin(-math.pi / 2, math.pi / 2, 12, False)),
    "tan": _Spec("phase", _lin(0.05, 1.55, 16), _lin(-1.5, 1.5, 13)),
    "arcsin": _Spec("phase", _lin(0.05, 1.0, 20), _lin(-0.95, 0.95, 20)),
    "arccos": _Spec("phase", _lin(0.05, 1.0, 20), _lin(-0.95, 0.95, 20)),
    "arctanh": _Spec("phase", _lin(0.05, 1.0, 20), _lin(-0.95, 0.95, 20)),
    "tanh": _Spec("center", _LOG_A, _lin(-2.0, 2.0, 17)),
    "sigmoid": _Spec("center", _lin(math.log(0.2), math.log(40.0), 24), _lin(-2.0, 2.0, 17)),
    "arctan": _Spec("center", _LOG_A, _lin(-2.0, 2.0, 17)),
    "gaussian": _Spec("center", _lin(math.log(0.1), math.log(12.0), 24), _lin(-3.0, 3.0, 25)),
    "cosh": _Spec("center", _lin(math.log(0.1), math.log(8.0), 20), _lin(-3.0, 3.0, 25)),
    "sinh": _Spec("center", _lin(math.log(0.1), math.log(8.0), 20), _lin(-3.0, 3.0, 25)),
}
# user functions: no symmetry known, so both signs of alpha and a plain (alpha, beta) grid
_USER = _Spec("phase", tuple(v for v in _lin(-10.0, 10.0, 41) if v != 0), _lin(-5.0, 5.0, 21))


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


def _ab(spec: _Spec, t1, t2):
    """Search parameters -> (alpha, beta) of ``f(alpha * x~ + beta)``; any shape."""
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
def _grid(spec: _Spec):
    g1 = torch.tensor(spec.th1, dtype=torch.float64)
    g2 = torch.tensor(spec.th2, dtype=torch.float64)
    T1, T2 = torch.meshgrid(g1, g2, indexing="ij")
    return g1, g2, T1.reshape(1, -1), T2.reshape(1, -1)


def _search(funcs, spec, xs, yc, syy, rounds):
    """Grid search for functions sharing one search ``spec``: a coarse grid (on every other
    sample: the shape is what counts there; one argument tensor for all the functions), then
    ``rounds`` zooms of a 5 x 5 (or 9-point) grid around each function's best point.

    xs, yc : (E, N); syy : (E,)
    Returns alpha, beta, r2, each (F, E): ``f(alpha * x~ + beta)`` and its score.
    """
    g1, g2, T1, T2 = _grid(spec)
    alpha, beta = _ab(spec, T1, T2)  # (1, G)
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
        alpha, beta = _ab(spec, c1, c2)
        u = torch.addcmul(beta[..., None], alpha[..., None], xs[None, :, None, :])
        probe = torch.addcmul(beta[..., None], alpha[..., None], _DOM_X)
        score, k = _score(funcs, u, probe, yc, syy).max(-1)
        t1, t2 = c1.gather(-1, k[..., None])[..., 0], c2.gather(-1, k[..., None])[..., 0]
        s1, s2 = s1 / 2, s2 / 2
    return (*_ab(spec, t1, t2), score)


def _as_rows(v, what) -> torch.Tensor:
    v = torch.as_tensor(v).detach().to("cpu", torch.float64)
    if v.ndim == 1:
        v = v[None]
    if v.ndim != 2:
        raise ValueError(f"{what} must be (n_samples,) or (n_edges, n_samples); got {tuple(v.shape)}")
    return v


def fit_affine(x, y, names, sst_floor=None, max_search: int = 128, rounds: int = 2,
               polish: int = 10, chunk: int = 1_000_000) -> AffineFits:
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

    Returns
    -------
    AffineFits with (n_edges, n_names) float64 tensors ``a, b, c, d, r2``.

    Raises
    ------
    ValueError : fewer than 3 samples, non-finite values, or an edge whose input is constant
    KeyError : unknown function name
    """
    x, y = _as_rows(x, "x"), _as_rows(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    E, N = x.shape
    if N < 3:
        raise ValueError(f"need at least 3 samples to fit an edge; got {N}")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("edge samples contain NaN or inf")
    funcs = [get_function(n) for n in names]  # unknown names fail here, with close matches
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

    # 1. grid search and zoom, functions grouped by search spec (one batched op per group
    # for the statistics, one call per function for its values)
    searched = [(n, f, SPECS.get(f.name, _USER)) for n, f in enumerate(funcs)
                if SPECS.get(f.name, _USER).kind not in ("zero", "linear")]
    alpha = torch.ones(E, len(funcs), dtype=x.dtype)
    beta = torch.zeros(E, len(funcs), dtype=x.dtype)
    score = torch.full((E, len(funcs)), -1.0, dtype=x.dtype)
    groups: dict[_Spec, list[int]] = {}
    for n, _, spec in searched:
        groups.setdefault(spec, []).append(n)
    for spec, cols in groups.items():
        group = [funcs[n] for n in cols]
        step = max(1, chunk // (len(cols) * len(spec.th1) * len(spec.th2) * xs.shape[1]))
        for s in range(0, E, step):
            sl = slice(s, s + step)
            a_g, b_g, r_g = _search(group, spec, xs[sl], yc[sl], syy[sl], rounds)
            alpha[sl, cols], beta[sl, cols], score[sl, cols] = a_g.T, b_g.T, r_g.T
    # 2. polish (Levenberg-Marquardt, all functions at once, on standardised y) the candidates
    # that can still matter for the ranking: r² >= 0.9 and within 1000x the best's residual
    gap = 1 - score
    close = (score >= 0.9) & (gap <= 1000 * gap.min(1, keepdim=True).values + 1e-6)
    cols = [n for n, _, _ in searched if bool(close[:, n].any())]
    if cols and polish > 0:
        pol = [(f, SPECS.get(f.name, _USER)) for f in (funcs[n] for n in cols)]
        a_p, b_p = polish_affine([f for f, _ in pol], [sp for _, sp in pol], xs, yc / ystd,
                           alpha[:, cols], beta[:, cols], polish)
        alpha[:, cols], beta[:, cols] = a_p, b_p
    # back to the raw x, in a canonical form (the redundant scale or shift goes into c or d)
    a, b = alpha / h[:, None], beta - alpha * (m / h)[:, None]
    plain = [n for n, f in enumerate(funcs) if SPECS.get(f.name, _USER).kind in ("zero", "linear")]
    a[:, plain], b[:, plain] = 1.0, 0.0  # x and 0: a = 1, b = 0 exactly
    for n, _, spec in searched:
        if spec.kind == "scale":  # f(s/h * v) = h^-p f(s v) (log: - log h + log(s v)): a = +-1
            a[:, n], b[:, n] = alpha[:, n], alpha[:, n] * (h * beta[:, n] * alpha[:, n] - m)
        elif spec.kind == "shift":  # exp(a x + b) = e^b exp(a x): b goes into c
            b[:, n] = torch.where(b[:, n].abs() <= 30, 0.0, b[:, n])

    # 3. (c, d) and r² on all samples
    ymean = y.mean(1)
    sst = ((y - ymean[:, None]) ** 2).sum(1)
    floor = torch.zeros(E, dtype=x.dtype) if sst_floor is None else \
        torch.as_tensor(sst_floor, dtype=x.dtype).flatten().expand(E)
    denom = torch.maximum(sst, floor).clamp_min(1e-300)
    zs, ok = [], torch.ones(E, len(funcs), dtype=torch.bool)
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
    z = torch.stack(zs, 1)  # (E, F, N)
    c, d, sse = solve_cd(z, y[:, None, :])
    fit_r2 = 1 - sse / denom[:, None]
    # a flat z explains nothing a constant would not: not this function ("0" is exempt)
    zc = z - z.mean(-1, keepdim=True)
    flat = (zc * zc).sum(-1) <= 1e-10 * (z * z).sum(-1) + 1e-280
    is_zero = torch.tensor([f.name == "0" for f in funcs])
    ok &= ~flat | is_zero
    # never hand out NaN parameters: a failed fit is (a, b, c, d) = (1, 0, 0, mean)
    ok &= torch.isfinite(c) & torch.isfinite(d) & torch.isfinite(a) & torch.isfinite(b)
    a, b = torch.where(ok, a, 1.0), torch.where(ok, b, 0.0)
    c, d = torch.where(ok, c, 0.0), torch.where(ok, d, ymean[:, None])
    r2 = torch.where(ok, fit_r2, -math.inf)
    return AffineFits(list(names), a, b, c, d, r2)
