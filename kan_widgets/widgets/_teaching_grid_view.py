"""``GridExtensionView``: the ipywidgets/plotly view of a ``GridExtensionState`` (the state and
numbers live in ``kan_widgets.explore.teaching_grid``)."""

from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..explore.teaching_grid import PRESETS
from ._plotly import update_figure
from ._teaching_common import FIG_WIDTH, TeachingView
from .teaching_grid import results_table

__all__ = ["GridExtensionView"]

COARSE, FINE = "#EF553B", "#636EFA"


def _fmt_slope(s: float) -> str:
    return "n/a" if math.isnan(s) else f"{s:.2f}"


def _traces():
    """Every trace of the figure: fits and grids (x, y), errors (x3, y3), RMSE vs G (x2, y2)."""
    def sc(name, axes, **kw):
        return go.Scatter(name=name, x=[], y=[], xaxis=axes[0], yaxis=axes[1], **kw)

    return [
        sc("target", ("x", "y"), mode="lines", line={"color": "black", "width": 4}, opacity=0.35),
        sc("coarse", ("x", "y"), mode="lines", line={"color": COARSE, "width": 2, "dash": "dash"}),
        sc("refined", ("x", "y"), mode="lines", line={"color": FINE, "width": 2}),
        sc("coarse grid", ("x", "y"), mode="markers", showlegend=False,
           marker={"symbol": "line-ns-open", "size": 12, "color": COARSE}),
        sc("refined grid", ("x", "y"), mode="markers", showlegend=False,
           marker={"symbol": "line-ns-open", "size": 8, "color": FINE}),
        sc("coarse error", ("x3", "y3"), mode="lines", line={"color": COARSE}, showlegend=False),
        sc("refined error", ("x3", "y3"), mode="lines", line={"color": FINE}, showlegend=False),
        sc("KAN test RMSE", ("x2", "y2"), mode="lines+markers", line={"color": FINE},
           marker={"size": 9}, hovertemplate="G=%{x}: %{y:.2e}<extra>KAN</extra>"),
        sc("best spline (least squares)", ("x2", "y2"), mode="lines+markers",
           line={"color": "#00CC96", "dash": "dash"}, marker={"symbol": "square", "size": 7},
           hovertemplate="G=%{x}: %{y:.2e}<extra>least squares</extra>"),
        sc("theory", ("x2", "y2"), mode="lines", line={"color": "gray", "dash": "dot", "width": 2}),
        sc("shown G", ("x2", "y2"), mode="markers", showlegend=False, hoverinfo="skip",
           marker={"size": 18, "symbol": "circle-open", "color": FINE, "line": {"width": 3}}),
    ]


def _figure():
    """The FigureWidget and trace name -> index."""
    base = make_subplots(
        rows=2, cols=2, specs=[[{}, {"rowspan": 2}], [{}, None]], column_widths=[0.55, 0.45],
        horizontal_spacing=0.1, vertical_spacing=0.14,
        subplot_titles=("target, coarse fit and refined fit", "test RMSE against G (log-log)",
                        "|error| (log scale)"))
    traces = _traces()
    fig = go.FigureWidget(data=traces, layout=base.layout)
    fig.update_layout(height=560, width=FIG_WIDTH, margin={"l": 50, "r": 20, "t": 40, "b": 40},
                      template="plotly_white", hovermode="closest",
                      legend={"orientation": "h", "y": -0.08})
    fig.layout.xaxis2.type = "log"
    fig.layout.yaxis2.type = "log"
    fig.layout.yaxis3.type = "log"
    fig.layout.xaxis3.matches = "x"
    fig.layout.xaxis2.title = "G (grid intervals)"
    fig.layout.yaxis2.title = "test RMSE"
    return fig, {t.name: n for n, t in enumerate(traces)}


