"""What the Explorer draws, as plain numbers: no widgets, no plotly.

``build_scene`` turns a model into every edge's curve already placed in its cell of a
:class:`~kan_widgets.explore.layout.NetworkLayout`, plus mode, attribution score and opacity.
``edge_detail`` is the large view of one edge with the samples it sees; ``fix_previews`` says
what fixing an edge to each candidate would do to the loss, without touching the model.

All functions read the model only (they never call a verb such as ``attribute``: scores are
passed in, e.g. from ``model.attribution``); call them under the session lock when other
threads may mutate it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.edges import EdgeId, as_edge
from .task import cross_entropy

__all__ = ["NetworkScene", "EdgeDetail", "build_scene", "edge_detail", "fix_previews",
           "candidate_curve", "formula_text", "FormulaText", "ALPHA_LEVELS"]
# Opacity is bucketed: plotly gives one opacity per line trace, so curves are grouped into a few
# traces per level instead of one trace per edge (fewer traces = faster updates).
ALPHA_LEVELS = np.array([0.12, 0.3, 0.5, 0.75, 1.0])
_CURVE_BOX = (0.08, 0.84, 0.38)  # x margin, x span, y half-height as fractions of the cell


@dataclass
class NetworkScene:
    """Every edge of a model, ready to draw (arrays indexed like ``layout.edges``).

    Attributes
    ----------
    modes : (n_edges,) str array, "spline" / "symbolic" / "pruned"
    scores : (n_edges,) attribution scores (NaN when unknown)
    level : (n_edges,) int index into ``ALPHA_LEVELS``
    curve_x, curve_y : (n_edges, n_points) each edge's curve in figure coordinates
    functions : symbolic function name per edge ("" for splines)
    r2 : (n_edges,) r² of the symbolic fit (NaN for splines)
    """

    modes: np.ndarray
    scores: np.ndarray
    level: np.ndarray
    curve_x: np.ndarray
    curve_y: np.ndarray
    functions: list[str]
    r2: np.ndarray

    def paths(self, mode: str, level: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Curves of one mode (and opacity level) joined into NaN-separated x, y arrays."""
        sel = self.modes == mode
        if level is not None:
            sel &= self.level == level
        return _join(self.curve_x[sel], self.curve_y[sel])

    def curves_of(self, idx) -> tuple[np.ndarray, np.ndarray]:
        """The curves of edge indices ``idx`` as one NaN-separated path."""
        idx = np.asarray(idx, dtype=int)
        return _join(self.curve_x[idx], self.curve_y[idx])

    def hover(self, layout) -> list[str]:
        """Hover text per edge cell: id, endpoints, mode or function with r², score."""
        out = []
        for n, e in enumerate(layout.edges):
            src = layout.node_labels[e.layer][e.src]
            dst = layout.sub_labels[e.layer + 1][e.dst]  # a factor of a product: "h1.1 ×2"
            what = self.modes[n]
            if what == "symbolic":
                what = f"{self.functions[n]} (r² {self.r2[n]:.4f})"
            score = "n/a" if np.isnan(self.scores[n]) else f"{self.scores[n]:.3g}"
            out.append(f"edge {e}<br>{src} → {dst}<br>{what}<br>score {score}")
        return out


@dataclass
class EdgeDetail:
    """One edge, large: its function on a fine grid and on the samples it sees."""

    edge: EdgeId
    mode: str
    function: str
    r2: float
    score: float
    src_name: str
    dst_name: str
    curve_x: np.ndarray
    curve_y: np.ndarray
    sample_x: np.ndarray
    sample_y: np.ndarray


