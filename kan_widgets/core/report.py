"""Text summaries of a KAN (its ``repr``)."""

from __future__ import annotations

import math


def _num(v: float) -> str:
    return f"{v:.4g}"


def _edge_function(layer, i: int, j: int) -> str:
    """``c*f(a*x+b)+d`` with the edge's current (possibly trained) parameters."""
    name = layer.sym_names.get((i, j), "?")
    a, b, c, d = (float(v) for v in layer.sym_affine[i, j].detach())
    if name == "0":
        return _num(d)
    inner = f"{_num(a)}*x{b:+.4g}" if b else f"{_num(a)}*x"
    return f"{_num(c)}*{name}({inner}){d:+.4g}" if d else f"{_num(c)}*{name}({inner})"


def _r2(r2: float) -> str:
    if not math.isfinite(r2):
        return ""
    return f"{r2:.6f}" if r2 >= 0.9999 else f"{r2:.4f}"


def model_repr(model) -> str:
    """A readable table of edges: id, mode, function (current parameters), r² of the symbolic
    fit, attribution score."""
    mult = (f", mult_arity={model.mult_arity}" if getattr(model, "has_mult", False) else "")
    head = (f"KAN(width={getattr(model, 'width_spec', model.width)}{mult}, grid={model.grid}, "
            f"k={model.k}, params={sum(p.numel() for p in model.parameters())})")
    rows = []
    for e in model.edges():
        mode = model.edge_mode(e)
        fit = model.symbolic_fits_.get(e)
        symbolic = mode == "symbolic"
        fn = _edge_function(model.layers[e.layer], e.src, e.dst) if symbolic else ""
        r2 = _r2(fit.r2) if (fit is not None and symbolic) else ""
        score = ("" if model.edge_scores_ is None
                 else f"{float(model.edge_scores_[e.layer][e.src, e.dst]):.3g}")
        rows.append((str(e), mode, fn, r2, score))
    cols = ("edge", "mode", "function", "r2", "score")
    w = [max(len(c), *(len(r[n]) for r in rows)) for n, c in enumerate(cols)]
    line = lambda r: "  " + "  ".join(v.ljust(w[n]) for n, v in enumerate(r)).rstrip()  # noqa: E731
    shown = rows if len(rows) <= 40 else rows[:20] + [("...",) + ("",) * 4] + rows[-10:]
    return "\n".join([head, line(cols)] + [line(r) for r in shown])
