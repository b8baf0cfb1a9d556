"""The Explorer's Discover panel: run ``kw.discover`` on the Explorer's data in the background,
watch the front grow (test error against complexity), hover a point for its formula, click
it to load that candidate's model into the Explorer (one undoable step)."""

from __future__ import annotations

import html
import math
import threading

import ipywidgets as widgets
import plotly.graph_objects as go

from ..explore.discover import DiscoverState, read_budget
from ._explorer_common import button, guard, set_enabled
from ._plotly import update_figure
from .fields import CheckedField

__all__ = ["DiscoverPanel"]

FLOOR = 1e-16  # an exact candidate (error 0) is drawn here: a log axis has no 0


class DiscoverPanel:
    """Discovery controls and the live front.

    Parameters
    ----------
    state : ``DiscoverState`` (its ``session`` is the Explorer's)

    Attributes
    ----------
    widget : the panel (CSS class ``kw-discover``)
    budget : ``CheckedField`` of the time budget in seconds (CSS ``kw-discover-budget``);
        Discover is disabled while it is invalid
    discover_button, stop_button : Discover and Stop (CSS ``kw-discover-run``,
        ``kw-discover-stop``); Discover is disabled while training runs, Stop while no search
        runs
    progress : FloatProgress of the budget spent (CSS ``kw-discover-progress``)
    status : HTML with what the search does or did (CSS ``kw-discover-status``)
    figure : FigureWidget with one trace, ``front``: one point per candidate on the front,
        complexity on x, test error on a log y axis, the formula on hover; a click loads it
    """

    def __init__(self, state: DiscoverState, default_budget=20.0):
        self.state = st = state
        s = st.session
        self._lock = threading.RLock()
        self._shown: list = []  # FrontPoints drawn, in trace point order
        self.budget = CheckedField(default_budget, read_budget, "budget (s)",
                                   "kw-discover-budget", 160, 80)
        self.discover_button = button("Discover", "kw-discover-run",
                                      "Search for formulas in the background", "primary")
        self.stop_button = button("Stop", "kw-discover-stop",
                                  "End the search; the front found so far is kept", "danger")
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0,
                                              layout={"width": "160px"})
        self.progress.add_class("kw-discover-progress")
        self.status = widgets.HTML("")
        self.status.add_class("kw-discover-status")
        self.discover_button.on_click(guard(lambda b: self.discover(), s, "discover"))
        self.stop_button.on_click(guard(lambda b: st.stop(), s, "stop discover"))
        self.budget.on_change(lambda f: self._set_buttons())
        self.figure = go.FigureWidget(data=[go.Scatter(
            x=[], y=[], mode="lines+markers", name="front", hovertext=[],
            hovertemplate="%{hovertext}<br>complexity %{x} · test error %{y:.3g}<extra></extra>",
            line=dict(shape="hv", color="rgba(53,80,107,0.5)", width=1),
            marker=dict(size=10, color="rgb(31,119,180)"))],
            layout=go.Layout(height=230, margin=dict(l=55, r=10, t=10, b=40),
                             plot_bgcolor="white", showlegend=False, hovermode="closest",
                             xaxis=dict(title=dict(text="complexity"), rangemode="tozero",
                                        gridcolor="rgb(235,235,235)"),
                             # decades only: "2" and "5" between them read as values
                             yaxis=dict(type="log", title=dict(text="test error"),
                                        exponentformat="e", minorloglabels="none",
                                        gridcolor="rgb(235,235,235)")))
        self.figure._config = {**self.figure._config, "displayModeBar": False}
        self.figure.data[0].on_click(self._on_click)
        hint = widgets.HTML("<span class='kw-discover-hint'>hover a point for its formula; "
                            "click it to load its model (Undo goes back)</span>")
        row = widgets.Box([self.budget.widget, self.discover_button, self.stop_button,
                           self.progress])
        row.add_class("kw-row")
        self.widget = widgets.VBox([row, self.status, hint, self.figure])
        self.widget.add_class("kw-discover")
        st.observe(guard(lambda ch: self.redraw(), s, "discover view"), "revision")
        st.observe(guard(lambda ch: self._show_progress(), s, "discover view"), "progress")
        st.observe(guard(lambda ch: self._set_buttons(), s, "discover view"), "running")
        s.observe(guard(lambda ch: self._set_buttons(), s, "discover view"), "training")
        self.redraw()
        self._set_buttons()

    # ------------------------------------------------------------------ commands
    def discover(self, **discover_kw):
        """What Discover does: start the search with the budget field's value in the
        background; returns its thread."""
        if not self.budget.valid:
            raise ValueError(self.budget.reason)
        return self.state.start(time_budget=self.budget.value, background=True, **discover_kw)

    def click_point(self, i):
        """What clicking point ``i`` of the front does (a programmatic twin)."""
        with self._lock:
            shown = list(self._shown)
        if not 0 <= i < len(shown):
            raise IndexError(f"the front shows {len(shown)} point(s); got point {i}")
        return self.state.load_candidate(shown[i].index)

    def _on_click(self, trace, points, selector):
        if not points.point_inds:  # plotly calls every trace's handler; only a hit counts
            return
        try:
            self.click_point(points.point_inds[0])
        except Exception as err:  # shown in the message area, never into the log console
            if not getattr(err, "_kw_reported", False):
                self.state.session.report("load candidate", err)

    # ------------------------------------------------------------------ drawing
    def redraw(self):
        """The front's points and the status line (one message for the figure)."""
        st = self.state
        points = st.points()
        xs = [p.complexity for p in points]
        ys = [max(p.error, FLOOR) if math.isfinite(p.error) else None for p in points]
        texts = [html.escape(p.formula if len(p.formula) <= 120 else p.formula[:117] + "...")
                 for p in points]
        with self._lock, self.widget.hold_sync():
            self._shown = points
            update_figure(self.figure, [(0, {"x": xs, "y": ys, "hovertext": texts})])
            self.status.value = html.escape(st.status)
            self._show_progress()
            self._set_buttons()

    def _show_progress(self):
        self.progress.value = float(self.state.progress)

    def _set_buttons(self):
        st, s = self.state, self.state.session
        running = st.running
        why = ("training is running (Stop it first)" if s.training else
               "Discover is running" if running else
               "the budget is invalid (see its reason)" if not self.budget.valid else "")
        set_enabled(self.discover_button, not why, why)
        set_enabled(self.stop_button, running, "no search is running")