def _join(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(x) == 0:
        return np.array([]), np.array([])
    gap = np.full((len(x), 1), np.nan)
    return np.concatenate([x, gap], 1).ravel(), np.concatenate([y, gap], 1).ravel()


def _np(t: torch.Tensor) -> np.ndarray:
    # always a fresh array: the widgets send numpy arrays as binary buffers, and a view into
    # a larger buffer (a row or column) did not arrive intact in the browser
    return t.detach().to("cpu", torch.float64).numpy().copy()


def _input_ranges(layer) -> tuple[torch.Tensor, torch.Tensor]:
    """The spline domain of each input of ``layer``: inner knots, which track the data."""
    k = layer.k
    return layer.knots[:, k], layer.knots[:, -k - 1]


def _opacity_level(scores: np.ndarray) -> np.ndarray:
    """Bucket index of each score; opacity ``tanh(3 score)`` as pykan, never invisible."""
    alpha = np.where(np.isnan(scores), 1.0, np.tanh(3 * np.nan_to_num(scores)))
    return np.abs(alpha[:, None] - ALPHA_LEVELS[None, :]).argmin(1)


def _scores_of(model, scores):
    """Edge scores to show: the given list, else the model's stored ``edge_scores_``, else
    (``scores=True``) computed on the last fit's inputs without storing; None when unknown."""
    if scores is None or scores is False:
        return None
    if scores is True:
        if model.edge_scores_ is not None:
            return model.edge_scores_
        return model.attribution()[0] if model.X_fit_ is not None else None
    return scores


def build_scene(model, layout, n_points: int = 24, scores=True) -> NetworkScene:
    """Every edge's curve in its cell, modes, scores and opacity levels.

    Parameters
    ----------
    model : KAN
    layout : NetworkLayout of ``model.width``
    n_points : samples per curve (24 looks smooth at cell size)
    scores : edge scores per layer (``model.attribution(X)[0]``); True (default) uses the
        model's stored ``edge_scores_`` or computes them on ``model.X_fit_`` without storing;
        None or False draws without scores
    """
    if list(layout.width) != list(model.width):
        raise ValueError(f"layout is for width {layout.width}, model has {model.width}")
    edge_scores = _scores_of(model, scores)
    t = torch.linspace(0, 1, n_points, dtype=model.dtype, device=model.device)
    vals, modes, score = [], [], []
    with torch.no_grad():
        for l, layer in enumerate(model.layers):
            lo, hi = _input_ranges(layer)
            grid = lo + (hi - lo) * t[:, None]  # (P, n_in)
            acts = layer.activations(grid)  # (P, n_out, n_in)
            vals.append(_np(acts.permute(2, 1, 0).reshape(-1, n_points)))  # (src, dst) order
            mode = np.where(_np(layer.mask).ravel() == 0, "pruned",
                            np.where(layer.symbolic.cpu().numpy().ravel(), "symbolic", "spline"))
            modes.append(mode)
            if edge_scores is not None:
                score.append(_np(edge_scores[l]).ravel())
            else:
                score.append(np.full(layer.n_in * layer.n_out, np.nan))
    v = np.concatenate(vals)  # (n_edges, P)
    modes = np.concatenate(modes)
    score = np.concatenate(score)
    # each curve fills its cell; flat edges stay flat: the half-range is at least 10% of the
    # largest in their layer, so noise around zero is not blown up to full height
    vmin, vmax = v.min(1), v.max(1)
    half = (vmax - vmin) / 2
    layer_of = np.array([e.layer for e in layout.edges])
    floor = np.zeros(len(v))
    for l in range(model.depth):
        sel = layer_of == l
        floor[sel] = 0.1 * half[sel].max(initial=0.0)
    half = np.maximum(np.maximum(half, floor), 1e-12)
    mid = (vmax + vmin) / 2
    x0, x1, y0, y1 = layout.cells.T
    mx, span, hh = _CURVE_BOX
    cx = x0[:, None] + (x1 - x0)[:, None] * (mx + span * _np(t)[None, :])
    cy = ((y0 + y1) / 2)[:, None] + (v - mid[:, None]) / half[:, None] * ((y1 - y0) * hh)[:, None]
    functions, r2 = [""] * len(v), np.full(len(v), np.nan)
    for e, fit in model.symbolic_fits_.items():
        n = layout.index.get(EdgeId(*e))
        if n is not None and modes[n] == "symbolic":
            functions[n], r2[n] = fit.name, float(fit.r2)
    return NetworkScene(modes=modes, scores=score, level=_opacity_level(score), curve_x=cx,
                        curve_y=cy, functions=functions, r2=r2)


def edge_detail(model, edge, X=None, n_points: int = 200, max_samples: int = 1000,
                names=None, scores=True, dst_names=None) -> EdgeDetail:
    """The function of ``edge`` on a fine grid and on (up to ``max_samples``) samples.

    ``X`` defaults to the inputs of the model's last fit; without samples only the curve is
    given. ``names`` is a list of node-label lists (``NetworkLayout.node_labels``), naming the
    source; ``dst_names`` the same for destinations, which are sub-nodes
    (``NetworkLayout.sub_labels``; default ``names``); ``scores`` as in ``build_scene``.
    """
    e = as_edge(edge, model.width, getattr(model, "width_out", None))
    layer = model.layers[e.layer]
    with torch.no_grad():
        X = model.X_fit_ if X is None else model.check_input(X)
        sx = sy = np.array([])
        if X is not None:
            X = X[:max_samples]
            xl = model.layer_input(X, e.layer)
            sx = _np(xl[:, e.src])
            sy = _np(layer.activations(xl)[:, e.dst, e.src])
        lo, hi = (float(v[e.src]) for v in _input_ranges(layer))
        if len(sx):
            lo, hi = min(lo, sx.min()), max(hi, sx.max())
        grid = torch.linspace(lo, hi, n_points, dtype=model.dtype, device=model.device)
        g = torch.zeros(n_points, layer.n_in, dtype=model.dtype, device=model.device)
        g[:, e.src] = grid
        cy = _np(layer.activations(g)[:, e.dst, e.src])
    mode = model.edge_mode(e)
    fit = model.symbolic_fits_.get(e) if mode == "symbolic" else None
    edge_scores = _scores_of(model, scores)
    score = (float("nan") if edge_scores is None
             else float(edge_scores[e.layer][e.src, e.dst]))
    src = names[e.layer][e.src] if names else f"{e.layer}.{e.src}"
    dst_names = dst_names or names
    dst = dst_names[e.layer + 1][e.dst] if dst_names else f"{e.layer + 1}.{e.dst}"
    return EdgeDetail(edge=e, mode=mode, function=fit.name if fit else "",
                      r2=float(fit.r2) if fit else float("nan"), score=score, src_name=src,
                      dst_name=dst, curve_x=_np(grid), curve_y=cy, sample_x=sx, sample_y=sy)


def candidate_curve(fit, x) -> np.ndarray:
    """``c * f(a * x + b) + d`` of a ``SymbolicFit`` on the points ``x`` (exact ``f``)."""
    xt = torch.tensor(np.array(x, dtype=np.float64))
    with torch.no_grad():
        y = np.asarray(fit.evaluate(xt, safe=False), dtype=np.float64)
    return np.where(np.isfinite(y), y, np.nan)


def fix_previews(model, edge, fits, X, y, task="regression") -> np.ndarray:
    """RMSE on ``(X, y)`` if ``edge`` were fixed to each of ``fits``, model untouched; for
    ``task="classification"`` (``y``: (n,) labels) the cross-entropy instead.

    Exact and cheap: the layer output of the edge's destination changes by
    ``node_scale * (new - old)``; only the layers after it are re-run, all candidates in one
    batch. Returns a (len(fits),) array.
    """
    e = as_edge(edge, model.width, getattr(model, "width_out", None))
    if not len(fits):
        return np.array([])
    layer = model.layers[e.layer]
    with torch.no_grad():
        X = model.check_input(X)
        if task != "classification":
            y = torch.as_tensor(y, dtype=model.dtype, device=model.device).reshape(len(X), -1)
        xl = model.layer_input(X, e.layer)
        out = layer(xl)  # (B, n_out)
        old = layer.activations(xl)[:, e.dst, e.src]  # (B,)
        xi = xl[:, e.src]
        mask = layer.mask[e.src, e.dst]
        # a handful of candidates; each is one elementwise op
        new = torch.stack([f.evaluate(xi) * mask for f in fits])  # (K, B)
        outs = out.unsqueeze(0).repeat(len(fits), 1, 1)  # (K, B, n_out)
        outs[:, :, e.dst] += layer.node_scale[e.dst] * (new - old)
        z = model.nodes_from_subnodes(e.layer, outs.reshape(-1, out.shape[1]))
        for l in range(e.layer + 1, model.depth):  # products of sub-nodes included
            z = model.nodes_from_subnodes(l, model.layers[l](z))
        pred = z.reshape(len(fits), len(X), -1)
        if task == "classification":
            return np.array([cross_entropy(p, y) for p in pred])
        rmse = ((pred - y.unsqueeze(0)) ** 2).mean((1, 2)).sqrt()
    return _np(rmse)


@dataclass
class FormulaText:
    """The model's formula as text for the formula panel.

    Attributes
    ----------
    latex : display LaTeX, one ``name = expr`` line per output ("" when there is no formula)
    sympy : sympy source that rebuilds the expressions
    python : a numpy function computing the outputs
    error : why there is no formula ("" when there is one)
    n_spline : live edges that are still splines
    """

    latex: str
    sympy: str
    python: str
    error: str
    n_spline: int


def formula_text(model, variables=None, outputs=None, digits=4) -> FormulaText:
    """Extract the formula with ``kan_widgets.symbolic.formula`` and render it three ways.

    A model with spline edges left has no closed form: the text then says how many edges to
    fix or prune.
    """
    # imported here, not for a cycle: sympy costs ~0.4 s, paid only when a formula is shown
    import sympy

    from .. import symbolic

    n_spline = len(model.edges("spline"))
    outputs = output_symbols(outputs, variables, model.width[-1])
    try:
        exprs = list(symbolic.formula(model, variables=variables, digits=digits))
    except Exception as err:  # the symbolic layer says why (spline edges, unknown names, ...)
        why = (f"{n_spline} edge{'s are' if n_spline != 1 else ' is'} still a spline: fix "
               f"{'them' if n_spline != 1 else 'it'} to a function (or prune) to see a formula"
               if n_spline else f"no formula: {err}")
        return FormulaText("", "", "", why, n_spline)
    syms = sorted(set().union(*(e.free_symbols for e in exprs)), key=lambda s: s.name)
    lines = [f"{sympy.latex(sympy.Symbol(o))} &= {sympy.latex(e)}" for o, e in zip(outputs, exprs)]
    tex = r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"
    sym_src = "from sympy import *\n\n"
    if syms:
        names = " ".join(s.name for s in syms)
        sym_src += f"{', '.join(s.name for s in syms)}{',' * (len(syms) == 1)} = symbols({names!r})\n"
    sym_src += "\n".join(f"{o} = {sympy.sstr(e)}" for o, e in zip(outputs, exprs)) + "\n"
    py_src = symbolic.to_source(exprs if len(exprs) > 1 else exprs[0],
                                variables=list(variables) if variables else None,
                                backend="numpy", name="kan_formula")
    return FormulaText(f"$${tex}$$", sym_src, py_src, "", n_spline)


def output_symbols(outputs, variables, n_out: int) -> list[str]:
    """Names for the left-hand sides of the formula: the data's output names where they are
    identifiers (``y``, ``price``); else ``y`` (``y_1 .. y_n`` for several outputs), or ``f``
    when an input is already called ``y``. An output named by the formula that generated the
    data (``exp(sin(pi*x) + y**2)``) is such a case: it is the right-hand side, not a name.
    """
    taken = {str(v) for v in (variables or [])}
    given = [str(o) for o in outputs] if outputs else []
    if len(given) == n_out and all(_is_name(o) and o not in taken for o in given) \
            and len(set(given)) == n_out:
        return given
    for base in ("y", "f", "out"):
        names = [base] if n_out == 1 else [f"{base}_{j + 1}" for j in range(n_out)]
        if not taken & set(names):
            return names
    return [f"out_{j + 1}_" for j in range(n_out)]


def _is_name(name: str) -> bool:
    import keyword

    return name.isidentifier() and not keyword.iskeyword(name)
