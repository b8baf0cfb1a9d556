"""Symbolic edges, torch side: suggest, fix, unfix and auto-fix ``c*f(a*x+b)+d`` on edges.

Fits are made against the edge's *spline* (``scale_base * b(x) + scale_sp * spline(x)``) on
its actual inputs, also when the edge is currently symbolic: the spline is kept untouched
while an edge is fixed, so refitting or unfixing always starts from what the data taught.

Ranking (``rank_fits``)
-----------------------
Each candidate gets ``score = log10(max(1 - r2, R2_RESOLUTION)) + weight_simple * complexity``,
lower is better: ``weight_simple`` is how many decades of unexplained variance one unit of
complexity is worth. The default 1.2 is pykan's trade-off (its ``weight_simple=0.8`` on a
log2 scale): ``x^2`` (complexity 2) beats ``x^4`` (3) unless ``x^4`` leaves 16x less
unexplained. A strong preference for simple functions is what recovery needs: a KAN's hidden
nodes can be slightly warped (the next layer unwarps them), a fancier function fits the
warp better than ``x`` does, and retraining after fixing the simple one removes the warp.
Candidates with ``r2 < min_r2`` rank after every candidate above it, by r² alone: a fit like
``x`` with r² 0.16 is never preferred for being simple. ``R2_RESOLUTION`` (1e-6): fits
closer than that to the edge's samples all count as exact (a float32 spline is not more
accurate), so among them the simplest wins, then the one earlier in the library (``x^2``
before ``sin``, whose near-flat stretch can mimic a parabola).

The ``"0"`` function (pykan's known failure: it wins silently on edges that carry signal)
explains nothing, so its r² is 0 on any edge with visible spread. r² is measured against
``max(SST, n * (ZERO_TOL * node_std)^2)``, where ``node_std`` is the spread of the node the edge
feeds: an edge whose spread is below ``ZERO_TOL`` (1 %) of its node's counts as flat, and
there ``"0"`` fits well and wins by simplicity, as it should.
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from typing import NamedTuple

import torch

from .affine_fit import check_range, fit_affine
from .edges import EdgeId, as_edge
from .functions import default_library, domain_of, get_function
from .threads import scoped
from .transaction import atomic

__all__ = ["SymbolicFit", "SymbolicMixin", "SymbolicDomainWarning", "rank_fits", "R2_RESOLUTION"]

R2_RESOLUTION = 1e-6
ZERO_TOL = 1e-2  # an edge below 1 % of its node's spread counts as flat (see module doc)


class SymbolicFit(NamedTuple):
    """A fitted symbolic candidate ``y = c * f(a * x + b) + d`` for one edge.

    ``r2`` is measured on the samples used for the fit (NaN when fixed without samples).
    """

    name: str
    r2: float
    complexity: int
    a: float
    b: float
    c: float
    d: float

    def evaluate(self, x, safe: bool = True):
        """``c * f(a * x + b) + d`` on the tensor ``x`` (any shape; same shape back).

        ``safe=True`` uses the singularity-safe variant of ``f`` (what the model computes);
        ``safe=False`` the exact function (NaN/inf outside its domain).
        """
        f = get_function(self.name)
        return self.c * (f.safe_fn if safe else f.fn)(self.a * x + self.b) + self.d


class SymbolicDomainWarning(RuntimeWarning):
    """Some edge inputs lie outside the fixed function's domain; the singularity-safe variant
    (clamped argument) is what the model computes there."""


def rank_fits(fits, weight_simple=1.2, min_r2=0.9):
    """Sort ``SymbolicFit``s best first (see the module docstring for the rule); exact ties go
    to the earlier one in ``fits`` (library order)."""
    def key(item):
        n, f = item
        r2 = f.r2 if math.isfinite(f.r2) else -math.inf
        if r2 >= min_r2:
            score = math.log10(max(1 - r2, R2_RESOLUTION)) + weight_simple * f.complexity
            return (0, round(score, 9), f.complexity, n)
        return (1, -r2, f.complexity, n)
    return [f for _, f in sorted(enumerate(fits), key=key)]


def _check_lib(lib):
    names = default_library() if lib is None else ([lib] if isinstance(lib, str) else list(lib))
    if not names:
        raise ValueError("lib is empty: give function names like ['x', 'x^2', 'sin']")
    for n in names:
        get_function(n)  # unknown names: KeyError with the closest known names
    return names


def _check_ranges(a_range, b_range):
    for r, what in ((a_range, "a_range"), (b_range, "b_range")):
        if r is not None:
            check_range(r, what)


def _pykan_edge(verb):
    """Let ``verb`` take pykan's ``(l, i, j, ...)`` as well as ``(edge, ...)``: three leading
    ints become the edge tuple, the remaining arguments follow it."""
    @functools.wraps(verb)
    def wrapper(self, *args, **kwargs):
        if len(args) >= 3 and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                  for v in args[:3]):
            args = (tuple(int(v) for v in args[:3]), *args[3:])
        return verb(self, *args, **kwargs)
    return wrapper


def _fits_of(fits, k: int, names) -> list[SymbolicFit]:
    """Row ``k`` of an ``AffineFits`` as SymbolicFit tuples."""
    rows = zip(*(v[k].tolist() for v in (fits.r2, fits.a, fits.b, fits.c, fits.d)))
    return [SymbolicFit(n, r2, get_function(n).complexity, a, b, c, d)
            for n, (r2, a, b, c, d) in zip(names, rows)]


class SymbolicMixin:
    """Symbolic verbs for ``KAN``."""

    # ------------------------------------------------------------------ samples
    def _spline_weight(self, l: int) -> torch.Tensor:
        """Every edge's spline-branch weight, masks and symbolic flags ignored: (n_in, 1+K, n_out)."""
        layer = self.layers[l]
        return torch.cat([layer.scale_base.unsqueeze(1),
                          layer.scale_sp.unsqueeze(1) * layer.coef.transpose(1, 2)], dim=1)

    def _inputs_of(self, l: int, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.layer_input(x, l).detach()

    def _edge_samples(self, l: int, x_l: torch.Tensor, pairs):
        """Inputs, spline values and flatness floors of edges ``pairs`` [(src, dst), ...] of
        layer ``l`` given that layer's inputs ``x_l`` (B, n_in).

        Returns x (E, B), y (E, B) float64 and sst_floor (E,).
        """
        layer = self.layers[l]
        with torch.no_grad():
            feats = layer.features(x_l)  # (B, n_in, 1 + K)
            w = self._spline_weight(l)
            src = torch.tensor([i for i, _ in pairs], device=x_l.device)
            dst = torch.tensor([j for _, j in pairs], device=x_l.device)
            ys = torch.einsum("bep,ep->eb", feats[:, src, :], w[src, :, dst])  # (E, B)
            node_std = layer.edge_sum(x_l, feats).std(0)  # spread of each node's sum
        floor = x_l.shape[0] * (ZERO_TOL * node_std[dst].double()) ** 2
        return x_l[:, src].T.double().cpu(), ys.double().cpu(), floor.cpu()

    def _check_in_range(self, e: EdgeId, x: torch.Tensor):
        """'No samples in range': none of the inputs lies inside the edge's grid interval."""
        layer = self.layers[e.layer]
        lo, hi = float(layer.knots[e.src, layer.k]), float(layer.knots[e.src, -layer.k - 1])
        inside = int(((x >= lo) & (x <= hi)).sum())
        if inside < 3:
            raise ValueError(
                f"edge {tuple(e)}: no samples in range: {inside} of {x.numel()} inputs lie inside "
                f"its grid [{lo:.4g}, {hi:.4g}], where the spline is defined; pass X from the "
                "data the model was trained on"
            )

    def _live_edge(self, edge) -> EdgeId:
        e = EdgeId(*as_edge(edge, self.width, self.width_out))
        if self.layers[e.layer].mask[e.src, e.dst] == 0:
            raise ValueError(f"edge {tuple(e)} is pruned; unprune it first "
                             f"(model.unprune({tuple(e)}))")
        return e

    def _fit_edge(self, e: EdgeId, names, X, a_range=None, b_range=None):
        x_l = self._inputs_of(e.layer, self._require_samples(X, "fitting a symbolic function"))
        xs, ys, floor = self._edge_samples(e.layer, x_l, [(e.src, e.dst)])
        self._check_in_range(e, xs[0])
        try:
            fits = fit_affine(xs, ys, names, floor, a_range=a_range, b_range=b_range)
        except ValueError as err:
            raise ValueError(f"edge {tuple(e)}: {err}") from None
        return _fits_of(fits, 0, names), xs[0]

    # ------------------------------------------------------------------ verbs
    @_pykan_edge
    @scoped("symbolic")
    def suggest_symbolic(self, edge, lib=None, topk=5, X=None, weight_simple=1.2, min_r2=0.9,
                         a_range=None, b_range=None):
        """Rank library functions for ``edge`` by how well ``c*f(a*x+b)+d`` fits its spline.

        Parameters
        ----------
        edge : EdgeId or (layer, src, dst); pykan's ``suggest_symbolic(l, i, j)`` works too
        lib : function names to try; default every library function except aliases
        topk : how many to return (None: all)
        X : (n, width[0]) samples; default the inputs of the last ``fit``
        weight_simple : decades of unexplained variance one unit of complexity is worth
        min_r2 : candidates below this r² rank after all candidates above it
        a_range, b_range : (low, high), optional: search ``a`` and ``b`` of ``f(a*x+b)`` over
            this rectangle (pykan's ``a_range``, ``b_range``; the missing one is ``(-10, 10)``).
            Default: each function's own search, which covers up to about 12 half-periods of
            a sine over the edge's inputs; widen for arguments that run further (``J0(20x)``
            on [-1, 1]: ``a_range=(-40, 40)``). See ``core.affine_fit``.

        Returns
        -------
        list of SymbolicFit, best first. Nothing is changed.
        """
        e = self._live_edge(edge)
        names = _check_lib(lib)
        if not weight_simple >= 0:
            raise ValueError(f"weight_simple must be >= 0; got {weight_simple!r}")
        _check_ranges(a_range, b_range)
        fits, _ = self._fit_edge(e, names, X, a_range, b_range)
        ranked = rank_fits(fits, weight_simple, min_r2)
        return ranked if topk is None else ranked[:max(int(topk), 1)]

    @_pykan_edge
    @scoped("symbolic")
    @atomic("fix_symbolic")
    def fix_symbolic(self, edge, name, fit=True, X=None, a_range=None, b_range=None):
        """Replace ``edge``'s spline by ``c * name(a * x + b) + d``. In place; returns self.

        ``edge`` is an EdgeId or ``(layer, src, dst)``; pykan's ``fix_symbolic(l, i, j, name)``
        works too. With ``fit=True`` the parameters are fitted to the edge's spline on ``X``
        (default: the last ``fit``'s inputs), searching ``a`` and ``b`` over ``a_range`` and
        ``b_range`` when given (see ``suggest_symbolic``); with ``fit=False`` they are
        ``a=1, b=0, c=1, d=0``. The
        ``SymbolicFit`` is kept in ``symbolic_fits_[edge]``; the parameters themselves live in
        the layer's ``sym_affine`` and keep training in ``fit``. The spline is kept, so
        ``unfix_symbolic`` restores it exactly.

        Raises
        ------
        KeyError : unknown function name (the message lists the closest names)
        IndexError, ValueError : the edge does not exist, is pruned, has a constant input
            or no samples in its grid range, or no ``a, b`` keeps its inputs inside the
            function's domain

        Warns
        -----
        SymbolicDomainWarning : with ``fit=False``, when some inputs fall outside the domain
            (the model then evaluates the singularity-safe variant there)
        """
        e = self._live_edge(edge)
        f = get_function(name)
        _check_ranges(a_range, b_range)
        if fit:
            (sf,), _ = self._fit_edge(e, [name], X, a_range, b_range)
            if sf.r2 == -math.inf:
                raise ValueError(f"edge {tuple(e)}: {name!r} cannot be fitted: no a*x + b keeps "
                                 "the edge's inputs inside its domain; try another function")
        else:
            sf = SymbolicFit(name, math.nan, f.complexity, 1.0, 0.0, 1.0, 0.0)
            if X is not None or self.X_fit_ is not None:
                sf = self._check_unfitted(e, sf, X)
        layer = self.layers[e.layer]
        affine = torch.tensor(sf[3:], dtype=layer.sym_affine.dtype)
        if not torch.isfinite(affine).all():
            raise ValueError(f"edge {tuple(e)}: fitted parameters {sf[3:]} overflow "
                             f"{layer.sym_affine.dtype}")
        layer.set_symbolic(e.src, e.dst, name, affine.to(layer.sym_affine.device))
        self.symbolic_fits_[e] = sf
        self.mark_changed()
        return self

    def _check_unfitted(self, e, sf, X):
        """r² of ``f(x)`` as is, and a warning when inputs leave the domain."""
        x_l = self._inputs_of(e.layer, self._require_samples(X, "fix_symbolic"))
        xs, ys, floor = self._edge_samples(e.layer, x_l, [(e.src, e.dst)])
        f = get_function(sf.name)
        dom = domain_of(f)
        if dom is not None:
            out = int((~dom(xs[0])).sum())
            if out:
                warnings.warn(f"edge {tuple(e)}: {out} of {xs.shape[1]} inputs lie outside the "
                              f"domain of {sf.name!r}; the model evaluates its singularity-safe "
                              "variant there (use fit=True to fit a, b)", SymbolicDomainWarning,
                              stacklevel=3)
        z = sf.evaluate(xs[0])  # a=1, b=0, c=1, d=0: f(x) as is
        sse = float(((ys[0] - z) ** 2).sum())
        sst = float(((ys[0] - ys[0].mean()) ** 2).sum())
        r2 = 1 - sse / max(sst, float(floor[0]), 1e-300)
        return sf._replace(r2=r2 if math.isfinite(r2) else -math.inf)

    @atomic("unfix_symbolic")
    def unfix_symbolic(self, edge):
        """Back to the spline, exactly as it was (its coefficients were never touched).
        In place; returns self. A spline edge is left as it is."""
        e = EdgeId(*as_edge(edge, self.width, self.width_out))
        layer = self.layers[e.layer]
        if bool(layer.symbolic[e.src, e.dst]):
            layer.set_symbolic(e.src, e.dst, None)
        self.symbolic_fits_.pop(e, None)
        self.mark_changed()
        return self

    @scoped("symbolic")
    @atomic("auto_symbolic")
    def auto_symbolic(self, lib=None, r2_threshold=0.9, weight_simple=1.2, X=None, layers=None,
                      verbose=False, a_range=None, b_range=None):
        """Fix every live spline edge to its best-ranked function. In place; returns self.

        Layer by layer (later layers are fitted on inputs computed with the earlier layers
        already symbolic). An edge whose best candidate has ``r2 < r2_threshold`` stays a
        spline, with a warning that names it and its best candidate. An edge whose input is
        constant is fixed to ``"0"`` with ``d`` = its constant value (exact). Already symbolic
        and pruned edges are left alone. What happened is kept in ``auto_symbolic_report_``,
        a list of ``{"edge", "action" ("fixed" or "kept spline"), "fit"}``.

        Parameters
        ----------
        lib : function names to try; default every library function except aliases
        r2_threshold : minimum r² to fix an edge (also the ``min_r2`` of the ranking). pykan's
            default is 0.0 (every edge is fixed, however poor its best fit); here 0.9, so an
            edge no function explains stays a spline and is named in a warning. Pass
            ``r2_threshold=0.0`` for pykan's behaviour.
        weight_simple : see ``suggest_symbolic``. Not pykan's scale: pykan's
            ``weight_simple=0.8`` (on log2 of the unexplained variance) corresponds to 1.2 here
            (the default; see the module doc).
        X : (n, width[0]) samples; default the inputs of the last ``fit``
        layers : layer indices to process (default all). Fixing one layer, retraining, then
            the next (``auto_symbolic(layers=[0]).fit(...)``, ...) lets later layers absorb
            the small errors of earlier fits: KANs are not identifiable (a hidden node can be
            warped and unwarped), and retraining after each layer pulls them to the simple form.
        verbose : print one line per edge
        a_range, b_range : (low, high), optional search ranges of ``a`` and ``b`` (see
            ``suggest_symbolic``); slower: a grid over the whole rectangle for every function
        """
        names = _check_lib(lib)
        if not weight_simple >= 0:
            raise ValueError(f"weight_simple must be >= 0; got {weight_simple!r}")
        _check_ranges(a_range, b_range)
        x = self._require_samples(X, "auto_symbolic")
        todo_layers = range(self.depth) if layers is None else sorted({int(v) for v in layers})
        for l in todo_layers:
            if not 0 <= l < self.depth:
                raise IndexError(f"layer {l} does not exist: layers are 0..{self.depth - 1}")
        report = []
        for l in todo_layers:
            layer = self.layers[l]
            live = ((layer.mask > 0) & ~layer.symbolic).nonzero().tolist()
            if not live:
                continue
            x_l = self._inputs_of(l, x)
            xs, ys, floor = self._edge_samples(l, x_l, [tuple(p) for p in live])
            flat = (xs.max(1).values - xs.min(1).values) <= 1e-12 * (1 + xs.abs().max(1).values)
            todo = [n for n in range(len(live)) if not flat[n]]
            fits = fit_affine(xs[todo], ys[todo], names, floor[todo], a_range=a_range,
                              b_range=b_range) if todo else None
            for n, (i, j) in enumerate(live):
                e = EdgeId(l, i, j)
                if flat[n]:  # constant input: the edge is the constant ys; "0" + d is exact
                    best = SymbolicFit("0", 1.0, 0, 1.0, 0.0, 0.0, float(ys[n].mean()))
                else:
                    cands = _fits_of(fits, todo.index(n), names)
                    best = rank_fits(cands, weight_simple, r2_threshold)[0]
                affine = torch.tensor(best[3:], dtype=layer.sym_affine.dtype)
                if best.r2 >= r2_threshold and bool(torch.isfinite(affine).all()):
                    layer.set_symbolic(i, j, best.name, affine.to(layer.sym_affine.device))
                    self.symbolic_fits_[e] = best
                    report.append({"edge": e, "action": "fixed", "fit": best})
                else:
                    report.append({"edge": e, "action": "kept spline", "fit": best})
                if verbose:
                    print(f"{str(e):>9}  {report[-1]['action']:<11}  {best.name:<10} "
                          f"r2={best.r2:.6f}")
        kept = [r for r in report if r["action"] == "kept spline"]
        if kept:
            warnings.warn(
                f"auto_symbolic left {len(kept)} edge(s) as splines (best r² below "
                f"r2_threshold={r2_threshold}): "
                + ", ".join(f"{tuple(r['edge'])} best {r['fit'].name!r} r²={r['fit'].r2:.3f}"
                            for r in kept[:10])
                + ". Train longer, refine the grid, widen lib or lower r2_threshold.",
                RuntimeWarning, stacklevel=2,
            )
        self.auto_symbolic_report_ = report
        self.mark_changed()
        return self
