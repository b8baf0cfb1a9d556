"""The network plot: every edge's curve in its own clickable cell (plotly ``FigureWidget``).

Two figures of the same size and axes are stacked in one grid cell:

* ``figure`` (on top, transparent): one filled trace per edge cell, named ``edge l,i,j``
  (``hoveron="fills"``), plus the selection drawn as layout shapes. plotly hit-tests points,
  not areas, so a filled polygon is what makes the whole cell clickable and hoverable.
* ``curves`` (below): every edge's curve, grouped into a few NaN-separated traces per mode and
  opacity level (plotly sets opacity per trace), pruned edges, the pruning preview, nodes and
  labels.

Why two figures: plotly redraws *every* trace of a figure on any trace update, and 200 filled
cell traces made each redraw cost ~150-250 ms in the browser. Training redraws only touch
``curves`` (~15 traces); ``figure`` changes only when the hover texts do (after an action).
Both are built once; redraws only send trace data (``_plotly.update_figure``).
"""

from __future__ import annotations

import threading

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from ..explore.layout import NODE_GAP
from ..explore.scene import ALPHA_LEVELS
from ._explorer_common import guard, short
from ._plotly import sync_state, update_figure

__all__ = ["NetworkView", "MODE_COLORS", "node_marker", "group_shapes"]

MODE_COLORS = {"spline": (31, 41, 55), "symbolic": (200, 30, 90), "pruned": (150, 150, 150)}
SELECT_COLOR = "rgb(255, 140, 0)"
PREVIEW_COLOR = "rgb(220, 40, 40)"
CELL_FILL = "rgba(100, 110, 130, 0.06)"
STACK_STYLE = """<style>
.kw-network > .kw-stack-style { display: none; }
.kw-network-cells { position: relative; z-index: 2; }
.kw-network-curves { position: relative; z-index: 1; pointer-events: none; }
.kw-network-scroll > .widget-gridbox { flex: 1 1 auto; min-width: 0; }
.kw-network-cells, .kw-network-curves { min-width: 0; }
.kw-network-cells > *, .kw-network-curves > * { flex: 1 1 auto; min-width: 0; }
</style>"""


def _rgba(rgb, alpha):
    return f"rgba({rgb[0]}, {rgb[1]}, {rgb[2]}, {alpha:.2f})"


MULT_SYMBOL = "circle-x-open"  # a multiplication node: x in a circle


def node_marker(lay) -> dict:
    """Marker of the node dots, in ``node_x`` order: a filled dot per sum node (and input,
    output), x in a circle for a multiplication node."""
    kinds = [k for row in lay.node_kinds for k in row]
    mult = [k == "mult" for k in kinds]
    return dict(size=[15 if m else 9 for m in mult],
                symbol=[MULT_SYMBOL if m else "circle" for m in mult],
                line=dict(width=2, color="rgb(31,41,55)"), color="rgb(31,41,55)")


def group_shapes(lay) -> list[dict]:
    """The factors of each multiplication node grouped: a tinted box behind their rows, and
    the product node's wire (from the band up to its glyph) in the same tint."""
    out = []
    for m, j, x0, x1, y0, y1 in lay.groups:
        out.append(dict(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, layer="below",
                        fillcolor="rgba(200,30,90,0.07)",
                        line=dict(color="rgba(200,30,90,0.45)", width=1, dash="dot")))
        x, y = float(lay.node_x[m][j]), float(lay.node_y[m][j])
        out.append(dict(type="line", x0=x, x1=x, y0=y - NODE_GAP, y1=y, layer="below",
                        line=dict(color="rgba(200,30,90,0.7)", width=2)))
    return out


