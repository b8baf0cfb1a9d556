"""The ipywidgets/plotly view of ``GridExtensionDemo`` (state lives in ``teaching_grid.py``)."""

from __future__ import annotations

import numpy as np

from ._plotly import update_figure
from ._teaching_common import FIG_WIDTH
from .teaching_grid import PRESETS, _fmt_slope

COARSE, FINE = "#EF553B", "#636EFA"


def build(demo):
    import ipywidgets as W
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    base = make_subplots(
        rows=2, cols=2, specs=[[{}, {"rowspan": 2}], [{}, None]], column_widths=[0.55, 0.45],
        horizontal_spacing=0.1, vertical_spacing=0.14,
        subplot_titles=("target, coarse fit and refined fit", "test RMSE against G (log-log)",
                        "|error| (log scale)"))
    tr, idx = [], {}

    def add(name, axes, **kw):
        idx[name] = len(tr)
        tr.append(go.Scatter(name=name, x=[], y=[], xaxis=axes[0], yaxis=axes[1], **kw))

    add("target", ("x", "y"), mode="lines", line={"color": "black", "width": 4}, opacity=0.35)
    add("coarse", ("x", "y"), mode="lines", line={"color": COARSE, "width": 2, "dash": "dash"})
    add("refined", ("x", "y"), mode="lines", line={"color": FINE, "width": 2})
    add("coarse grid", ("x", "y"), mode="markers", showlegend=False,
        marker={"symbol": "line-ns-open", "size": 12, "color": COARSE})
    add("refined grid", ("x", "y"), mode="markers", showlegend=False,
        marker={"symbol": "line-ns-open", "size": 8, "color": FINE})
    add("coarse error", ("x3", "y3"), mode="lines", line={"color": COARSE}, showlegend=False)
    add("refined error", ("x3", "y3"), mode="lines", line={"color": FINE}, showlegend=False)
    add("KAN test RMSE", ("x2", "y2"), mode="lines+markers", line={"color": FINE},
        marker={"size": 9}, hovertemplate="G=%{x}: %{y:.2e}<extra>KAN</extra>")
    add("best spline (least squares)", ("x2", "y2"), mode="lines+markers",
        line={"color": "#00CC96", "dash": "dash"}, marker={"symbol": "square", "size": 7},
        hovertemplate="G=%{x}: %{y:.2e}<extra>least squares</extra>")
    add("theory", ("x2", "y2"), mode="lines", line={"color": "gray", "dash": "dot", "width": 2})
    add("shown G", ("x2", "y2"), mode="markers", showlegend=False, hoverinfo="skip",
        marker={"size": 18, "symbol": "circle-open", "color": FINE, "line": {"width": 3}})
    fig = go.FigureWidget(data=tr, layout=base.layout)
    fig.update_layout(height=560, width=FIG_WIDTH, margin={"l": 50, "r": 20, "t": 40, "b": 40},
                      template="plotly_white", hovermode="closest",
                      legend={"orientation": "h", "y": -0.08})
    fig.layout.xaxis2.type = "log"
    fig.layout.yaxis2.type = "log"
    fig.layout.yaxis3.type = "log"
    fig.layout.xaxis3.matches = "x"
    fig.layout.xaxis2.title = "G (grid intervals)"
    fig.layout.yaxis2.title = "test RMSE"
    demo._fig, demo._idx = fig, idx

    st = {"description_width": "initial"}
    target = demo.target if isinstance(demo.target, str) else "(python function)"
    c = demo._controls = {
        "target": W.Combobox(value=target, options=PRESETS, description="target f(x) =",
                             ensure_option=False, style=st),
        "k": W.IntSlider(demo.k, min=1, max=5, description="order k", style=st),
        "steps": W.IntSlider(demo.steps, min=1, max=50, description="LBFGS steps per grid", style=st),
        "grids": W.Text(", ".join(map(str, demo.grids)), description="grids G", style=st),
        "show": W.SelectionSlider(options=["-"], description="show refined G", style=st),
    }
    run = W.Button(description="Run", button_style="primary", icon="play")
    run.add_class("kw-grid-run")
    demo._progress = W.IntProgress(0, min=0, max=len(demo.grids), layout={"width": "160px"})
    demo._progress.add_class("kw-grid-progress")
    demo._status = W.HTML()
    demo._status.add_class("kw-grid-status")
    demo._table = W.HTML()
    demo._table.add_class("kw-grid-table-box")

    def rerun(**kw):
        try:
            demo.set(**kw)
            run_live(demo)
        except ValueError as e:
            demo._status.value = f"<span style='color:#b00'>{e}</span>"

    actions = {
        "target": lambda v: rerun(target=v),
        "k": lambda v: rerun(k=v),
        "steps": lambda v: rerun(steps=v),
        "grids": lambda v: rerun(grids=[int(s) for s in v.replace(",", " ").split()]),
        "show": lambda v: demo.show(v) if v != "-" else None,
    }
    for name, w in c.items():
        w.continuous_update = False  # each change reruns the experiment: once per release
        w.add_class(f"kw-grid-{name}")

        def handler(change, fn=actions[name]):
            if not demo._syncing:
                fn(change["new"])

        w.observe(handler, "value")
    run.on_click(lambda _b: rerun())
    fig_box = W.Box([fig], layout={"width": "100%"})
    fig_box.add_class("kw-grid-figure")
    controls = W.HBox([W.VBox([c["target"], c["grids"], c["k"]]),
                       W.VBox([c["steps"], W.HBox([run, demo._progress]), c["show"]])])
    root = W.VBox([controls, demo._status, fig_box, demo._table])
    if not demo.results_:
        demo.run()
    sync_controls(demo)
    redraw(demo)
    return root


