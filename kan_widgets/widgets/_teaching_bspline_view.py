"""The ipywidgets/plotly view of ``BSplineExplorer`` (state and numbers live in the model
object, ``teaching_bspline.py``; this module only draws them and wires the controls).

Traces are allocated once for the largest ``G + k`` and hidden when unused: re-creating
traces on every slider move would resend the whole figure to the browser.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ._plotly import update_figure
from ._teaching_common import FIG_WIDTH, color
from .teaching_bspline import N_PER, ORDER_NAMES, cox_de_boor_levels, greville

BAR_Y0, BAR_DY = -0.08, 0.06  # support bars below the axis, staggered so overlaps show


def _support_trace(x, Bp, t, i, p):
    """(xs, ys) of ``B_{i,p}`` over its support, then (after a gap) its support bar."""
    sl = slice(i * N_PER, (i + p + 1) * N_PER)
    bar = BAR_Y0 - BAR_DY * (i % (p + 1))
    xs = [t[i], *x[sl], t[i + p + 1], None, t[i], t[i + p + 1]]
    ys = [0.0, *Bp[sl, i], 0.0, None, bar, bar]
    return xs, ys


def build(ex):
    import ipywidgets as W
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    kmax, gmax = max(ex.K_MAX, ex.k), max(ex.G_MAX, ex.G)
    ex._nb_max, ex._nl_max = gmax + kmax, gmax + 2 * kmax  # basis and level-0 counts
    base = make_subplots(
        rows=2, cols=2, horizontal_spacing=0.08, vertical_spacing=0.13,
        subplot_titles=("basis functions B<sub>i</sub> and their sum", "Cox-de Boor recursion",
                        "a curve: sum of c<sub>i</sub> B<sub>i</sub>", "samples and grid points"))
    tr, idx = [], {}

    def add(name, trace):
        idx[name] = len(tr)
        tr.append(trace)

    def line(name, axes, **kw):
        return go.Scatter(name=name, x=[], y=[], mode="lines", xaxis=axes[0], yaxis=axes[1],
                          showlegend=False, **kw)

    for i in range(ex._nb_max):
        add(f"B{i}", line(f"B{i}", ("x", "y"), line={"color": color(i), "width": 2},
                          hovertemplate=f"B<sub>{i}</sub>: %{{y:.3f}}<extra></extra>"))
    add("sum", line("sum", ("x", "y"), line={"color": "black", "width": 2.5, "dash": "dash"},
                    hovertemplate="sum: %{y:.4f}<extra></extra>"))
    add("knots", go.Scatter(name="knots", x=[], y=[], mode="markers", xaxis="x", yaxis="y",
                            marker={"symbol": "line-ns-open", "size": 10, "color": "gray"},
                            showlegend=False, hovertemplate="knot %{x:.3f}<extra></extra>"))
    for i in range(ex._nl_max):
        add(f"L{i}", line(f"L{i}", ("x2", "y2"), line={"color": color(i), "width": 2},
                          hovertemplate="%{y:.3f}<extra></extra>"))
    for side in ("left", "right"):
        add(f"parent {side}", line(f"parent {side}", ("x2", "y2"), hoverinfo="skip",
                                   line={"color": "gray", "width": 2, "dash": "dot"}))
    add("contribution", line("contribution", ("x3", "y3"), fill="tozeroy", hoverinfo="skip",
                             line={"width": 0}, opacity=0.3))
    add("trained edge", go.Scatter(name="trained edge", x=[], y=[], mode="markers", xaxis="x3",
                                   yaxis="y3", marker={"size": 4, "color": "lightgray"},
                                   showlegend=False, hoverinfo="skip"))
    add("curve", line("curve", ("x3", "y3"), line={"color": "black", "width": 3}, hoverinfo="skip"))
    add("control", go.Scatter(name="control", x=[], y=[], mode="lines+markers", xaxis="x3",
                              yaxis="y3", line={"color": "gray", "dash": "dot", "width": 1},
                              marker={"size": 9, "color": "gray"}, showlegend=False,
                              hovertemplate="c<sub>%{pointNumber}</sub> = %{y:.3f}<extra></extra>"))
    add("selected", go.Scatter(name="selected", x=[], y=[], mode="markers", xaxis="x3", yaxis="y3",
                               marker={"size": 15, "symbol": "circle-open", "line": {"width": 3}},
                               showlegend=False, hoverinfo="skip"))
    add("samples", go.Histogram(name="samples", x=[], xaxis="x4", yaxis="y4", nbinsx=40,
                                marker={"color": "lightsteelblue"}, showlegend=False))
    for name, c in (("grid points", "black"), ("extension knots", "darkgray")):
        add(name, go.Scatter(name=name, x=[], y=[], mode="markers", xaxis="x4", yaxis="y4",
                             marker={"symbol": "triangle-up", "size": 10, "color": c},
                             showlegend=False, hovertemplate=name + " %{x:.3f}<extra></extra>"))
    fig = go.FigureWidget(data=tr, layout=base.layout)
    fig.update_layout(height=640, width=FIG_WIDTH, margin={"l": 40, "r": 20, "t": 40, "b": 30},
                      bargap=0.05, hovermode="closest", template="plotly_white")
    fig.layout.xaxis2.matches = "x"
    fig.layout.xaxis3.matches = "x"
    ex._fig, ex._idx = fig, idx

    # clicking a basis function, a recursion curve or a control value selects that index
    def on_click(i, trace, points, state):
        if points.point_inds:  # handlers of all traces fire on every click
            ex.select(points.point_inds[0] if i is None else i)

    for i in range(ex._nb_max):
        fig.data[idx[f"B{i}"]].on_click(partial(on_click, i))
    for i in range(ex._nl_max):
        fig.data[idx[f"L{i}"]].on_click(partial(on_click, i))
    fig.data[idx["control"]].on_click(partial(on_click, None))

    st = {"description_width": "initial"}
    lo, hi = ex.grid_range
    c = ex._controls = {
        "k": W.IntSlider(ex.k, min=0, max=kmax, description="order k", style=st),
        "G": W.IntSlider(ex.G, min=1, max=gmax, description="intervals G", style=st),
        "range": W.FloatRangeSlider(value=(lo, hi), min=min(-5.0, np.floor(lo)),
                                    max=max(5.0, np.ceil(hi)), step=0.1,
                                    description="grid range", style=st),
        "eps": W.FloatSlider(ex.grid_eps, min=0, max=1, step=0.05, description="grid_eps",
                             readout_format=".2f", style=st),
        "level": W.IntSlider(ex.level, min=0, max=ex.k, description="recursion level p", style=st),
        "index": W.IntSlider(ex.selected, min=0, max=ex.n_basis - 1, description="coefficient i",
                             style=st),
        "value": W.FloatSlider(0.0, min=-3, max=3, step=0.01, description="value c_i", style=st),
    }
    actions = {"ones": ("all c_i = 1", ex.ones), "random": ("random c", ex.randomize),
               "reset": ("reset", ex.reset)}
    buttons = []
    for name, (label, fn) in actions.items():
        b = W.Button(description=label, layout={"width": "110px"})
        b.add_class(f"kw-bspline-{name}")
        b.on_click(lambda _b, fn=fn: _guard(ex, fn))
        buttons.append(b)
    setters = {"k": lambda v: ex.set(k=v), "G": lambda v: ex.set(G=v),
               "range": lambda v: ex.set(grid_range=v), "eps": lambda v: ex.set(grid_eps=v),
               "level": lambda v: ex.set(level=v), "index": ex.select,
               "value": lambda v: ex.set_coef(ex.selected, v)}
    for name, w in c.items():
        w.continuous_update = False  # one redraw per release: the kernel may be on a slow CPU
        w.add_class(f"kw-bspline-{name}")

        def handler(change, fn=setters[name]):
            if not ex._syncing:
                _guard(ex, fn, change["new"])

        w.observe(handler, "value")
    ex._info = W.HTML()
    ex._info.add_class("kw-bspline-info")
    ex._recursion = W.HTML()
    ex._recursion.add_class("kw-bspline-recursion")
    fig_box = W.Box([fig], layout={"width": "100%"})
    fig_box.add_class("kw-bspline-figure")
    left = W.VBox([W.HTML("<b>Grid</b>"), c["k"], c["G"], c["range"], c["eps"]])
    right = W.VBox([W.HTML("<b>Recursion and curve</b>"), c["level"], c["index"], c["value"],
                    W.HBox(buttons)])
    root = W.VBox([W.HBox([left, right]), ex._info, fig_box, ex._recursion])
    sync_controls(ex)
    redraw(ex)
    return root


def _guard(ex, fn, *args):
    """Run a control's action; show a bad value in the info box (print is lost in callbacks)."""
    try:
        fn(*args)
    except (ValueError, IndexError) as e:
        ex._info.value = f"<span style='color:#b00'>{e}</span>"


