"""``BSplineView``: the ipywidgets/plotly view of a ``BSplineState`` (the state and numbers live
in ``kan_widgets.explore.teaching_bspline``; this module only draws them and wires the controls).

Traces are allocated once for the largest ``G + k`` and hidden when unused: re-creating
traces on every slider move would resend the whole figure to the browser.
"""

from __future__ import annotations

from functools import partial

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..explore.teaching_bspline import N_PER, ORDER_NAMES, cox_de_boor_levels, greville
from ._plotly import update_figure
from ._teaching_common import FIG_WIDTH, TeachingView, color

__all__ = ["BSplineView"]

BAR_Y0, BAR_DY = -0.08, 0.06  # support bars below the axis, staggered so overlaps show
_HIDDEN = {"x": [], "y": [], "visible": False}


def _support_trace(x, Bp, t, i, p):
    """(xs, ys) of ``B_{i,p}`` over its support, then (after a gap) its support bar."""
    sl = slice(i * N_PER, (i + p + 1) * N_PER)
    bar = BAR_Y0 - BAR_DY * (i % (p + 1))
    xs = [t[i], *x[sl], t[i + p + 1], None, t[i], t[i + p + 1]]
    ys = [0.0, *Bp[sl, i], 0.0, None, bar, bar]
    return xs, ys


def _line(name, axes, **kw):
    return go.Scatter(name=name, x=[], y=[], mode="lines", xaxis=axes[0], yaxis=axes[1],
                      showlegend=False, **kw)


def _markers(name, axes, **kw):
    return go.Scatter(name=name, x=[], y=[], mode="markers", xaxis=axes[0], yaxis=axes[1],
                      showlegend=False, **kw)


def _basis_traces(n_basis, n_level):
    """Top row: the basis with its sum and knots (x, y); the recursion levels (x2, y2)."""
    tr = [_line(f"B{i}", ("x", "y"), line={"color": color(i), "width": 2},
                hovertemplate=f"B<sub>{i}</sub>: %{{y:.3f}}<extra></extra>")
          for i in range(n_basis)]
    tr.append(_line("sum", ("x", "y"), line={"color": "black", "width": 2.5, "dash": "dash"},
                    hovertemplate="sum: %{y:.4f}<extra></extra>"))
    tr.append(_markers("knots", ("x", "y"), hovertemplate="knot %{x:.3f}<extra></extra>",
                       marker={"symbol": "line-ns-open", "size": 10, "color": "gray"}))
    tr += [_line(f"L{i}", ("x2", "y2"), line={"color": color(i), "width": 2},
                 hovertemplate="%{y:.3f}<extra></extra>") for i in range(n_level)]
    tr += [_line(f"parent {side}", ("x2", "y2"), hoverinfo="skip",
                 line={"color": "gray", "width": 2, "dash": "dot"}) for side in ("left", "right")]
    return tr


def _curve_traces():
    """Bottom row: the curve with its control polygon (x3, y3); samples and grid (x4, y4)."""
    c3 = ("x3", "y3")
    tr = [_line("contribution", c3, fill="tozeroy", hoverinfo="skip", line={"width": 0},
                opacity=0.3),
          _markers("trained edge", c3, marker={"size": 4, "color": "lightgray"},
                   hoverinfo="skip"),
          _line("curve", c3, line={"color": "black", "width": 3}, hoverinfo="skip"),
          go.Scatter(name="control", x=[], y=[], mode="lines+markers", xaxis="x3", yaxis="y3",
                     line={"color": "gray", "dash": "dot", "width": 1},
                     marker={"size": 9, "color": "gray"}, showlegend=False,
                     hovertemplate="c<sub>%{pointNumber}</sub> = %{y:.3f}<extra></extra>"),
          _markers("selected", c3, hoverinfo="skip",
                   marker={"size": 15, "symbol": "circle-open", "line": {"width": 3}}),
          go.Histogram(name="samples", x=[], xaxis="x4", yaxis="y4", nbinsx=40,
                       marker={"color": "lightsteelblue"}, showlegend=False)]
    tr += [_markers(name, ("x4", "y4"), hovertemplate=name + " %{x:.3f}<extra></extra>",
                    marker={"symbol": "triangle-up", "size": 10, "color": c})
           for name, c in (("grid points", "black"), ("extension knots", "darkgray"))]
    return tr


def _figure(n_basis, n_level):
    """The FigureWidget with every trace it will ever need, and trace name -> index."""
    base = make_subplots(
        rows=2, cols=2, horizontal_spacing=0.08, vertical_spacing=0.13,
        subplot_titles=("basis functions B<sub>i</sub> and their sum", "Cox-de Boor recursion",
                        "a curve: sum of c<sub>i</sub> B<sub>i</sub>", "samples and grid points"))
    traces = _basis_traces(n_basis, n_level) + _curve_traces()
    fig = go.FigureWidget(data=traces, layout=base.layout)
    fig.update_layout(height=640, width=FIG_WIDTH, margin={"l": 40, "r": 20, "t": 40, "b": 30},
                      bargap=0.05, hovermode="closest", template="plotly_white")
    fig.layout.xaxis2.matches = "x"
    fig.layout.xaxis3.matches = "x"
    return fig, {t.name: n for n, t in enumerate(traces)}


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


