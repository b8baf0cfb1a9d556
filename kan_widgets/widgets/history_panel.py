"""The list of actions with the loss after each, and Undo / Redo."""

from __future__ import annotations

import html
import math
import threading

import ipywidgets as widgets

from ._explorer_common import button, guard

__all__ = ["HistoryPanel"]


class HistoryPanel:
    """Steps of ``session.undo_history`` (undone ones struck through) and Undo / Redo.

    Attributes
    ----------
    widget : the panel (CSS class ``kw-history``)
    list : HTML table of steps
    undo_button, redo_button : Undo, Redo
    """

    def __init__(self, session, max_rows=12):
        self.session = session
        self.max_rows = max_rows
        self._lock = threading.RLock()
        self.list = widgets.HTML("")
        self.list.add_class("kw-history-list")
        self.undo_button = button("Undo", "kw-undo", "Undo the last action")
        self.redo_button = button("Redo", "kw-redo", "Redo the last undone action")
        self.undo_button.on_click(guard(lambda b: session.undo(), session, "undo"))
        self.redo_button.on_click(guard(lambda b: session.redo(), session, "redo"))
        self.widget = widgets.VBox([
            widgets.HTML("<div class='kw-panel-title'>History</div>"), self.list,
            widgets.HBox([self.undo_button, self.redo_button]),
        ])
        self.widget.add_class("kw-history")
        session.observe(guard(lambda ch: self.refresh(), session, "history"),
                        ["revision", "training"])
        self.refresh()

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
        table = ("<table class='kw-mono'><tr><th style='text-align:left'>step</th>"
                 "<th style='text-align:right'>loss</th></tr>" + "".join(rows) + "</table>")
        with self._lock, self.widget.hold_sync():
            self.list.value = table
            self.undo_button.disabled = busy or not can_undo
            self.redo_button.disabled = busy or not can_redo