def sync_controls(ex):
    c = ex._controls
    ex._push(c["k"], value=ex.k)
    ex._push(c["G"], value=ex.G)
    ex._push(c["range"], value=ex.grid_range)
    ex._push(c["eps"], value=ex.grid_eps)
    ex._push(c["level"], max=ex.k, value=ex.level)
    ex._push(c["index"], max=ex.n_basis - 1, value=ex.selected)
    v = float(ex.coef[ex.selected])
    ex._push(c["value"], min=min(-3.0, np.floor(v)), max=max(3.0, np.ceil(v)), value=v)


def _recursion_html(t, p, j):
    f = "{:.3g}".format
    if p == 0:
        return (f"<b>Level 0</b>: B<sub>{j},0</sub>(x) = 1 if t<sub>{j}</sub> = {f(t[j])} &le; x "
                f"&lt; t<sub>{j + 1}</sub> = {f(t[j + 1])}, else 0. Each higher level blends two "
                "neighbours of the level below with linear weights.")
    return (f"<b>Level {p}</b>: B<sub>{j},{p}</sub>(x) = (x &minus; {f(t[j])}) / "
            f"({f(t[j + p])} &minus; {f(t[j])}) &middot; B<sub>{j},{p - 1}</sub>(x) + "
            f"({f(t[j + p + 1])} &minus; x) / ({f(t[j + p + 1])} &minus; {f(t[j + 1])}) &middot; "
            f"B<sub>{j + 1},{p - 1}</sub>(x) &nbsp; (dotted: the two level-{p - 1} parents; "
            f"thick: B<sub>{j},{p}</sub>)")


