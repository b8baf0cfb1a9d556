"""The selected node, large: what it computes over the data, and Prune node / Drop input.

A click on a node's dot shows it here (in the place of the edge panel); pruning is a second
click, on the button, whose effect ("3 edges go, loss a → b") is shown beside it first.
"""

from __future__ import annotations

import html
import threading

import ipywidgets as widgets
import plotly.graph_objects as go

from ._explorer_common import button, guard, set_enabled
from ._plotly import update_figure

__all__ = ["NodePanel"]

WHY_TRAINING = "training is running (Stop it first)"
GLYPH = {"input": "●", "sum": "●", "output": "●", "mult": "⊗"}


class NodePanel:
    """Everything about ``session.selected_node``; visible while a node is selected.

    Attributes
    ----------
    widget : the panel (CSS class ``kw-node-panel``), hidden while no node is selected
    title : HTML naming the node and what it is (CSS ``kw-node-title``)
    figure : FigureWidget, trace ``values``: the node's value on each sample, against the
        input (one input), coloured over the plane of both inputs (two), or against the
        samples sorted by the output (more); for a multiplication node also ``factors``
        (the sub-nodes it multiplies)
    stats : HTML, the value range and mean (CSS ``kw-node-stats``)
    node_info : HTML, what pruning the node would do (CSS ``kw-node-info``)
    node_button : Prune node / Drop input (CSS ``kw-prune-node``); disabled while training
        or when every edge of the node is pruned already (the tooltip says why)
    fill_count : how many times the panel was filled
    """

    def __init__(self, session):
        self.session = s = session
        self._lock = threading.RLock()
        self.fill_count = 0
        self._live = False
        self.title = widgets.HTML("")
        self.title.add_class("kw-node-title")
        self.figure = go.FigureWidget(data=[
            go.Scatter(x=[], y=[], mode="markers", name="values",
                       marker=dict(size=4, color="rgba(31,41,55,0.45)", colorscale="RdBu",
                                   reversescale=True, showscale=False,
                                   colorbar=dict(thickness=10, len=0.9))),
            go.Scatter(x=[], y=[], mode="markers", name="factors",
                       marker=dict(size=3, color="rgba(200,30,90,0.25)")),
        ], layout=go.Layout(autosize=True, height=220, margin=dict(l=46, r=8, t=8, b=36),
                            showlegend=False, plot_bgcolor="white",
                            xaxis=dict(title=dict(text="")), yaxis=dict(title=dict(text=""))))
        self.figure._config = {**self.figure._config, "displayModeBar": False}
        self.stats = widgets.HTML("")
        self.stats.add_class("kw-node-stats")
        self.node_info = widgets.HTML("")
        self.node_info.add_class("kw-node-info")
        self.node_button = button("Prune node", "kw-prune-node",
                                  "Mask every edge into and out of this node", "warning")
        self.node_button.on_click(guard(lambda b: self.prune(), s, "prune node"))
        row = widgets.Box([self.node_button, self.node_info])
        row.add_class("kw-row")
        self.widget = widgets.VBox([self.title, self.figure, self.stats, row])
        self.widget.add_class("kw-node-panel")
        s.observe(guard(lambda ch: self.refresh(), s, "node panel"),
                  ["selected_node", "revision"])
        s.observe(guard(lambda ch: self._set_button(), s, "node panel"), "training")
        self.refresh()

    def prune(self):
        """What the button does: prune the selected node (drop it, for an input)."""
        return self.session.prune_node()

    def refresh(self):
        """Fill the panel for the selected node (hidden without one): first its values over
        the data, then the preview of pruning it."""
        s = self.session
        node = s.selected_node
        if node is None:
            self.widget.layout.display = "none"
            return
        with s.lock:
            act = s.node_activation(*node)
        glyph = GLYPH[act.kind]
        title = (f"<b>{glyph} node {html.escape(act.name)}</b> &nbsp;({act.layer},{act.index})"
                 f" &nbsp;·&nbsp; {html.escape(act.describe())}")
        # flat property names, the same in both cases (nested dicts make plotly recurse)
        vals = {"x": act.x, "y": act.values, "marker.color": "rgba(31,41,55,0.45)",
                "marker.size": 4, "marker.showscale": False}
        lay = {"xaxis.title.text": act.x_label, "yaxis.title.text": f"value of {act.name}"}
        if act.against == "inputs":  # the value is the colour over the plane of both inputs
            vals.update({"y": act.x2, "marker.color": act.values, "marker.size": 5,
                         "marker.showscale": True})
            lay["yaxis.title.text"] = act.x2_label
        fx = fy = []
        if act.arity and act.against != "inputs" and len(act.values):
            # the factors beside their product, one NaN-separated column per factor
            k = act.factors.shape[1]
            fx = list(act.x) * k
            fy = act.factors.T.ravel().tolist()
        with self._lock, self.widget.hold_sync():
            self.title.value = title
            update_figure(self.figure, [(self.figure.data[0], vals),
                                        (self.figure.data[1], {"x": fx, "y": fy})], lay)
            self.stats.value = html.escape(act.summary())
            self.node_button.description = "Drop input" if act.layer == 0 else "Prune node"
            self.node_info.value = "<i>computing what pruning it would do…</i>"
            self.widget.layout.display = None
            self.fill_count += 1
        self._show_preview(node)

    def _show_preview(self, node):
        s = self.session
        with s.lock:
            if s.selected_node != node:
                return
            p = s.preview_prune_node(*node)
        self._live = bool(p.edges)
        with self._lock, self.widget.hold_sync():
            self.node_info.value = html.escape(p.text()) if p.edges else (
                f"node {html.escape(p.name)}: all its edges are pruned already")
            self._set_button()

    def _set_button(self):
        s = self.session
        if s.selected_node is None:
            set_enabled(self.node_button, False, "click a node of the network first")
        elif s.training:
            set_enabled(self.node_button, False, WHY_TRAINING)
        else:
            set_enabled(self.node_button, self._live, "all its edges are pruned already")
