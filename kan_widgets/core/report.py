"""Text summaries of a KAN (its ``repr``)."""

from __future__ import annotations


def model_repr(model) -> str:
    """A readable table of edges: id, mode, function, r2, attribution score."""
    head = (f"KAN(width={model.width}, grid={model.grid}, k={model.k}, "
            f"params={sum(p.numel() for p in model.parameters())})")
    rows = []
    for e in model.edges():
        mode = model.edge_mode(e)
        fit = model.symbolic_fits_.get(e)
        fn = fit.name if (fit is not None and mode == "symbolic") else ""
        r2 = f"{fit.r2:.4f}" if (fit is not None and mode == "symbolic") else ""
        score = ("" if model.edge_scores_ is None
                 else f"{float(model.edge_scores_[e.layer][e.src, e.dst]):.3g}")
        rows.append((str(e), mode, fn, r2, score))
    cols = ("edge", "mode", "function", "r2", "score")
    w = [max(len(c), *(len(r[n]) for r in rows)) for n, c in enumerate(cols)]
    line = lambda r: "  " + "  ".join(v.ljust(w[n]) for n, v in enumerate(r)).rstrip()  # noqa: E731
    shown = rows if len(rows) <= 40 else rows[:20] + [("...",) + ("",) * 4] + rows[-10:]
    return "\n".join([head, line(cols)] + [line(r) for r in shown])