def run_live(demo):
    """``demo.run()`` with the progress bar and the log-log plot updated after each grid."""
    demo._progress.max, demo._progress.value = len(demo.grids), 0
    demo._status.value = f"fitting on G = {demo.grids[0]} ..."

    def step(row):
        demo._progress.value += 1
        nxt = demo.grids[demo._progress.value] if demo._progress.value < len(demo.grids) else None
        demo._status.value = (f"G = {row['G']}: test RMSE {row['kan_test_rmse']:.2e}"
                              + (f"; refining to G = {nxt} ..." if nxt else ""))
        redraw(demo)

    demo.run(callback=step)
    sync_controls(demo)
    redraw(demo)


def sync_controls(demo):
    c = demo._controls
    if isinstance(demo.target, str):
        demo._push(c["target"], value=demo.target)
    demo._push(c["k"], value=demo.k)
    demo._push(c["steps"], value=demo.steps)
    demo._push(c["grids"], value=", ".join(map(str, demo.grids)))
    opts = list(demo.curves_) or ["-"]
    demo._push(c["show"], options=opts, value=demo.shown_G if demo.shown_G in opts else opts[-1])


def redraw(demo):
    fig, idx, x = demo._fig, demo._idx, demo.x
    y = demo.target_values()
    res = demo.results_
    U = {}  # trace index -> {property: value}, sent as one update

    def put(trace, **props):
        U.setdefault(idx[trace], {}).update(props)

    put("target", x=x, y=y, name=f"target {demo.target}" if isinstance(demo.target, str)
        else "target")
    if not res:
        for name in idx:
            if name != "target":
                put(name, x=[], y=[])
        update_figure(fig, U)
        return
    G0, G1 = res[0]["G"], demo.shown_G
    ybot = float(np.min(y)) - 0.08 * float(np.ptp(y) or 1.0)
    for tag, G in (("coarse", G0), ("refined", G1)):
        grid = demo.knots_[G][demo.k: len(demo.knots_[G]) - demo.k]
        put(tag, x=x, y=demo.curves_[G], name=f"{tag} fit, G = {G}")
        put(f"{tag} grid", x=grid, y=np.full(len(grid), ybot))
        put(f"{tag} error", x=x, y=np.maximum(np.abs(demo.curves_[G] - y), 1e-17))
    Gs = np.array([r["G"] for r in res], dtype=float)
    kan = [r["kan_test_rmse"] for r in res]
    lsq = [r["spline_test_rmse"] for r in res]
    put("KAN test RMSE", x=Gs, y=kan, name=f"KAN test RMSE (slope {_fmt_slope(demo.slope('kan'))})")
    put("best spline (least squares)", x=Gs, y=lsq,
        name=f"best spline, least squares (slope {_fmt_slope(demo.slope('spline'))})")
    # theory line through the least-squares error at the middle grid: only the slope matters
    m = len(res) // 2
    gline = np.geomspace(Gs[0], max(Gs[-1], Gs[0] * 2), 20)
    put("theory", x=gline, y=lsq[m] * (gline / Gs[m]) ** demo.theory_slope,
        name=f"theory: G^{demo.theory_slope}")
    put("shown G", x=[G1], y=[kan[[r["G"] for r in res].index(G1)]])
    update_figure(fig, U)
    demo._table.value = demo.table()
    if len(res) == len(demo.grids):
        demo._status.value = (
            f"Test RMSE fell from {res[0]['kan_test_rmse']:.2e} (G = {G0}) to "
            f"{res[-1]['kan_test_rmse']:.2e} (G = {res[-1]['G']}). Log-log slope: KAN "
            f"{_fmt_slope(demo.slope('kan'))}, best spline {_fmt_slope(demo.slope('spline'))}, "
            f"theory {demo.theory_slope} (k = {demo.k}). Total {sum(r['seconds'] for r in res):.1f} s.")
