"""The selected edge, large: its function with the samples it sees, ranked symbolic
candidates with the loss each would give, and Fix / Prune / Restore."""

from __future__ import annotations

import html
import threading
import time

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from ..core.functions import function_names
from ..explore.scene import candidate_curve
from ..explore.task import loss_name
from ._explorer_common import button, fmt, guard, nowrap, set_enabled, short
from ._plotly import sync_state, update_figure

__all__ = ["EdgePanel"]

PICK = "(pick a function)"
PLACEHOLDER = "Click an edge of the network to see its function here"
TITLE_EMPTY = "<b>Click an edge</b> of the network to inspect it."
WHY_TRAINING = "training is running (Stop it first)"
_fmt = fmt


def nowrap_html(markup: str) -> str:
    """Already escaped ``markup`` kept on one line."""
    return f"<span class='kw-nowrap'>{markup}</span>"
# the figure with nothing selected: no axes, a line saying what to do
_EMPTY_LAYOUT = {"xaxis.visible": False, "yaxis.visible": False, "showlegend": False}
_FULL_LAYOUT = {"xaxis.visible": True, "yaxis.visible": True, "showlegend": True}
_NOTE = dict(text=PLACEHOLDER, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
             font=dict(size=13, color="rgb(110,110,110)"))


class EdgePanel:
    """Everything about ``session.selected``; refilled when the selection or model changes.

    Attributes
    ----------
    widget : the panel (CSS class ``kw-edge-panel``)
    title : HTML naming the edge (CSS class ``kw-edge-title``)
    figure : FigureWidget: samples, the edge's function, the chosen candidate
    suggestions : Select of the ranked candidates (CSS class ``kw-suggestions``); its value is
        the function name
    manual : Dropdown of every library function, for a pick outside the suggestions
    fix_button, prune_button, restore_button : Fix, Prune, Restore (disabled while training,
        and where they do not apply; the tooltip then says why)
    pick_info : HTML with the chosen function's r² and the RMSE the model would have with it
    prune_note : HTML (CSS ``kw-prune-note``), set while the selected edge is among those the
        threshold's Prune weak edges would remove
    choice : the function name Fix will use (the last one picked in either list)
    fill_count : how many times the panel was filled (tests, benchmarks)
    last_fill_s, last_preview_s : seconds the last fill took until the edge and its
        suggestions were shown, and until the loss previews were too
    """

    def __init__(self, session, topk=5, width_px=None):
        self.session = session
        self.topk = topk
        self.choice = None
        self.fill_count = 0
        self.last_fill_s = self.last_preview_s = float("nan")
        self._lock = threading.RLock()
        self._fits = []
        self._updating = False  # our own writes to the lists must not count as picks
        self._mode = None  # mode of the edge shown ("spline", "symbolic", "pruned") or None
        # what the previews measure: the RMSE (a classifier: the cross-entropy), on the test
        # split when the data has one
        test = "test " if getattr(session, "X_test", None) is not None else ""
        self._rmse = test + loss_name(getattr(session, "task", "regression"))
        self._current = None  # the function a symbolic edge is fixed to now
        self.title = widgets.HTML(TITLE_EMPTY)
        self.title.add_class("kw-edge-title")
        hist = dict(color="rgba(100,120,160,0.25)")
        self.figure = go.FigureWidget(data=[
            go.Bar(x=[], y=[], yaxis="y2", name="inputs", marker=hist, hoverinfo="skip"),
            go.Scatter(x=[], y=[], mode="markers", name="samples",
                       marker=dict(size=4, color="rgba(31,41,55,0.25)"), hoverinfo="skip"),
            go.Scatter(x=[], y=[], mode="lines", name="edge", line=dict(color="rgb(31,41,55)",
                                                                        width=2.5)),
            go.Scatter(x=[], y=[], mode="lines", name="candidate",
                       line=dict(color="rgb(200,30,90)", width=2, dash="dash")),
        ], layout=go.Layout(
            **(dict(autosize=True) if width_px is None else dict(width=width_px)),
            height=220, margin=dict(l=46, r=8, t=8, b=36), showlegend=True,
            legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0), bargap=0,
            yaxis2=dict(overlaying="y", side="right", visible=False, fixedrange=True),
            xaxis=dict(title=dict(text="input")), yaxis=dict(title=dict(text="φ(x)")),
            plot_bgcolor="white"))
        self.figure._config = {**self.figure._config, "displayModeBar": False}
        update_figure(self.figure, [], _EMPTY_LAYOUT)
        self._placeholder(True)
        self.header = widgets.HTML(f"<pre class='kw-mono'>{self._header()}</pre>")
        self.header.add_class("kw-suggestions-header")
        self.suggestions = widgets.Select(options=[], rows=self.topk, layout={"width": "100%"})
        self.suggestions.add_class("kw-suggestions")
        self.manual = widgets.Dropdown(options=[PICK, *function_names()], value=PICK,
                                       description="or any:",
                                       style={"description_width": "46px"})
        self.manual.add_class("kw-manual")
        self.pick_info = widgets.HTML("")
        self.prune_note = widgets.HTML("")
        self.prune_note.add_class("kw-prune-note")
        self.pick_info.add_class("kw-pick-info")
        self.fix_button = button("Fix", "kw-fix", "Fix the edge to the chosen function",
                                 "success")
        self.prune_button = button("Prune", "kw-prune", "Mask this edge", "warning")
        self.restore_button = button("Restore", "kw-restore",
                                     "Back to the spline / unpruned")
        self.fix_button.on_click(guard(lambda b: self.fix(), session, "fix"))
        self.prune_button.on_click(guard(lambda b: session.prune_edge(), session, "prune"))
        self.restore_button.on_click(guard(lambda b: session.restore(), session, "restore"))
        self.suggestions.observe(guard(self._on_suggestion, session, "pick"), "value")
        self.manual.observe(guard(self._on_manual, session, "pick"), "value")
        actions = widgets.Box([self.manual, self.fix_button, self.prune_button,
                               self.restore_button])
        actions.add_class("kw-row")
        self.widget = widgets.VBox([self.title, self.prune_note, self.figure, self.header, self.suggestions,
                                    self.pick_info, actions])
        self.widget.add_class("kw-edge-panel")
        session.observe(guard(lambda ch: self.refresh(), session, "edge panel"),
                        ["selected", "revision"])
        session.observe(guard(lambda ch: self._update_buttons(), session, "edge panel"),
                        "training")
        session.observe(guard(lambda ch: self.show_prune_note(), session, "edge panel"),
                        ["selected", "preview"])
        self.refresh()

    def _header(self):
        return f"{'function':<12} {'r²':>8}  {'cx':>3}  {self._rmse} if fixed"

    # ------------------------------------------------------------------ actions
    def pick(self, name):
        """Choose the function Fix will use and draw it over the edge (the lists' twin)."""
        if name is None or name == PICK:
            return
        e = self.session.selected
        if e is None:
            raise ValueError("select an edge first")
        fit, loss = self._candidate(e, name)
        with self._lock, self.widget.hold_sync():
            x = np.array(self.figure.data[2].x, dtype=float)
            shown = None if name == self._current else fit  # the edge's own curve is it
            update_figure(self.figure, [(self.figure.data[3], self._cand_props(shown, x))])
            self._show_choice(name, fit, loss)

    def _candidate(self, e, name):
        fit = next((f for f in self._fits if f.name == name), None)
        if fit is None:
            fit = self.session.candidate(e, name)
        return fit, self.session.previews(e, [fit])[0]

    @staticmethod
    def _cand_props(fit, x):
        if fit is None:
            return {"x": [], "y": [], "name": "candidate"}
        return {"x": x, "y": candidate_curve(fit, x), "name": f"{fit.name} (r² {fit.r2:.4f})"}

    def _show_choice(self, name, fit, loss):
        self.choice = name
        self._updating = True
        try:
            self.suggestions.value = name if name in [f.name for f in self._fits] else None
            self.manual.value = name if name in self.manual.options else PICK
        finally:
            self._updating = False
        loss = "…" if loss is None else _fmt(loss)  # None: the preview is on its way
        # each part is unbreakable: the line wraps between parts, never inside a number
        r2 = _fmt(fit.r2, ".4f") if fit is not None else ""
        if fit is not None and name == self._current:
            # the edge is this function already: the number is the model's loss now
            self.pick_info.value = (f"{nowrap(name + ':')} the edge is {html.escape(name)} "
                                    f"now · {nowrap(f'{self._rmse} now {loss}')}")
        else:
            self.pick_info.value = ("" if fit is None else
                                    f"{nowrap(name + ':')} {nowrap('r² ' + r2)} · "
                                    f"{nowrap(f'{self._rmse} if fixed → {loss}')}")
        self._update_buttons()

    def fix(self, name=None):
        """Fix the selected edge to ``name`` (default: the current choice)."""
        name = name or self.choice
        if name is None:
            raise ValueError("pick a function first (a suggestion or one from the list)")
        self.session.fix_symbolic(None, name)

    # ------------------------------------------------------------------ filling
    def _on_suggestion(self, change):
        if not self._updating and change["new"] is not None:
            self.pick(change["new"])

    def _on_manual(self, change):
        if not self._updating and change["new"] != PICK:
            self.pick(change["new"])

    def refresh(self):
        """Fill the panel for the selected edge (results come from the session cache).

        In two steps, so a click shows the edge at once: first the curve, samples and ranked
        suggestions; then the loss each candidate would give (a forward pass per candidate).
        """
        s = self.session
        e = s.selected
        if e is None:
            self._clear()
            return
        t0 = time.perf_counter()
        with s.lock:
            det = s.edge_detail(e)
            fits = list(s.suggestions(e, self.topk)) if det.mode != "pruned" else []
            current = s.current_function(e)
        what = {"spline": "spline", "pruned": "pruned",
                "symbolic": f"symbolic: {det.function} (r² {_fmt(det.r2, '.4f')})"}[det.mode]
        src, dst = (html.escape(short(n)) for n in (det.src_name, det.dst_name))
        title = (f"<b>edge {e}</b> &nbsp; {nowrap_html(f'{src} → {dst}')} &nbsp;·&nbsp; {what}"
                 f" &nbsp;·&nbsp; {nowrap('score ' + _fmt(det.score))}")
        counts, edges_ = (np.histogram(det.sample_x, bins=30) if len(det.sample_x)
                          else (np.array([]), np.array([0.0])))
        # the best candidate is drawn at once; Fix uses it unless another one is picked (on a
        # symbolic edge the first other than its own function)
        best = next((f for f in fits if f.name != current), fits[0] if fits else None)
        with self._lock, self.widget.hold_sync():
            self._fits = fits
            self._current = current
            self.title.value = title
            bar, samples, curve, cand = self.figure.data
            # one Plotly.update for the whole figure: same property names on every trace
            update_figure(self.figure, [
                (bar, {"x": (edges_[:-1] + edges_[1:]) / 2, "y": counts, "name": "inputs"}),
                (samples, {"x": det.sample_x, "y": det.sample_y, "name": "samples"}),
                (curve, {"x": det.curve_x, "y": det.curve_y, "name": det.function or det.mode}),
                (cand, self._cand_props(None if best is None or best.name == current else best,
                                        det.curve_x)),
            ], {"yaxis2.range": [0, 4 * max(counts.max(initial=1), 1)],
                "xaxis.title.text": short(det.src_name, 40), **_FULL_LAYOUT})
            self._placeholder(False)
            self._set_options(fits, [None] * len(fits))
            self._show_choice(best.name if best else None, best, None)
            self._mode = det.mode
            self._update_buttons()
            self.fill_count += 1
        self.last_fill_s = time.perf_counter() - t0
        if not fits:
            self.last_preview_s = self.last_fill_s
            return
        with s.lock:
            if s.selected != e:
                return  # another click came in meanwhile: it fills the panel
            losses = s.previews(e, fits)
        with self._lock, self.widget.hold_sync():
            if self._fits is not fits:
                return
            choice = self.choice
            self._set_options(fits, losses)
            chosen = next((f for f in fits if f.name == choice), None)
            if chosen is not None:
                self._show_choice(choice, chosen, losses[fits.index(chosen)])
        self.last_preview_s = time.perf_counter() - t0

    def show_prune_note(self):
        """Say so when the selected edge is among those the threshold would prune."""
        s = self.session
        e, going = s.selected, s.preview
        if e is None or e not in going:
            self.prune_note.value = ""
            return
        self.prune_note.value = (f"<span style='color:#b00020'>✂ goes with Prune weak edges "
                                 f"at the threshold ({len(going)} edge"
                                 f"{'s' * (len(going) != 1)} go)</span>")

    def _set_options(self, fits, losses):
        self._updating = True
        try:
            self.suggestions.options = [
                (f"{f.name:<12} {_fmt(f.r2, '.5f'):>8}  {f.complexity:>3}  "
                 f"{'…' if loss is None else _fmt(loss)}"
                 f"{' (now)' if f.name == self._current else ''}", f.name)
                for f, loss in zip(fits, losses)]
        finally:
            self._updating = False

    def _placeholder(self, show):
        """The note saying what to do, in place of the empty plot (one relayout, if any)."""
        lay = self.figure.layout
        if bool(lay.annotations) == show:
            return
        with self.figure.batch_update():
            lay.annotations = [_NOTE] if show else []
        sync_state(self.figure)

    def _update_buttons(self):
        """Enable Fix / Prune / Restore where they apply; a disabled one says why."""
        mode, training = self._mode, self.session.training
        same = mode == "symbolic" and self.choice is not None and self.choice == self._current
        with self._lock, self.widget.hold_sync():
            for b, ok, why in [
                (self.fix_button, mode in ("spline", "symbolic") and not same,
                 f"the edge is {self.choice} already: pick another function"
                 if same else "the edge is pruned: Restore it first"),
                (self.prune_button, mode in ("spline", "symbolic"), "the edge is already pruned"),
                (self.restore_button, mode in ("symbolic", "pruned"),
                 "the edge is a spline already"),
            ]:
                if mode is None:
                    set_enabled(b, False, "click an edge of the network first")
                elif training:
                    set_enabled(b, False, WHY_TRAINING)
                else:
                    set_enabled(b, ok, why)

    def _clear(self):
        with self._lock, self.widget.hold_sync():
            self.title.value = TITLE_EMPTY
            update_figure(self.figure, [(tr, {"x": [], "y": []}) for tr in self.figure.data],
                          _EMPTY_LAYOUT)
            self._placeholder(True)
            self._updating = True
            try:
                self.suggestions.options = []
                self.manual.value = PICK
            finally:
                self._updating = False
            self._fits, self.choice = [], None
            self.pick_info.value = ""
            self._mode = self._current = None
            self._update_buttons()