class BSplineView(TeachingView):
    """Sliders for the grid, the recursion level and one coefficient; a four-panel figure.

    Attributes
    ----------
    widget : the root VBox
    figure : the FigureWidget; ``trace_index`` maps trace names (``B0``.., ``sum``, ``L0``..,
        ``curve``, ``control``, ``samples``, ``grid points``, ...) to indices in ``figure.data``
    n_basis_max, n_level_max : how many basis / recursion traces exist (unused ones hidden)
    controls : the sliders by name (``k``, ``G``, ``range``, ``eps``, ``level``, ``index``,
        ``value``); ``buttons`` the buttons (``ones``, ``random``, ``reset``)
    info, recursion : HTML boxes under the controls and under the figure
    """

    css_prefix = "kw-bspline"

    def __init__(self, state):
        super().__init__(state)
        self._kmax, self._gmax = max(state.K_MAX, state.k), max(state.G_MAX, state.G)
        self.n_basis_max = self._gmax + self._kmax
        self.n_level_max = self._gmax + 2 * self._kmax  # level-0 functions
        self.figure, self.trace_index = _figure(self.n_basis_max, self.n_level_max)
        self._wire_clicks()
        self.controls = self._make_controls()
        self.message_box = self.info = self._html("info")
        self.recursion = self._html("recursion")
        s = state
        self._wire({"k": lambda v: s.set(k=v), "G": lambda v: s.set(G=v),
                    "range": lambda v: s.set(grid_range=v), "eps": lambda v: s.set(grid_eps=v),
                    "level": lambda v: s.set(level=v), "index": s.select,
                    "value": lambda v: s.set_coef(s.selected, v)})
        self.buttons = {"ones": self._button("all c_i = 1", "ones", s.ones, **_BUTTON),
                        "random": self._button("random c", "random", s.randomize, **_BUTTON),
                        "reset": self._button("reset", "reset", s.reset, **_BUTTON)}
        c = self.controls
        left = W.VBox([W.HTML("<b>Grid</b>"), c["k"], c["G"], c["range"], c["eps"]])
        right = W.VBox([W.HTML("<b>Recursion and curve</b>"), c["level"], c["index"],
                        c["value"], W.HBox(list(self.buttons.values()))])
        self.widget = W.VBox([W.HBox([left, right]), self.info, self._figure_box(),
                              self.recursion])
        self._start()

    def _wire_clicks(self):
        """Clicking a basis function, a recursion curve or a control value selects it."""
        def on_click(i, trace, points, state):
            if points.point_inds:  # handlers of all traces fire on every click
                self.guarded(self.state.select)(points.point_inds[0] if i is None else i)

        data, idx = self.figure.data, self.trace_index
        for i in range(self.n_basis_max):
            data[idx[f"B{i}"]].on_click(partial(on_click, i))
        for i in range(self.n_level_max):
            data[idx[f"L{i}"]].on_click(partial(on_click, i))
        data[idx["control"]].on_click(partial(on_click, None))

    def _make_controls(self):
        s, st = self.state, {"description_width": "initial"}
        lo, hi = s.grid_range
        return {
            "k": W.IntSlider(s.k, min=0, max=self._kmax, description="order k", style=st),
            "G": W.IntSlider(s.G, min=1, max=self._gmax, description="intervals G", style=st),
            "range": W.FloatRangeSlider(value=(lo, hi), min=min(-5.0, np.floor(lo)),
                                        max=max(5.0, np.ceil(hi)), step=0.1,
                                        description="grid range", style=st),
            "eps": W.FloatSlider(s.grid_eps, min=0, max=1, step=0.05, description="grid_eps",
                                 readout_format=".2f", style=st),
            "level": W.IntSlider(s.level, min=0, max=s.k, description="recursion level p",
                                 style=st),
            "index": W.IntSlider(s.selected, min=0, max=s.n_basis - 1,
                                 description="coefficient i", style=st),
            "value": W.FloatSlider(0.0, min=-3, max=3, step=0.01, description="value c_i",
                                   style=st),
        }

    def sync_controls(self):
        s, c = self.state, self.controls
        self.push(c["k"], value=s.k)
        self.push(c["G"], value=s.G)
        self.push(c["range"], value=s.grid_range)
        self.push(c["eps"], value=s.grid_eps)
        self.push(c["level"], max=s.k, value=s.level)
        self.push(c["index"], max=s.n_basis - 1, value=s.selected)
        v = float(s.coef[s.selected])
        self.push(c["value"], min=min(-3.0, np.floor(v)), max=max(3.0, np.ceil(v)), value=v)

    # ------------------------------------------------------------------ drawing
    def redraw(self):
        s, t, k, x = self.state, self.state.knots, self.state.k, self.state.x
        p = s.level
        levels = cox_de_boor_levels(x, t, k)
        j = min(s.selected, len(t) - 2 - p)  # the highlighted function of level p
        U = {}  # trace index -> {property path: value}, sent as one update

        def put(trace, **props):
            U.setdefault(self.trace_index[trace], {}).update(
                {key.replace("__", "."): v for key, v in props.items()})

        self._put_basis(put, levels[k])
        self._put_levels(put, levels, j)
        self._put_curve(put, levels[k])
        lo, hi = s.grid[0], s.grid[-1]
        rect = {"type": "rect", "x0": lo, "x1": hi, "fillcolor": "rgba(0,0,0,0.05)",
                "line": {"width": 0}, "layer": "below", "y0": 0, "y1": 1}
        update_figure(self.figure, U, {
            "shapes": [dict(rect, xref=a, yref=f"{b} domain")
                       for a, b in (("x", "y"), ("x3", "y3"), ("x4", "y4"))],
            "xaxis.range": [t[0], t[-1]], "xaxis4.range": [t[0], t[-1]],
            "yaxis.range": [BAR_Y0 - BAR_DY * (k + 0.5), 1.12],
            "yaxis2.range": [BAR_Y0 - BAR_DY * (p + 0.5), 1.12],
            "annotations[1].text": f"Cox-de Boor recursion, level p = {p}"})
        self.recursion.value = _recursion_html(t, p, j)
        self.info.value = self._info_html(levels[k].sum(1))

    def _put_basis(self, put, B):
        """The order-k basis (the selected one thick), its sum and the knots."""
        s, t = self.state, self.state.knots
        for i in range(self.n_basis_max):
            if i < s.n_basis:
                xs, ys = _support_trace(s.x, B, t, i, s.k)
                put(f"B{i}", x=xs, y=ys, visible=True, line__width=4 if i == s.selected else 2)
            else:
                put(f"B{i}", **_HIDDEN)
        put("sum", x=s.x, y=B.sum(1))
        put("knots", x=t, y=np.zeros_like(t))

    def _put_levels(self, put, levels, j):
        """Level p of the recursion, function ``j`` thick, and its two parents dotted."""
        s, t, p = self.state, self.state.knots, self.state.level
        for i in range(self.n_level_max):
            if i < len(t) - 1 - p:
                xs, ys = _support_trace(s.x, levels[p], t, i, p)
                put(f"L{i}", x=xs, y=ys, visible=True, line__width=5 if i == j else 1.5,
                    hovertemplate=f"B<sub>{i},{p}</sub>: %{{y:.3f}}<extra></extra>")
            else:
                put(f"L{i}", **_HIDDEN)
        for side, jj in (("left", j), ("right", j + 1)):
            if p > 0:
                xs, ys = _support_trace(s.x, levels[p - 1], t, jj, p - 1)
                put(f"parent {side}", x=xs[:-3], y=ys[:-3], visible=True)  # curve only, no bar
            else:
                put(f"parent {side}", **_HIDDEN)

    def _put_curve(self, put, B):
        """The curve, its control polygon, the selected term; samples and grid points."""
        s, t, k, x, i = self.state, self.state.knots, self.state.k, self.state.x, self.state.selected
        g = greville(t, k)
        sl = slice(i * N_PER, (i + k + 1) * N_PER)
        put("contribution", x=x[sl], y=s.coef[i] * B[sl, i], fillcolor=color(i),
            line__color=color(i))
        if s.edge_values is not None:
            put("trained edge", x=s.edge_values[0], y=s.edge_values[1])
        put("curve", x=x, y=B @ s.coef)
        put("control", x=g, y=s.coef)
        put("selected", x=[g[i]], y=[s.coef[i]], marker__color=color(i))
        put("samples", x=s.samples)
        put("grid points", x=s.grid, y=np.zeros(s.G + 1))
        put("extension knots", x=np.concatenate([t[:k], t[len(t) - k:]]), y=np.zeros(2 * k))

    def _info_html(self, total):
        s, x = self.state, self.state.x
        lo, hi = s.grid[0], s.grid[-1]
        inside = (x >= lo) & (x < hi)
        order = ORDER_NAMES[s.k] if s.k < len(ORDER_NAMES) else f"degree {s.k}"
        edge = (f" Edge {tuple(s.edge)} of the model: dots = its trained spline part."
                if s.edge is not None else "")
        return (
            f"<b>order k = {s.k}</b> ({order}), <b>G = {s.G}</b> intervals &rarr; "
            f"<b>G + k = {s.n_basis}</b> basis functions on G + 2k + 1 = {len(s.knots)} knots. "
            f"Shaded: the grid range [{lo:.3g}, {hi:.3g}], where the sum of all B<sub>i</sub> "
            f"is {total[inside].min():.6f}&hellip;{total[inside].max():.6f} (partition of "
            f"unity). Selected: c<sub>{s.selected}</sub> = {s.coef[s.selected]:.3f}.{edge}")


_BUTTON = {"layout": {"width": "110px"}}