class NetworkView:
    """Draw a session's model and turn clicks on edge cells into ``session.select``.

    Parameters
    ----------
    session : explore.Session
    width_px : figure width in pixels; None (default) fills the width of the panel, and
        the figures follow it when it changes

    Attributes
    ----------
    figure : the clickable FigureWidget on top: trace ``n`` is the cell of ``layout.edges[n]``,
        named ``edge l,i,j``; after them one trace of dots per node-layer ``l``, named
        ``nodes l`` (point ``i`` = node ``i``: a click selects the node); the selection is its
        ``layout.shapes`` (edge box, edge curve, node ring)
    curves : the FigureWidget below: curve groups, ``pruned``, ``prune preview``, nodes
    widget : the panel (CSS class ``kw-network``); a network taller than the window leaves
        scrolls inside it (``kw-network-scroll``)
    redraw_count : number of full redraws so far (for tests and benchmarks)
    """

    def __init__(self, session, width_px=None):
        self.session = session
        lay = session.layout
        self._lock = threading.RLock()  # two threads (a click, a training step) may redraw
        self._applied = -1  # sequence number of the newest scene on screen
        self._seq = 0
        self._scene = None
        self.redraw_count = 0
        self._hover = [""] * lay.n_edges
        px, py = lay.cell_polygons()
        wx, wy = lay.wires()
        quiet = dict(hoverinfo="skip", showlegend=False)
        cells = [go.Scatter(x=px[n].tolist(), y=py[n].tolist(), mode="lines", fill="toself",
                            fillcolor=CELL_FILL, line=dict(color="rgba(100,110,130,0.25)", width=0.5),
                            hoveron="fills", hoverinfo="text", text=f"edge {e}",
                            name=f"edge {e}", showlegend=False)
                 for n, e in enumerate(lay.edges)]
        # clickable node dots, drawn on top of the cells (plotly prefers points to fills)
        cells += [go.Scatter(x=list(map(float, lay.node_x[l])), y=list(map(float, lay.node_y[l])),
                             mode="markers", name=f"nodes {l}",
                             marker=dict(size=14, color="rgba(31,41,55,0.01)"),
                             hoverinfo="text", showlegend=False,
                             text=self._node_hover(l, None))
                  for l in range(len(lay.width))]
        self._node_texts = [list(tr.text) for tr in cells[lay.n_edges:]]
        self._groups = [(m, k) for m in ("spline", "symbolic") for k in range(len(ALPHA_LEVELS))]
        curves = [go.Scatter(x=wx, y=wy, mode="lines", name="wires",
                             line=dict(color="rgba(120,120,120,0.35)", width=1), **quiet)]
        self._curve0 = len(curves)
        curves += [go.Scatter(x=[], y=[], mode="lines", name=f"{m} {ALPHA_LEVELS[k]:.2f}",
                              line=dict(color=_rgba(MODE_COLORS[m], ALPHA_LEVELS[k]), width=1.6),
                              **quiet) for m, k in self._groups]
        curves.append(go.Scatter(x=[], y=[], mode="lines", name="pruned",
                                 line=dict(color=_rgba(MODE_COLORS["pruned"], 0.8), width=1,
                                           dash="dot"), **quiet))
        curves.append(go.Scatter(x=[], y=[], mode="lines", name="prune preview",
                                 line=dict(color=PREVIEW_COLOR, width=2, dash="dash"), **quiet))
        self._special = {name: self._curve0 + len(self._groups) + n
                         for n, name in enumerate(["pruned", "preview"])}
        nx = np.concatenate(lay.node_x)
        ny = np.concatenate(lay.node_y)
        # long names (an output named by its formula) are cut: they would cover the cells
        labels = [short(s) for row in lay.node_labels for s in row]
        n_in, n_out = lay.width[0], lay.width[-1]
        pos = (["bottom center"] * n_in + ["middle right"] * (len(labels) - n_in - n_out)
               + ["top center"] * n_out)
        hidden = slice(n_in, len(labels) - n_out)
        shown = list(labels)
        if sum(lay.width[1:-1]) > 12:  # many hidden nodes: their names would overlap
            shown[hidden] = [""] * (len(labels) - n_in - n_out)
        curves.append(go.Scatter(x=nx, y=ny, mode="markers+text", name="nodes", text=shown,
                                 textposition=pos, textfont=dict(size=12),
                                 marker=node_marker(lay), **quiet))
        rx, ry, rt = zip(*lay.row_labels)
        rt = [short(t, 10) for t in rt]
        curves.append(go.Scatter(x=rx, y=ry, mode="text", text=rt, name="rows",
                                 textposition="middle left",
                                 textfont=dict(size=10, color="rgb(110,110,110)"), **quiet))
        axis = dict(visible=False, fixedrange=True)
        size = (dict(autosize=True) if width_px is None
                else dict(autosize=False, width=int(width_px)))
        base = dict(**size, height=lay.height_px, margin=dict(l=8, r=8, t=8, b=8),
                    xaxis=dict(range=list(lay.x_range), **axis),
                    yaxis=dict(range=list(lay.y_range), **axis), dragmode=False,
                    showlegend=False)
        self.curves = go.FigureWidget(data=curves, layout=go.Layout(
            **base, hovermode=False, plot_bgcolor="white", paper_bgcolor="white",
            shapes=group_shapes(lay)))
        self.figure = go.FigureWidget(data=cells, layout=go.Layout(
            **base, hovermode="closest", plot_bgcolor="rgba(0,0,0,0)",
            paper_bgcolor="rgba(0,0,0,0)",
            # the selection is two layout shapes, not traces: moving a shape is a cheap
            # relayout in the browser, while a trace restyle redraws every trace
            shapes=[dict(type="rect", x0=0, x1=0, y0=0, y1=0, visible=False, layer="above",
                         line=dict(color=SELECT_COLOR, width=3)),
                    dict(type="path", path="M 0 0", visible=False, layer="above",
                         line=dict(color=SELECT_COLOR, width=2.4)),
                    dict(type="circle", xref="x", yref="y", xsizemode="pixel",
                         ysizemode="pixel", xanchor=0, yanchor=0, x0=-9, x1=9, y0=-9, y1=9,
                         visible=False, layer="above",
                         line=dict(color=PREVIEW_COLOR, width=3))]))
        for fig in (self.figure, self.curves):
            fig._config = {**fig._config, "displayModeBar": False}
        for tr in self.figure.data:
            tr.on_click(self._on_click)
        # stack the two: same grid cell; the clickable one first in the DOM and on top (CSS)
        top = widgets.Box([self.figure], layout={"grid_area": "1 / 1 / 2 / 2"})
        top.add_class("kw-network-cells")
        below = widgets.Box([self.curves], layout={"grid_area": "1 / 1 / 2 / 2"})
        below.add_class("kw-network-curves")
        cols = "minmax(0, 1fr)" if width_px is None else f"{int(width_px)}px"
        stack = widgets.GridBox([top, below], layout={
            "grid_template_columns": cols, "grid_template_rows": f"{lay.height_px}px"})
        scroll = widgets.Box([stack])
        scroll.add_class("kw-network-scroll")
        # the stacking rules travel with the view, so a custom layout of panels keeps them
        css = widgets.HTML(STACK_STYLE)
        css.add_class("kw-stack-style")
        self.widget = widgets.VBox([css, scroll])
        self.widget.add_class("kw-network")
        # a drawing error is shown in the message area, never raised into the command
        session.observe(guard(lambda ch: self.redraw(), session, "redraw"), "revision")
        session.observe(guard(lambda ch: self.redraw(live=True), session, "redraw"), "live")
        session.observe(guard(lambda ch: self._draw_selection(), session, "redraw"),
                        ["selected", "selected_node"])
        session.observe(guard(lambda ch: self._draw_preview(), session, "redraw"), "preview")
        self.redraw()

    # ------------------------------------------------------------------ events
    def _on_click(self, trace, points, state):
        # plotly calls the on_click of *every* trace for one click: only the hit one has points
        if not points.point_inds:
            return
        n = points.trace_index
        n_edges = self.session.layout.n_edges
        try:
            if 0 <= n < n_edges:
                self.session.select(self.session.layout.edges[n])
            elif n >= n_edges:  # a node dot: trace n_edges + l, point i = node (l, i)
                self.session.select_node(n - n_edges, points.point_inds[0])
        except Exception:  # reported in session.message; never into the log console
            pass

    def click_node(self, layer, i):
        """What clicking the dot of node ``(layer, i)`` does (a programmatic twin)."""
        self.session.select_node(layer, i)

    def click(self, edge):
        """What clicking the cell of ``edge`` does (a programmatic twin)."""
        self.session.select(edge)

    # ------------------------------------------------------------------ drawing
    def redraw(self, live=False):
        """Recompute the scene and update every curve in one batch."""
        s = self.session
        with s.lock:
            scene = s.scene(fresh_scores=live)  # opacity follows the scores as the model learns
            self._seq += 1
            seq = self._seq
        with self._lock:
            if seq < self._applied:
                return  # a newer scene is already on screen
            self._applied = seq
            self._scene = scene
            curves, cells = self.curves, self.figure
            updates = []
            for n, (m, k) in enumerate(self._groups):
                x, y = scene.paths(m, k)
                updates.append((curves.data[self._curve0 + n], {"x": x, "y": y}))
            x, y = scene.paths("pruned")
            updates.append((curves.data[self._special["pruned"]], {"x": x, "y": y}))
            updates += self._preview_updates()
            update_figure(curves, updates)
            texts = []
            if not live:
                hover = scene.hover(s.layout)
                texts = [(cells.data[n], {"text": t})
                         for n, t in enumerate(hover) if t != self._hover[n]]  # only changes
                self._hover = hover
                texts += self._node_text_updates()
            update_figure(cells, texts, sync=False)
            with cells.batch_update():
                self._selection_shapes()
            sync_state(cells)
            self.redraw_count += 1

    def _node_hover(self, l, stats):
        """Hover texts of node-layer ``l``'s dots: name, values over the data (``stats``:
        (width, 3) min, max, mean, or None) and what a click does."""
        lay = self.session.layout
        out = []
        for i in range(lay.width[l]):
            head = f"node {l},{i}: {lay.node_labels[l][i]}"
            if lay.node_kinds[l][i] == "mult":
                head += " ⊗ (multiplication)"
            if stats is not None and not np.isnan(stats[i]).any():
                lo, hi, mean = stats[i]
                head += f"<br>values {lo:.3g} … {hi:.3g}, mean {mean:.3g}"
            out.append(f"{head}<br>click to see what it computes")
        return out

    def _node_text_updates(self):
        stats = self.session.node_summaries()
        n0 = self.session.layout.n_edges
        ups = []
        for l, st in enumerate(stats):
            text = self._node_hover(l, st)
            if text != self._node_texts[l]:
                self._node_texts[l] = text
                ups.append((self.figure.data[n0 + l], {"text": text}))
        return ups

    def _draw_selection(self):
        with self._lock:
            with self.figure.batch_update():
                self._selection_shapes()
            sync_state(self.figure)

    def _draw_preview(self):
        with self._lock:
            update_figure(self.curves, self._preview_updates())

    def _selection_shapes(self):
        """Move the selection box and curve shapes (call inside a batch_update)."""
        lay, sel = self.session.layout, self.session.selected
        box, curve, ring = self.figure.layout.shapes
        node = self.session.selected_node
        if node is None:
            ring.visible = False
        else:
            ring.update(xanchor=float(lay.node_x[node[0]][node[1]]),
                        yanchor=float(lay.node_y[node[0]][node[1]]), visible=True)
        if sel is None or self._scene is None:
            box.visible = curve.visible = False
            return
        n = lay.index[sel]
        x0, x1, y0, y1 = (float(v) for v in lay.cells[n])
        box.update(x0=x0, x1=x1, y0=y0, y1=y1, visible=True)
        if self._scene.modes[n] == "pruned":
            curve.visible = False
        else:
            cx, cy = self._scene.curve_x[n], self._scene.curve_y[n]
            path = "M " + " L ".join(f"{x:.5g} {y:.5g}" for x, y in zip(cx, cy))
            curve.update(path=path, visible=True)

    def _preview_updates(self):
        x, y = self.session.layout.outline(self.session.preview)
        return [(self.curves.data[self._special["preview"]], {"x": x, "y": y})]