def redraw(ex):
    fig, idx, t, k, x = ex._fig, ex._idx, ex.knots, ex.k, ex.x
    n, p = ex.n_basis, ex.level
    levels = cox_de_boor_levels(x, t, k)
    B = levels[k]
    lo, hi = ex.grid[0], ex.grid[-1]
    total = B.sum(1)
    inside = (x >= lo) & (x < hi)
    n_p = len(t) - 1 - p
    j = min(ex.selected, n_p - 1)
    curve = B @ ex.coef
    s = ex.selected
    g = greville(t, k)
    U = {}  # trace index -> {property path: value}, sent as one update

    def put(trace, **props):
        U.setdefault(idx[trace], {}).update({k.replace("__", "."): v for k, v in props.items()})

    hidden = {"x": [], "y": [], "visible": False}
    for i in range(ex._nb_max):
        if i < n:
            xs, ys = _support_trace(x, B, t, i, k)
            put(f"B{i}", x=xs, y=ys, visible=True, line__width=4 if i == s else 2)
        else:
            put(f"B{i}", **hidden)
    put("sum", x=x, y=total)
    put("knots", x=t, y=np.zeros_like(t))
    for i in range(ex._nl_max):
        if i < n_p:
            xs, ys = _support_trace(x, levels[p], t, i, p)
            put(f"L{i}", x=xs, y=ys, visible=True, line__width=5 if i == j else 1.5,
                hovertemplate=f"B<sub>{i},{p}</sub>: %{{y:.3f}}<extra></extra>")
        else:
            put(f"L{i}", **hidden)
    for side, jj in (("left", j), ("right", j + 1)):
        if p > 0:
            xs, ys = _support_trace(x, levels[p - 1], t, jj, p - 1)
            put(f"parent {side}", x=xs[:-3], y=ys[:-3], visible=True)  # curve only, no bar
        else:
            put(f"parent {side}", **hidden)
    sl = slice(s * N_PER, (s + k + 1) * N_PER)
    put("contribution", x=x[sl], y=ex.coef[s] * B[sl, s], fillcolor=color(s), line__color=color(s))
    if ex.edge_values is not None:
        put("trained edge", x=ex.edge_values[0], y=ex.edge_values[1])
    put("curve", x=x, y=curve)
    put("control", x=g, y=ex.coef)
    put("selected", x=[g[s]], y=[ex.coef[s]], marker__color=color(s))
    put("samples", x=ex.samples)
    put("grid points", x=ex.grid, y=np.zeros(ex.G + 1))
    ext = np.concatenate([t[:k], t[len(t) - k:]])
    put("extension knots", x=ext, y=np.zeros(2 * k))
    rect = {"type": "rect", "x0": lo, "x1": hi, "fillcolor": "rgba(0,0,0,0.05)",
            "line": {"width": 0}, "layer": "below", "y0": 0, "y1": 1}
    update_figure(fig, U, {
        "shapes": [dict(rect, xref=a, yref=f"{b} domain") for a, b in (("x", "y"), ("x3", "y3"),
                                                                      ("x4", "y4"))],
        "xaxis.range": [t[0], t[-1]], "xaxis4.range": [t[0], t[-1]],
        "yaxis.range": [BAR_Y0 - BAR_DY * (k + 0.5), 1.12],
        "yaxis2.range": [BAR_Y0 - BAR_DY * (p + 0.5), 1.12],
        "annotations[1].text": f"Cox-de Boor recursion, level p = {p}"})
    ex._recursion.value = _recursion_html(t, p, j)
    order = ORDER_NAMES[k] if k < len(ORDER_NAMES) else f"degree {k}"
    ex._info.value = (
        f"<b>order k = {k}</b> ({order}), <b>G = {ex.G}</b> intervals &rarr; <b>G + k = {n}</b> "
        f"basis functions on G + 2k + 1 = {len(t)} knots. Shaded: the grid range "
        f"[{lo:.3g}, {hi:.3g}], where the sum of all B<sub>i</sub> is "
        f"{total[inside].min():.6f}&hellip;{total[inside].max():.6f} (partition of unity). "
        f"Selected: c<sub>{s}</sub> = {ex.coef[s]:.3f}."
        + (f" Edge {tuple(ex.edge)} of the model: dots = its trained spline part."
           if ex.edge is not None else ""))
