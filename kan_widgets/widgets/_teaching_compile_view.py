"""``CompileView``: the ipywidgets/plotly view of a ``CompileState`` (``KARTDemo``'s "type a
formula, see its network" panel). One ``FigureWidget``, built once; each compile or reveal
replaces the x/y arrays of its six traces in one update."""

from __future__ import annotations

import html

import ipywidgets as W
import plotly.graph_objects as go

from ._plotly import update_figure
from ._teaching_common import FIG_WIDTH, TeachingView, error_html, html_table

__all__ = ["CompileView"]

_TRACES = ("faint", "edges", "boxes", "curves", "nodes", "labels")
_NODE_SYMBOL = {"input": "square", "sum": "circle", "mult": "circle-x", "sub": "circle"}
_NODE_SIZE = {"input": 22, "sum": 22, "mult": 22, "sub": 8}


def _figure():
    traces = [
        go.Scatter(name="faint", mode="lines", line={"color": "#ddd", "width": 1,
                                                     "dash": "dot"}, hoverinfo="skip"),
        go.Scatter(name="edges", mode="lines", line={"color": "#999", "width": 1.5},
                   hoverinfo="skip"),
        go.Scatter(name="boxes", mode="lines", fill="toself", fillcolor="rgba(255,255,255,0.9)",
                   line={"color": "#bbb", "width": 1}, hoverinfo="skip"),
        go.Scatter(name="curves", mode="lines", line={"color": "#d62728", "width": 2},
                   hoverinfo="skip"),
        go.Scatter(name="nodes", mode="markers+text", textposition="middle left",
                   marker={"size": 22, "color": "white", "line": {"width": 2, "color": "#333"}},
                   hovertemplate="%{customdata}<extra></extra>"),
        go.Scatter(name="labels", mode="text", textposition="top left",
                   textfont={"size": 11, "color": "#d62728"},
                   hovertemplate="%{customdata}<extra></extra>"),
    ]
    fig = go.Figure(traces)
    fig.update_layout(width=FIG_WIDTH, height=420, showlegend=False, template="plotly_white",
                      margin={"l": 20, "r": 20, "t": 20, "b": 20}, hovermode="closest")
    fig.update_xaxes(visible=False, range=[-0.05, 1.05])
    fig.update_yaxes(visible=False)
    return go.FigureWidget(fig), {n: k for k, n in enumerate(_TRACES)}


class CompileView(TeachingView):
    """A text field (Enter or Compile), the reason a formula was refused (in place, under the
    field), the network with every edge's function drawn on it, a slider to reveal the edges
    one by one, and the table of edges.

    Attributes
    ----------
    widget, figure, trace_index : the root, the FigureWidget, trace name -> index
    controls : ``text`` (the formula field) and ``shown`` (edges revealed)
    compile_button, status, error_box, table : the button and HTML boxes
    """

    css_prefix = "kw-compile"

    def __init__(self, state):
        super().__init__(state)
        self.figure, self.trace_index = _figure()
        self.controls = {
            "text": W.Text(value=state.text, description="f =", continuous_update=False,
                           layout={"width": "480px"}),
            "shown": W.IntSlider(state.shown, min=0, max=max(len(state.edges_), 1),
                                 description="edges shown", style={"description_width": "initial"}),
        }
        self.message_box = self.error_box = self._html("error")
        self.status, self.table = self._html("status"), self._html("table")
        self.compile_button = self._button("Compile", "compile", self._compile_typed,
                                           button_style="primary", icon="cogs")
        self._wire({"text": lambda v: state.compile(v), "shown": lambda v: state.show(v)})
        self.widget = W.VBox([
            W.HTML("<b>Type a formula, see the network that computes it</b> (sums at + nodes, "
                   "products at \u00d7 nodes, each edge's function drawn on it)"),
            W.HBox([self.controls["text"], self.compile_button]), self.error_box,
            self.status, self.controls["shown"], self._figure_box(), self.table])
        self._start()

    def _compile_typed(self):
        self.state.compile(self.controls["text"].value)

    def sync_controls(self):
        s = self.state
        self.push(self.controls["shown"], max=max(len(s.edges_), 1), value=s.shown)
        if not s.error:  # keep what the learner typed while it is refused
            self.push(self.controls["text"], value=s.text)

    def redraw(self):
        s = self.state
        self.error_box.value = error_html(html.escape(s.error)) if s.error else ""
        self.status.value = html.escape(s.summary())
        sc = s.scene()
        nx, ny, ntext, kind, nform = sc["nodes"]
        U = {}

        def put(name, **props):
            U.setdefault(self.trace_index[name], {}).update(props)

        for name in ("faint", "edges", "boxes", "curves"):
            put(name, x=sc[name][0], y=sc[name][1])
        put("nodes", x=nx, y=ny, text=[t if k == "input" else "" for t, k in zip(ntext, kind)],
            customdata=nform, **{"marker.symbol": [_NODE_SYMBOL[k] for k in kind],
                                 "marker.size": [_NODE_SIZE[k] for k in kind]})
        lx, ly, ltext, lhover = sc["labels"]
        put("labels", x=lx, y=ly, text=ltext, customdata=lhover)
        update_figure(self.figure, U, {"yaxis.range": [-0.4, sc["height"] - 0.6],
                                       "height": 140 + 150 * sc["height"]})
        self.table.value = html_table(
            [(f"{k + 1}", str(tuple(ev.edge)), html.escape(ev.text))
             for k, ev in enumerate(s.edges_[:s.shown])],
            ["#", "edge (layer, from, to)", "function"], "kw-compile-table")
