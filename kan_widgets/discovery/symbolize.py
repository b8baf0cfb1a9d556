"""From a trained KAN to one that always has a formula: gap-chosen pruning and symbolic
fitting that never leaves a spline behind and penalises steep fits.

Pruning thresholds come from the attribution scores themselves: sorted, the largest ratio
between neighbours (at least ``MIN_GAP``) splits the strong from the weak; with no such gap
nothing is pruned, and a prune that would leave some layer without a live edge is undone.
This works whatever the target's scale or spread (the scores are relative).

Steep fits: ``c*f(a*x + b) + d`` with a shape-bearing ``f`` (sin, tanh, exp, ...) whose
``|a| * (range of x)`` exceeds ``STEEP_MAX`` fits the training range and means nothing
(``tanh(293*x)`` is a step); such a fit is replaced by the best fit that is not steep.
"""

from __future__ import annotations

import math
import warnings

import torch

from ..core.symbolic_edges import rank_fits

__all__ = ["gap_threshold", "prune_by_gaps", "symbolize", "STEEP_MAX", "MIN_GAP"]

MIN_GAP = 10.0  # scores on both sides of a cut differ at least this much
STEEP_MAX = 25.0  # |a| * range above this: the fit is a step or a fast wiggle
# functions where a * x sets the shape (for x^n, 1/x, sqrt, log, a only rescales)
SHAPED = {"sin", "cos", "tan", "tanh", "sgn", "arctan", "gaussian", "sigmoid", "exp", "cosh",
          "sinh", "abs"}


def gap_threshold(scores, min_gap=MIN_GAP) -> float:
    """A threshold in the largest gap of ``scores`` (geometric middle), or 0 when no two
    neighbours differ by ``min_gap`` (nothing stands out as weak). Never above the top score."""
    s = sorted((float(v) for v in scores), reverse=True)
    if len(s) < 2 or s[0] <= 0:
        return 0.0
    floor = s[0] * 1e-12  # exact zeros: a finite ratio
    s = [max(v, floor) for v in s]
    ratios = [s[k] / s[k + 1] for k in range(len(s) - 1)]
    k = max(range(len(ratios)), key=ratios.__getitem__)
    return math.sqrt(s[k] * s[k + 1]) if ratios[k] >= min_gap else 0.0


def _live_per_layer(model):
    return [int((layer.mask > 0).sum()) for layer in model.layers]


def prune_by_gaps(model, X):
    """Prune ``model`` (hidden layers) with thresholds from the gaps of its scores; returns
    (model, note). Undone when a layer would be left without any live edge."""
    if model.depth < 2:
        return model, "no hidden layer: nothing pruned"
    edges, nodes = model.attribution(X)
    node_th = gap_threshold(torch.cat([n for n in nodes[1:-1]]).tolist())
    edge_th = gap_threshold(torch.cat([e[l.mask > 0] for e, l in zip(edges, model.layers)])
                            .tolist())
    before = _live_per_layer(model)
    model.prune(node_th=node_th, edge_th=edge_th, X=X)
    after = _live_per_layer(model)
    if min(after) == 0:
        model.unprune()
        return model, (f"pruning at node_th={node_th:.3g}, edge_th={edge_th:.3g} would empty a "
                       "layer: kept every edge")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = model.compact()
    return model, (f"pruned at gaps node_th={node_th:.3g}, edge_th={edge_th:.3g}: live edges "
                   f"{before} -> {after}, width {model.width}")


def _steepness(fit, x_range: float) -> float:
    return abs(fit.a) * x_range if fit.name in SHAPED else 0.0


def _choose(fits, x_range, r2_threshold, weight_simple):
    """The best-ranked fit that is not steep (the best-ranked one if all are)."""
    ranked = rank_fits(fits, weight_simple, r2_threshold)
    fine = [f for f in ranked if _steepness(f, x_range) <= STEEP_MAX]
    return (fine or ranked)[0], ranked[0]


def symbolize(model, data, *, r2_threshold=0.9, weight_simple=1.2, steps=30, fit=None,
              n_samples=300):
    """Fix every live spline edge, layer by layer with a refit (``fit(model, steps)``) after
    each layer. Edge fits use the first ``n_samples`` training rows (``data`` is shuffled).

    ``auto_symbolic`` fixes what clears ``r2_threshold``; then every edge it left a spline
    gets the best function anyway (a note says so) and every steep fit is replaced by the best
    one that is not steep (see the module doc). Returns (notes, below_threshold).
    """
    notes, below = [], False
    X = data.X_train[:n_samples]  # edge fits: a few hundred samples tell the shape
    for l in range(model.depth):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # kept splines are handled just below
            model.auto_symbolic(layers=[l], r2_threshold=r2_threshold,
                                weight_simple=weight_simple, X=X)
        report = model.auto_symbolic_report_
        with torch.no_grad():
            x_l = model.layer_input(X, l)
        rng = (x_l.max(0).values - x_l.min(0).values).tolist()
        for r in report:
            e, best = r["edge"], r["fit"]
            kept = r["action"] != "fixed"
            if not kept and _steepness(best, rng[e.src]) <= STEEP_MAX:
                continue
            fits = model.suggest_symbolic(e, topk=None, X=X, weight_simple=weight_simple,
                                          min_r2=r2_threshold)
            chosen, top = _choose(fits, rng[e.src], r2_threshold, weight_simple)
            if chosen is not top:
                notes.append(f"edge {tuple(e)}: {top.name} was too steep (|a|*range = "
                             f"{_steepness(top, rng[e.src]):.0f} > {STEEP_MAX:g}); used "
                             f"{chosen.name} (r2 {chosen.r2:.3f})")
            if not chosen.r2 >= r2_threshold:
                below = True
                notes.append(f"edge {tuple(e)}: no function reached r2 {r2_threshold}; used the "
                             f"best, {chosen.name} (r2 {chosen.r2:.3f})")
            used = _fix_first_that_fits(model, e, [chosen, *(f for f in fits if f is not chosen)],
                                        X)
            if used is not chosen:
                notes.append(f"edge {tuple(e)}: {chosen.name}'s fitted constants do not fit in "
                             f"{model.dtype}; used {used.name} (r2 {used.r2:.3f})")
        if fit is not None and steps:
            fit(model, steps)
    return notes, below


def _fix_first_that_fits(model, edge, fits, X):
    """Fix ``edge`` to the first of ``fits`` that ``fix_symbolic`` accepts, and return it.

    A fit's constants can be valid in float64 and overflow the model's dtype (``c = -2.6e60``
    for a steep ``exp`` on a float32 model): ``fix_symbolic`` refuses those with a
    ``ValueError`` and leaves the model as it was, so the next-ranked function is tried.
    """
    error = None
    for f in fits:
        try:
            model.fix_symbolic(edge, f.name, X=X)
            return f
        except ValueError as err:
            error = err
    raise ValueError(f"edge {tuple(edge)}: no library function could be fixed; the last "
                     f"refusal: {error}")
