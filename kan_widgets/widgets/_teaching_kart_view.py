"""``KARTView``: the ipywidgets/plotly view of a ``KARTState`` (the state and numbers live in
``kan_widgets.explore.teaching_kart``)."""

from __future__ import annotations

import time

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..explore.teaching_kart import PRESETS
from ._plotly import update_figure
from ._teaching_common import FIG_WIDTH, TeachingView, color, html_table

__all__ = ["KARTView"]

REDRAW_EVERY_S = 0.7  # live redraw rate while training: enough to watch, cheap to send


def _node_xy(q, hidden):
    """Diagram positions: inputs at y=0, hidden sums at y=1, the output at y=2."""
    return {("in", 0): (0.3, 0.0), ("in", 1): (0.7, 0.0), ("out", 0): (0.5, 2.0),
            **{("hid", j): ((j + 0.5) / hidden, 1.0) for j in range(q)}}


def _traces(Q):
    """(trace, row, col) of every trace: the diagram, the inner and outer functions, RMSE."""
    out = []
    for q in range(Q):  # diagram edges: 2 inner per hidden node, 1 outer
        for name in (f"edge {q},0", f"edge {q},1", f"edge out {q}"):
            out.append((go.Scatter(name=name, x=[], y=[], mode="lines",
                                   line={"color": color(q)}, hoverinfo="skip"), 1, 1))
    out.append((go.Scatter(name="nodes", x=[], y=[], mode="markers+text",
                           textposition="middle center", textfont={"size": 13}, hoverinfo="skip",
                           marker={"size": 30, "color": "white", "line": {"width": 2}}), 1, 1))
    for q in range(Q):
        for name, rc in ((f"phi x {q}", (1, 2)), (f"phi y {q}", (2, 2)), (f"Phi {q}", (1, 3))):
            out.append((go.Scatter(name=name, x=[], y=[], mode="lines",
                                   line={"color": color(q), "width": 3},
                                   hovertemplate=f"q={q + 1}: %{{y:.3f}}<extra></extra>"), *rc))
    out.append((go.Bar(name="rmse", x=["KAN", "MLP"], y=[None, None], textposition="outside",
                       marker={"color": ["#636EFA", "#7F7F7F"]}, hoverinfo="skip"), 2, 3))
    return out


def _figure(Q):
    """The FigureWidget and trace name -> index (the browser tests find traces by name)."""
    fig = make_subplots(
        rows=2, cols=3, specs=[[{"rowspan": 2}, {}, {}], [None, {}, {}]],
        column_widths=[0.28, 0.36, 0.36], horizontal_spacing=0.07, vertical_spacing=0.16,
        # plotly text takes no named HTML entities: Greek letters as characters
        subplot_titles=("f = \u03a3<sub>q</sub> \u03a6<sub>q</sub>(\u03c6<sub>q,x</sub>(x) + "
                        "\u03c6<sub>q,y</sub>(y))", "inner functions \u03c6<sub>q,x</sub>(x)",
                        "outer functions \u03a6<sub>q</sub>(z<sub>q</sub>)",
                        "inner functions \u03c6<sub>q,y</sub>(y)", "test RMSE, same data and steps"))
    traces = _traces(Q)
    for trace, row, col in traces:
        fig.add_trace(trace, row=row, col=col)
    fig.update_layout(height=600, width=FIG_WIDTH, margin={"l": 40, "r": 20, "t": 50, "b": 40},
                      showlegend=False, template="plotly_white", hovermode="closest")
    fig.update_xaxes(visible=False, range=[-0.05, 1.05], row=1, col=1)
    fig.update_yaxes(visible=False, range=[-0.35, 2.35], row=1, col=1)
    fig.update_yaxes(type="log", row=2, col=3)
    return go.FigureWidget(fig), {t.name: n for n, (t, _, _) in enumerate(traces)}


