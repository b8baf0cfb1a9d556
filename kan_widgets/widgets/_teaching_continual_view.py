"""``ContinualLearningView``: the ipywidgets/plotly view of a ``ContinualLearningState`` (the
state and numbers live in ``kan_widgets.explore.teaching_continual``)."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go

from ._plotly import sync_state, update_figure
from ._teaching_common import FIG_WIDTH, TeachingView
from .teaching_continual import results_table

__all__ = ["ContinualLearningView"]

KAN_COLOR, MLP_COLOR = "#636EFA", "#EF553B"


def _figure():
    """The FigureWidget and trace name -> index."""
    traces = [
        go.Scatter(name="target", mode="lines", line={"color": "black", "width": 4},
                   opacity=0.3),
        go.Scatter(name="this phase's data", mode="markers",
                   marker={"color": "black", "size": 4}),
        go.Scatter(name="KAN [1, 1]", mode="lines", line={"color": KAN_COLOR, "width": 2}),
        go.Scatter(name="MLP", mode="lines", line={"color": MLP_COLOR, "width": 2,
                                                   "dash": "dash"}),
    ]
    fig = go.FigureWidget(data=traces)
    fig.update_layout(height=380, width=FIG_WIDTH, template="plotly_white",
                      margin={"l": 50, "r": 20, "t": 30, "b": 40}, hovermode="x",
                      legend={"orientation": "h", "y": -0.15},
                      xaxis={"range": [-1, 1], "title": "x"},
                      yaxis={"range": [-0.6, 1.6], "title": "y"})
    return fig, {t.name: n for n, t in enumerate(traces)}


class ContinualLearningView(TeachingView):
    """Next phase / All phases / Reset, the "show after phase" slider, the curves, the table.

    Attributes
    ----------
    widget, figure, trace_index : the root, the FigureWidget, trace name -> index
    controls : ``show`` (the phase drawn)
    next_button, all_button, reset_button, status, table
    """

    css_prefix = "kw-continual"

    def __init__(self, state):
        super().__init__(state)
        self.figure, self.trace_index = _figure()
        self.controls = {"show": W.IntSlider(0, min=0, max=0, description="show after phase",
                                             style={"description_width": "initial"})}
        self._wire({"show": lambda v: state.show(v) if v else None})
        self.message_box = self.status = self._html("status")
        self.table = self._html("table-box")
        self.next_button = self._button("Next phase", "next", state.next_phase,
                                        button_style="primary", icon="step-forward")
        self.all_button = self._button("All phases", "all", state.run, icon="forward")
        self.reset_button = self._button("Reset", "reset", state.reset, icon="undo")
        buttons = W.HBox([self.next_button, self.all_button, self.reset_button,
                          self.controls["show"]])
        self.widget = W.VBox([buttons, self.status, self._figure_box(), self.table])
        self._start()

    def sync_controls(self):
        s = self.state
        self.push(self.controls["show"], max=max(s.phase, 0), value=s.shown)
        self.next_button.disabled = s.phase >= s.n_peaks
        self.all_button.disabled = s.phase >= s.n_peaks

    def redraw(self):
        s, x = self.state, self.state.x
        U = {}

        def put(trace, **props):
            U.setdefault(self.trace_index[trace], {}).update(props)

        put("target", x=x, y=s.target(x))
        shapes = []
        if s.shown:
            lo, hi = s.region(s.shown)
            xs = np.linspace(lo, hi, 40)
            put("this phase's data", x=xs, y=s.target(xs), name=f"phase {s.shown}'s data")
            put("KAN [1, 1]", x=x, y=s.curves_[s.shown]["kan"])
            put("MLP", x=x, y=s.curves_[s.shown]["mlp"])
            # the regions seen up to the shown phase, shaded; the current one darker
            shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": s.region(p)[0],
                       "x1": s.region(p)[1], "y0": 0, "y1": 1, "line": {"width": 0},
                       "fillcolor": "rgba(99,110,250,%s)" % (0.15 if p == s.shown else 0.05)}
                      for p in range(1, s.shown + 1)]
        else:
            for name in ("this phase's data", "KAN [1, 1]", "MLP"):
                put(name, x=[], y=[])
        update_figure(self.figure, U, sync=False)
        self.figure.layout.shapes = shapes  # an array of layout objects: not a relayout path
        sync_state(self.figure)
        self.table.value = results_table(s)
        self.status.value = self._summary()

    def _summary(self) -> str:
        s = self.state
        if not s.shown:
            return (f"{s.n_peaks} phases; each shows the models one region of the line. "
                    "Press Next phase.")
        r = s.results_[s.shown - 1]
        if s.shown == 1:
            return (f"After phase 1: both fit the first peak (RMSE KAN "
                    f"{r['kan_seen_rmse']:.1e}, MLP {r['mlp_seen_rmse']:.1e}).")
        return (f"After phase {s.shown}: on the earlier regions the KAN's RMSE is "
                f"{r['kan_old_rmse']:.1e}, the MLP's {r['mlp_old_rmse']:.1e}: the KAN "
                f"{'kept' if r['kan_old_rmse'] < 0.1 else 'lost'} the earlier peaks, the MLP "
                f"{'kept' if r['mlp_old_rmse'] < 0.1 else 'forgot'} them.")