class GridExtensionView(TeachingView):
    """Controls of the experiment, a Run button with progress, the fits and the log-log plot.

    Changing the target, ``k``, the steps or the grids reruns the experiment (as Run does).
    Built on a state that has not run, it runs it first.

    Attributes
    ----------
    widget, figure, trace_index : the root, the FigureWidget, trace name -> index
    controls : ``target``, ``k``, ``steps``, ``grids``, ``show`` (the refined G drawn)
    run_button, progress : Run and its progress bar (one tick per grid)
    status, table : HTML boxes (status line, results table)
    """

    css_prefix = "kw-grid"

    def __init__(self, state):
        super().__init__(state)
        self.figure, self.trace_index = _figure()
        self.controls = self._make_controls()
        self.message_box = self.status = self._html("status")
        self.table = self._html("table-box")
        self.progress = W.IntProgress(0, min=0, max=len(state.grids), layout={"width": "160px"})
        self.progress.add_class("kw-grid-progress")
        self.run_button = self._button("Run", "run", self.rerun, button_style="primary",
                                       icon="play")
        self._wire({
            "target": lambda v: self.rerun(target=v),
            "k": lambda v: self.rerun(k=v),
            "steps": lambda v: self.rerun(steps=v),
            "grids": lambda v: self.rerun(grids=[int(s) for s in v.replace(",", " ").split()]),
            "show": lambda v: state.show(v) if v != "-" else None,
        })
        c = self.controls
        controls = W.HBox([W.VBox([c["target"], c["grids"], c["k"]]),
                           W.VBox([c["steps"], W.HBox([self.run_button, self.progress]),
                                   c["show"]])])
        self.widget = W.VBox([controls, self.status, self._figure_box(), self.table])
        if not state.results_:
            state.run()
        self._start()

    def _make_controls(self):
        s, st = self.state, {"description_width": "initial"}
        target = s.target if isinstance(s.target, str) else "(python function)"
        return {
            "target": W.Combobox(value=target, options=PRESETS, description="target f(x) =",
                                 ensure_option=False, style=st),
            "k": W.IntSlider(s.k, min=1, max=5, description="order k", style=st),
            "steps": W.IntSlider(s.steps, min=1, max=50, description="LBFGS steps per grid",
                                 style=st),
            "grids": W.Text(", ".join(map(str, s.grids)), description="grids G", style=st),
            "show": W.SelectionSlider(options=["-"], description="show refined G", style=st),
        }

    def rerun(self, **changes):
        """``state.set(**changes)``, then ``run_live()``."""
        self.state.set(**changes)
        self.run_live()

    def run_live(self):
        """``state.run()`` with the progress bar and status line following each grid (the
        figure follows ``revision``)."""
        grids = self.state.grids
        self.progress.max, self.progress.value = len(grids), 0
        self.status.value = f"fitting on G = {grids[0]} ..."

        def step(row):
            self.progress.value += 1
            n = self.progress.value
            nxt = f"; refining to G = {grids[n]} ..." if n < len(grids) else ""
            self.status.value = f"G = {row['G']}: test RMSE {row['kan_test_rmse']:.2e}{nxt}"

        self.state.run(callback=step)
        self.refresh()  # the summary replaces the last step's status line

    def sync_controls(self):
        s, c = self.state, self.controls
        if isinstance(s.target, str):
            self.push(c["target"], value=s.target)
        self.push(c["k"], value=s.k)
        self.push(c["steps"], value=s.steps)
        self.push(c["grids"], value=", ".join(map(str, s.grids)))
        opts = list(s.curves_) or ["-"]
        self.push(c["show"], options=opts, value=s.shown_G if s.shown_G in opts else opts[-1])

    # ------------------------------------------------------------------ drawing
    def redraw(self):
        s, x = self.state, self.state.x
        y = s.target_values()
        U = {}  # trace index -> {property: value}, sent as one update

        def put(trace, **props):
            U.setdefault(self.trace_index[trace], {}).update(props)

        put("target", x=x, y=y, name=f"target {s.target}" if isinstance(s.target, str)
            else "target")
        if not s.results_:
            for name in self.trace_index:
                if name != "target":
                    put(name, x=[], y=[])
            update_figure(self.figure, U)
            return
        self._put_fits(put, y)
        self._put_rmse(put)
        update_figure(self.figure, U)
        self.table.value = results_table(s)
        if s.done:
            self.status.value = self._summary()

    def _put_fits(self, put, y):
        """The coarse and the shown refined fit, their grid points and |errors|."""
        s, x = self.state, self.state.x
        ybot = float(np.min(y)) - 0.08 * float(np.ptp(y) or 1.0)
        for tag, G in (("coarse", s.results_[0]["G"]), ("refined", s.shown_G)):
            grid = s.grid_points(G)
            put(tag, x=x, y=s.curves_[G], name=f"{tag} fit, G = {G}")
            put(f"{tag} grid", x=grid, y=np.full(len(grid), ybot))
            put(f"{tag} error", x=x, y=np.maximum(np.abs(s.curves_[G] - y), 1e-17))

    def _put_rmse(self, put):
        """Test RMSE against G: the KAN, the least-squares spline, the theory slope."""
        s, res = self.state, self.state.results_
        Gs = np.array([r["G"] for r in res], dtype=float)
        kan = [r["kan_test_rmse"] for r in res]
        lsq = [r["spline_test_rmse"] for r in res]
        put("KAN test RMSE", x=Gs, y=kan,
            name=f"KAN test RMSE (slope {_fmt_slope(s.slope('kan'))})")
        put("best spline (least squares)", x=Gs, y=lsq,
            name=f"best spline, least squares (slope {_fmt_slope(s.slope('spline'))})")
        # theory line through the least-squares error at the middle grid: only the slope matters
        m = len(res) // 2
        gline = np.geomspace(Gs[0], max(Gs[-1], Gs[0] * 2), 20)
        put("theory", x=gline, y=lsq[m] * (gline / Gs[m]) ** s.theory_slope,
            name=f"theory: G^{s.theory_slope}")
        put("shown G", x=[s.shown_G], y=[kan[[r["G"] for r in res].index(s.shown_G)]])

    def _summary(self):
        s, res = self.state, self.state.results_
        return (f"Test RMSE fell from {res[0]['kan_test_rmse']:.2e} (G = {res[0]['G']}) to "
                f"{res[-1]['kan_test_rmse']:.2e} (G = {res[-1]['G']}). Log-log slope: KAN "
                f"{_fmt_slope(s.slope('kan'))}, best spline {_fmt_slope(s.slope('spline'))}, "
                f"theory {s.theory_slope} (k = {s.k}). "
                f"Total {sum(r['seconds'] for r in res):.1f} s.")
