"""The list of actions with the loss after each, and Undo / Redo."""

from __future__ import annotations

import html
import math
import threading

import ipywidgets as widgets

from ._explorer_common import button, guard, set_enabled

__all__ = ["HistoryPanel"]


class HistoryPanel:
    """Undo / Redo, and the steps of ``session.undo_history`` (undone ones struck through) in
    a list that opens below the History button.

    Attributes
    ----------
    widget : the panel (CSS class ``kw-history``): a toolbar-sized row
    list : HTML table of steps (CSS class ``kw-history-list``), inside ``popup``
    popup : the box that shows ``list`` (CSS class ``kw-history-popup``), hidden until the
        History button opens it
    undo_button, redo_button, list_button : Undo, Redo, History (toggles ``popup``); Undo and
        Redo name the step they act on in their tooltip
    """

    def __init__(self, session, max_rows=12):
        self.session = session
        self.max_rows = max_rows
        self._lock = threading.RLock()
        self.list = widgets.HTML("")
        self.list.add_class("kw-history-list")
        self.undo_button = button("Undo", "kw-undo", "Undo the last action")
        self.redo_button = button("Redo", "kw-redo", "Redo the last undone action")
        self.list_button = button("History ▾", "kw-history-button",
                                  "Show the list of actions and the RMSE after each")
        self.undo_button.on_click(guard(lambda b: session.undo(), session, "undo"))
        self.redo_button.on_click(guard(lambda b: session.redo(), session, "redo"))
        self.list_button.on_click(guard(lambda b: self.toggle_list(), session, "history"))
        self.popup = widgets.VBox([self.list], layout={"display": "none"})
        self.popup.add_class("kw-history-popup")
        self.widget = widgets.Box([self.undo_button, self.redo_button, self.list_button,
                                   self.popup])
        self.widget.add_class("kw-history")
        session.observe(guard(lambda ch: self.refresh(), session, "history"),
                        ["revision", "training"])
        self.refresh()

    @property
    def list_open(self) -> bool:
        return self.popup.layout.display != "none"

    def toggle_list(self, show=None):
        """Open (``show=True``), close or toggle the list of steps."""
        show = not self.list_open if show is None else bool(show)
        with self._lock, self.widget.hold_sync():
            self.popup.layout.display = None if show else "none"
            self.list_button.description = "History ▴" if show else "History ▾"
        return self

    def refresh(self):
        s = self.session
        with s.lock:
            steps = s.undo_history.steps()
            can_undo, can_redo, busy = s.undo_history.can_undo, s.undo_history.can_redo, s.training
        rows = []
        shown = steps if len(steps) <= self.max_rows else steps[:1] + steps[-(self.max_rows - 1):]
        for n, (step, applied) in enumerate(shown):
            loss = "—" if math.isnan(step.loss) else f"{step.loss:.3e}"
            cls = "" if applied else " class='kw-history-undone'"
            rows.append(f"<tr{cls}><td>{html.escape(step.label)}</td>"
                        f"<td style='text-align:right;padding-left:1em'>{loss}</td></tr>")
            if n == 0 and len(shown) < len(steps):
                rows.append("<tr><td>…</td><td></td></tr>")
        rmse = "test RMSE" if getattr(s, "X_test", None) is not None else "RMSE"
        table = ("<table class='kw-mono'><tr><th style='text-align:left'>step</th>"
                 f"<th style='text-align:right'>{rmse}</th></tr>" + "".join(rows) + "</table>")
        done = [step for step, applied in steps if applied and step.kind != "start"]
        undone = [step for step, applied in steps if not applied]
        with self._lock, self.widget.hold_sync():
            self.list.value = table
            for b, able, what, none in [
                    (self.undo_button, can_undo, done[-1].label if done else "", "nothing to undo"),
                    (self.redo_button, can_redo, undone[0].label if undone else "",
                     "nothing to redo")]:
                b._kw_tooltip = f"{b.description}: {what}" if what else b.description
                set_enabled(b, not busy and able,
                            "training is running (Stop it first)" if busy else none)