class KARTView(TeachingView):
    """Function, hidden nodes and steps; Train with progress; the network diagram, the inner
    and outer functions (redrawn as they learn) and the KAN-vs-MLP test RMSE.

    Attributes
    ----------
    widget, figure, trace_index : the root, the FigureWidget, trace name -> index
    controls : ``function``, ``hidden``, ``steps``
    train_button, progress : Train and its progress bar (one tick per step of either network)
    status, exact, metrics : HTML boxes (status line, known decomposition, results table)
    """

    css_prefix = "kw-kart"

    def __init__(self, state):
        super().__init__(state)
        self.figure, self.trace_index = _figure(state.MAX_HIDDEN)
        self.controls = self._make_controls()
        self.message_box = self.status = self._html("status")
        self.exact, self.metrics = self._html("exact"), self._html("metrics")
        self.progress = W.IntProgress(0, min=0, max=2 * state.steps, layout={"width": "200px"})
        self.progress.add_class("kw-kart-progress")
        self.train_button = self._button("Train", "train", self.train_live,
                                         button_style="primary", icon="play")
        self._wire({"function": lambda v: state.set(function=v),
                    "hidden": lambda v: state.set(hidden=v),
                    "steps": lambda v: state.set(steps=v)})
        c = self.controls
        controls = W.HBox([W.VBox([c["function"], c["hidden"], c["steps"]]),
                           W.VBox([W.HBox([self.train_button, self.progress]), self.status])])
        self.widget = W.VBox([controls, self.exact, self._figure_box(), self.metrics])
        self._start()

    def guarded(self, fn, errors=(ValueError, RuntimeError)):
        return super().guarded(fn, errors)

    def _make_controls(self):
        s, st = self.state, {"description_width": "initial"}
        return {
            "function": W.Combobox(value=s.function, options=list(PRESETS),
                                   description="f(x, y) =", ensure_option=False, style=st),
            "hidden": W.IntSlider(s.hidden, min=1, max=s.MAX_HIDDEN, description="hidden nodes q",
                                  style=st),
            "steps": W.IntSlider(s.steps, min=5, max=100, step=5, description="LBFGS steps",
                                 style=st),
        }

    def train_live(self):
        """``state.train()`` with a progress bar and the KAN's functions redrawn as they learn."""
        s = self.state
        self.train_button.disabled = True
        self.progress.max, self.progress.value = 2 * s.steps, 0
        last = [time.monotonic()]

        def step(which, i, model):
            self.progress.value = min(self.progress.value + 1, self.progress.max)
            self.status.value = f"training the {which}: step {i + 1} of {s.steps}"
            if which == "KAN" and time.monotonic() - last[0] > REDRAW_EVERY_S:
                last[0] = time.monotonic()
                self._draw_model(model)

        try:
            s.train(callback=step)
        finally:
            self.train_button.disabled = False

    def sync_controls(self):
        s, c = self.state, self.controls
        self.push(c["function"], value=s.function)
        self.push(c["hidden"], value=s.hidden)
        self.push(c["steps"], value=s.steps)

    # ------------------------------------------------------------------ drawing
    def _collector(self):
        U = {}  # trace index -> {property: value}, sent as one update

        def put(trace, **props):
            U.setdefault(self.trace_index[trace], {}).update(props)

        return U, put

    def _diagram(self, put, imp0=None, imp1=None):
        """Diagram edges (width = importance once trained) and nodes into the update ``put``."""
        hid = self.state.hidden
        pos = _node_xy(hid, hid)
        for q in range(self.state.MAX_HIDDEN):
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

    def _draw_model(self, model):
        """Inner/outer functions of ``model`` (the trained KAN or one still training)."""
        s = self.state
        inner, outer = s.inner_functions(model=model), s.outer_functions(model=model)
        imp0, imp1 = s.edge_importance(model=model)
        U, put = self._collector()
        self._diagram(put, imp0, imp1)
        for q in range(s.MAX_HIDDEN):
            live = q < s.hidden
            curves = [(f"phi x {q}", inner.get((q, 0)), imp0[q, 0] if live else 0),
                      (f"phi y {q}", inner.get((q, 1)), imp0[q, 1] if live else 0),
                      (f"Phi {q}", outer.get(q), imp1[q] if live else 0)]
            for name, xy, imp in curves:
                # faint curves: edges that barely matter
                put(name, x=xy[0] if live else [], y=xy[1] if live else [], visible=live,
                    opacity=0.25 + 0.75 * float(imp))
        update_figure(self.figure, U)

    def redraw(self):
        s = self.state
        if s.model_ is not None:
            self._draw_model(s.model_)
        else:
            U, put = self._collector()
            self._diagram(put)
            for q in range(s.MAX_HIDDEN):
                for name in (f"phi x {q}", f"phi y {q}", f"Phi {q}"):
                    put(name, x=[], y=[])
            update_figure(self.figure, U)
        self._draw_rmse()
        ex = s.exact_error()
        self.exact.value = (
            f"<b>Known exact decomposition</b>: {s.preset['text']} (checked on the data: max "
            f"error {ex:.1e})." if s.preset else
            "<b>No exact decomposition on file</b> for this formula: look at what the KAN found.")
        self._show_results()

    def _draw_rmse(self):
        kan, mlp = self.state.kan_rmse_, self.state.mlp_rmse_
        vals = [v for v in (kan, mlp) if v is not None and v > 0]
        # log axis from a decade under the smaller error: bar heights compare orders of magnitude
        yr = [np.log10(min(vals)) - 1, np.log10(max(vals)) + 0.5] if vals else [-4, 0]
        U, put = self._collector()
        put("rmse", y=[kan, mlp], text=["" if v is None else f"{v:.1e}" for v in (kan, mlp)])
        update_figure(self.figure, U, {"yaxis5.range": yr})

    def _show_results(self):
        s = self.state
        kan, mlp = s.kan_rmse_, s.mlp_rmse_
        if kan is None:
            self.status.value = (f"KAN {s.width}, {s.kan_params} parameters: press "
                                 f"<b>Train</b> ({s.steps} LBFGS steps).")
            self.metrics.value = ""
            return
        self.status.value = (f"done: KAN {kan:.2e} vs MLP {mlp:.2e} test RMSE "
                             f"({'KAN' if kan < mlp else 'MLP'} lower).")
        self.metrics.value = html_table(
            [(f"KAN {s.width}", s.kan_params, f"{kan:.3e}", f"{s.kan_seconds_:.1f}"),
             (f"MLP {s.mlp_shape}", s.mlp_params, f"{mlp:.3e}", f"{s.mlp_seconds_:.1f}")],
            ["model", "parameters", "test RMSE", "train s"], "kw-kart-table")
