"""The ipywidgets/plotly view of ``KARTDemo`` (state lives in ``teaching_kart.py``)."""

from __future__ import annotations

import time

import numpy as np

from ._plotly import update_figure
from ._teaching_common import FIG_WIDTH, color, html_table
from .teaching_kart import PRESETS

REDRAW_EVERY_S = 0.7  # live redraw rate while training: enough to watch, cheap to send


def _node_xy(q, hidden):
    """Diagram positions: inputs at y=0, hidden sums at y=1, the output at y=2."""
    return {("in", 0): (0.3, 0.0), ("in", 1): (0.7, 0.0), ("out", 0): (0.5, 2.0),
            **{("hid", j): ((j + 0.5) / hidden, 1.0) for j in range(q)}}


def build(demo):
    import ipywidgets as W
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    Q = demo.MAX_HIDDEN
    fig = make_subplots(
        rows=2, cols=3, specs=[[{"rowspan": 2}, {}, {}], [None, {}, {}]],
        column_widths=[0.28, 0.36, 0.36], horizontal_spacing=0.07, vertical_spacing=0.16,
        # plotly text takes no named HTML entities: Greek letters as characters
        subplot_titles=("f = \u03a3<sub>q</sub> \u03a6<sub>q</sub>(\u03c6<sub>q,x</sub>(x) + "
                        "\u03c6<sub>q,y</sub>(y))", "inner functions \u03c6<sub>q,x</sub>(x)",
                        "outer functions \u03a6<sub>q</sub>(z<sub>q</sub>)",
                        "inner functions \u03c6<sub>q,y</sub>(y)", "test RMSE, same data and steps"))
    idx = {}

    def add(name, trace, row, col):
        idx[name] = len(fig.data)
        trace.name = name  # the browser tests find traces by name
        fig.add_trace(trace, row=row, col=col)

    for q in range(Q):  # diagram edges: 2 inner per hidden node, 1 outer
        for p in range(2):
            add(f"edge {q},{p}", go.Scatter(x=[], y=[], mode="lines", line={"color": color(q)},
                                            hoverinfo="skip"), 1, 1)
        add(f"edge out {q}", go.Scatter(x=[], y=[], mode="lines", line={"color": color(q)},
                                        hoverinfo="skip"), 1, 1)
    add("nodes", go.Scatter(x=[], y=[], mode="markers+text", textposition="middle center",
                            marker={"size": 30, "color": "white", "line": {"width": 2}},
                            textfont={"size": 13}, hoverinfo="skip"), 1, 1)
    for q in range(Q):
        for name, rc in ((f"phi x {q}", (1, 2)), (f"phi y {q}", (2, 2)), (f"Phi {q}", (1, 3))):
            add(name, go.Scatter(x=[], y=[], mode="lines", line={"color": color(q), "width": 3},
                                 hovertemplate=f"q={q + 1}: %{{y:.3f}}<extra></extra>"), *rc)
    add("rmse", go.Bar(x=["KAN", "MLP"], y=[None, None], marker={"color": ["#636EFA", "#7F7F7F"]},
                       textposition="outside", hoverinfo="skip"), 2, 3)
    fig.update_layout(height=600, width=FIG_WIDTH, margin={"l": 40, "r": 20, "t": 50, "b": 40},
                      showlegend=False, template="plotly_white", hovermode="closest")
    fig.update_xaxes(visible=False, range=[-0.05, 1.05], row=1, col=1)
    fig.update_yaxes(visible=False, range=[-0.35, 2.35], row=1, col=1)
    fig.update_yaxes(type="log", row=2, col=3)
    fw = go.FigureWidget(fig)
    demo._fig, demo._idx = fw, idx

    st = {"description_width": "initial"}
    c = demo._controls = {
        "function": W.Combobox(value=demo.function, options=list(PRESETS), description="f(x, y) =",
                               ensure_option=False, style=st),
        "hidden": W.IntSlider(demo.hidden, min=1, max=Q, description="hidden nodes q", style=st),
        "steps": W.IntSlider(demo.steps, min=5, max=100, step=5, description="LBFGS steps", style=st),
    }
    demo._train_button = W.Button(description="Train", button_style="primary", icon="play")
    demo._train_button.add_class("kw-kart-train")
    demo._progress = W.IntProgress(0, min=0, max=2 * demo.steps, layout={"width": "200px"})
    demo._progress.add_class("kw-kart-progress")
    demo._status = W.HTML()
    demo._status.add_class("kw-kart-status")
    demo._exact = W.HTML()
    demo._exact.add_class("kw-kart-exact")
    demo._metrics = W.HTML()
    demo._metrics.add_class("kw-kart-metrics")

    def guarded(fn):
        def run(*args):
            try:
                fn(*args)
            except (ValueError, RuntimeError) as e:
                demo._status.value = f"<span style='color:#b00'>{e}</span>"
        return run

    setters = {"function": lambda v: demo.set(function=v), "hidden": lambda v: demo.set(hidden=v),
               "steps": lambda v: demo.set(steps=v)}
    for name, w in c.items():
        w.continuous_update = False
        w.add_class(f"kw-kart-{name}")

        def handler(change, fn=setters[name]):
            if not demo._syncing:
                guarded(fn)(change["new"])

        w.observe(handler, "value")
    demo._train_button.on_click(guarded(lambda _b: train_live(demo)))
    fig_box = W.Box([fw], layout={"width": "100%"})
    fig_box.add_class("kw-kart-figure")
    controls = W.HBox([W.VBox([c["function"], c["hidden"], c["steps"]]),
                       W.VBox([W.HBox([demo._train_button, demo._progress]), demo._status])])
    root = W.VBox([controls, demo._exact, fig_box, demo._metrics])
    sync_controls(demo)
    redraw(demo)
    return root


def train_live(demo):
    """``demo.train()`` with a progress bar and the KAN's functions redrawn as they learn."""
    demo._train_button.disabled = True
    demo._progress.max, demo._progress.value = 2 * demo.steps, 0
    last = [time.monotonic()]

    def step(which, s, model):
        demo._progress.value = min(demo._progress.value + 1, demo._progress.max)
        demo._status.value = f"training the {which}: step {s + 1} of {demo.steps}"
        if which == "KAN" and time.monotonic() - last[0] > REDRAW_EVERY_S:
            last[0] = time.monotonic()
            _draw_model(demo, model)

    try:
        demo.train(callback=step)
    finally:
        demo._train_button.disabled = False


def sync_controls(demo):
    c = demo._controls
    demo._push(c["function"], value=demo.function)
    demo._push(c["hidden"], value=demo.hidden)
    demo._push(c["steps"], value=demo.steps)


def _diagram(demo, put, imp0=None, imp1=None):
    """Diagram edges (width = importance once trained) and nodes into the update ``put``."""
    hid = demo.hidden
    pos = _node_xy(hid, hid)
    for q in range(demo.MAX_HIDDEN):
        names = [f"edge {q},0", f"edge {q},1", f"edge out {q}"]
        if q >= hid:
            for name in names:
                put(name, x=[], y=[], visible=False)
            continue
        ends = [(("in", 0), ("hid", q)), (("in", 1), ("hid", q)), (("hid", q), ("out", 0))]
        imps = [None] * 3 if imp0 is None else [imp0[q, 0], imp0[q, 1], imp1[q]]
        for name, (a, b), imp in zip(names, ends, imps):
            put(name, x=[pos[a][0], pos[b][0]], y=[pos[a][1], pos[b][1]], visible=True,
                **{"line.width": 1.5 if imp is None else 0.5 + 6 * float(imp)})
    keys = [("in", 0), ("in", 1), *[("hid", q) for q in range(hid)], ("out", 0)]
    put("nodes", x=[pos[k][0] for k in keys], y=[pos[k][1] for k in keys],
        text=["x", "y", *["+"] * hid, "f"])


def _draw_model(demo, model):
    """Inner/outer functions of ``model`` (also a KAN still training) into the figure."""
    saved, demo.model_ = demo.model_, model
    try:
        inner, outer = demo.inner_functions(), demo.outer_functions()
        imp0, imp1 = demo.edge_importance()
    finally:
        demo.model_ = saved
    U, put = _collector(demo)
    _diagram(demo, put, imp0, imp1)
    for q in range(demo.MAX_HIDDEN):
        live = q < demo.hidden
        curves = [(f"phi x {q}", inner.get((q, 0)), imp0[q, 0] if live else 0),
                  (f"phi y {q}", inner.get((q, 1)), imp0[q, 1] if live else 0),
                  (f"Phi {q}", outer.get(q), imp1[q] if live else 0)]
        for name, xy, imp in curves:
            # faint curves: edges that barely matter
            put(name, x=xy[0] if live else [], y=xy[1] if live else [], visible=live,
                opacity=0.25 + 0.75 * float(imp))
    update_figure(demo._fig, U)


def _collector(demo):
    U = {}

    def put(trace, **props):
        U.setdefault(demo._idx[trace], {}).update(props)

    return U, put


def redraw(demo):
    fig = demo._fig
    if demo.model_ is not None:
        _draw_model(demo, demo.model_)
    else:
        U, put = _collector(demo)
        _diagram(demo, put)
        for q in range(demo.MAX_HIDDEN):
            for name in (f"phi x {q}", f"phi y {q}", f"Phi {q}"):
                put(name, x=[], y=[])
        update_figure(fig, U)
    kan, mlp = demo.kan_rmse_, demo.mlp_rmse_
    vals = [v for v in (kan, mlp) if v is not None and v > 0]
    # log axis from a decade under the smaller error: bar heights compare orders of magnitude
    yr = [np.log10(min(vals)) - 1, np.log10(max(vals)) + 0.5] if vals else [-4, 0]
    U, put = _collector(demo)
    put("rmse", y=[kan, mlp], text=["" if v is None else f"{v:.1e}" for v in (kan, mlp)])
    update_figure(fig, U, {"yaxis5.range": yr})
    ex = demo.exact_error()
    demo._exact.value = (
        f"<b>Known exact decomposition</b>: {demo.preset['text']} (checked on the data: max "
        f"error {ex:.1e})." if demo.preset else
        "<b>No exact decomposition on file</b> for this formula: look at what the KAN found.")
    if kan is None:
        demo._status.value = (f"KAN {demo.width}, {demo.kan_params} parameters: press <b>Train</b> "
                              f"({demo.steps} LBFGS steps).")
        demo._metrics.value = ""
        return
    demo._status.value = (f"done: KAN {kan:.2e} vs MLP {mlp:.2e} test RMSE "
                          f"({'KAN' if kan < mlp else 'MLP'} lower).")
    demo._metrics.value = html_table(
        [("KAN " + str(demo.width), demo.kan_params, f"{kan:.3e}", f"{demo.kan_seconds_:.1f}"),
         (f"MLP {_mlp_shape(demo)}", demo.mlp_params, f"{mlp:.3e}", f"{demo.mlp_seconds_:.1f}")],
        ["model", "parameters", "test RMSE", "train s"], "kw-kart-table")


def _mlp_shape(demo):
    lin = [m for m in demo.mlp_ if hasattr(m, "out_features")]
    return str([lin[0].in_features, *[m.out_features for m in lin]])
