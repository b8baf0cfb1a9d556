"""The Explorer's destructive actions, each with its preview: prune by threshold, refine /
coarsen the grid, auto-symbolic (with a library picker); and Save. (Pruning a node is in the
``NodePanel``: a click on a node shows it first.)

Previews come from ``Session`` (computed on a copy of the model): the threshold shows "N edges
go, loss a → b" and outlines those edges on the network; the grid field shows refine or
coarsen and the loss after the transfer (a huge grid warns, and Refine must be pressed twice);
Auto-symbolic shows the function each edge would get and the loss after, and applies on the
second press.
"""

from __future__ import annotations

import html
import threading

import ipywidgets as widgets
import numpy as np

from ..core.functions import default_library
from ..explore.checks import read_float, read_grid
from ._explorer_common import button, guard
from .fields import CheckedField

__all__ = ["ActionsPanel"]


def _info(css):
    w = widgets.HTML("")
    w.add_class(css)
    return w


class ActionsPanel:
    """Prune / refine / auto-symbolic / save controls of one session.

    Attributes
    ----------
    widget : the panel (CSS class ``kw-actions``)
    threshold : CheckedField of the edge score threshold (CSS ``kw-threshold``); typing a
        number previews the edges that go
    threshold_slider : IntSlider over the live edges sorted by score (``kw-threshold-slider``):
        position k sets a threshold between the k-th and (k+1)-th score, so k edges go
    prune_button, prune_info : Prune weak edges (``kw-prune-weak``), its preview
        (``kw-prune-preview``)
    grid, refine_button, refine_info : grid field (``kw-grid``), Refine grid / Coarsen grid
        (``kw-refine``), the preview (``kw-refine-preview``)
    library, auto_button, auto_info : functions auto-symbolic may use (``kw-library``,
        default all), Auto-symbolic (``kw-auto-symbolic``), the preview (``kw-auto-preview``)
    save_path, save_button : a file path (only a path, never evaluated; ``kw-save-path``) and
        Save (``kw-save``); the path is confined to ``session.save_dir`` (default: the
        working directory): ``..``, other absolute paths and links leading out are refused
    """

    def __init__(self, session):
        self.session = s = session
        self._lock = threading.RLock()
        self._thresholds = np.array([])
        self._armed = None  # what the next press applies after a shown preview
        self.threshold = CheckedField(3e-2, lambda v: read_float(v, "threshold", 0.0),
                                      "threshold", "kw-threshold", 150, 62, fmt=lambda v: f"{v:.4g}")
        self.threshold_slider = widgets.IntSlider(0, min=0, max=1, description="edges go",
                                                  continuous_update=False, readout=True,
                                                  style={"description_width": "62px"},
                                                  layout={"width": "230px"})
        self.threshold_slider.add_class("kw-threshold-slider")
        self.prune_button = button("Prune weak edges", "kw-prune-weak",
                                   "Prune edges (and hidden nodes) scoring below the threshold",
                                   "warning")
        self.prune_info = _info("kw-prune-preview")
        self.grid = CheckedField(s.model.grid, read_grid, "grid", "kw-grid", 108, 30)
        self.grid.text.continuous_update = False  # a preview per committed value, not per key
        self.refine_button = button("Refine grid", "kw-refine",
                                    "Grid extension to the grid size on the left (keeps the curves)")
        self.refine_info = _info("kw-refine-preview")
        lib = default_library()
        self.library = widgets.SelectMultiple(options=lib, value=tuple(lib), rows=5,
                                              description="library",
                                              style={"description_width": "50px"},
                                              layout={"width": "200px"})
        self.library.add_class("kw-library")
        self.auto_button = button("Auto-symbolic", "kw-auto-symbolic",
                                  "Preview, then (press again) fix every spline edge to its "
                                  "best function from the library")
        self.auto_info = _info("kw-auto-preview")
        self.save_path = widgets.Text("explorer-session.kan", description="file",
                                      style={"description_width": "30px"},
                                      layout={"width": "220px"})
        self.save_path.add_class("kw-save-path")
        self.save_button = button("Save", "kw-save", "Save model, history and selection")
        self.threshold.on_change(guard(lambda f: self._on_threshold(), s, "preview"))
        self.threshold_slider.observe(guard(self._on_slider, s, "preview"), "value")
        self.prune_button.on_click(guard(lambda b: self.prune(), s, "prune"))
        self.grid.on_change(guard(lambda f: self.show_refine(), s, "refine preview"))
        self.refine_button.on_click(guard(lambda b: self.refine(), s, "refine"))
        self.library.observe(guard(lambda ch: self._disarm(), s, "library"), "value")
        self.auto_button.on_click(guard(lambda b: self.auto_symbolic(), s, "auto-symbolic"))
        # a typed path stays inside the session's save folder (Voila serves other people)
        self.save_button.on_click(guard(lambda b: s.save(self.save_path.value, confine=True),
                                        s, "save"))

        def row(*children):
            box = widgets.Box(list(children), layout={"flex_flow": "row wrap",
                                                      "align_items": "center"})
            box.add_class("kw-row")
            return box

        self.widget = widgets.VBox([
            row(self.threshold.widget, self.threshold_slider, self.prune_button),
            self.prune_info,
            row(self.grid.widget, self.refine_button, self.refine_info),
            row(self.library, widgets.VBox([self.auto_button, self.auto_info],
                                           layout={"width": "210px"})),
            row(self.save_path, self.save_button),
        ])
        self.widget.add_class("kw-actions")
        s.observe(guard(lambda ch: self.refresh(), s, "actions"), "revision")
        s.observe(guard(self._on_training, s, "actions"), "training")
        self.refresh()

    # ------------------------------------------------------------------ refresh
    def refresh(self):
        """After any change of the model: grid field = the model's grid, fresh previews."""
        s = self.session
        self._armed = None
        with s.lock:
            grid = s.model.grid
            self._thresholds = s.edge_score_thresholds()
        with self.widget.hold_sync():
            n = len(self._thresholds)
            self.threshold_slider.max = max(n, 1)
            if self.grid.value != grid or not self.grid.valid:
                self.grid.value = grid  # the model's grid now (after refine, undo, a cell)
            self.auto_info.value = ""
            self._on_threshold(move_slider=True)
            self.show_refine()
        self._set_buttons()

    def _on_training(self, change):
        self._set_buttons()

    def _set_buttons(self):
        busy = self.session.training
        for b in (self.prune_button, self.refine_button, self.auto_button):
            b.disabled = busy
        if not self.grid.valid:
            self.refine_button.disabled = True
        if not self.threshold.valid:
            self.prune_button.disabled = True

    # ------------------------------------------------------------------ prune by threshold
    def _on_slider(self, change):
        k, t = change["new"], self._thresholds
        if not len(t) or self._updating_slider:
            return
        # a threshold halfway between the k-th and (k+1)-th score: exactly k edges go
        lo = t[k - 1] if k >= 1 else 0.0
        hi = t[k] if k < len(t) else t[-1] * 1.5
        self.threshold.value = float((lo + hi) / 2) if k >= 1 else float(t[0] / 2)

    _updating_slider = False

    def _on_threshold(self, move_slider=True):
        s = self.session
        self._set_buttons()
        if not self.threshold.valid:
            s.clear_preview()
            self.prune_info.value = ""
            return
        if s.samples is None:  # pruning by score needs samples to score the edges on
            s.clear_preview()
            self.prune_info.value = "<i>no samples: build the Explorer with data</i>"
            return
        th = self.threshold.value
        p = s.prune_preview(edge_th=th)
        s.preview = list(p.edges)  # outlined on the network and named on the edge panel
        self.prune_info.value = html.escape(p.text())
        if move_slider and len(self._thresholds):
            self._updating_slider = True
            try:
                self.threshold_slider.value = int(np.searchsorted(self._thresholds, th))
            finally:
                self._updating_slider = False

    def prune(self):
        """Prune weak edges at the threshold shown (the button)."""
        if not self.threshold.valid:
            raise ValueError(self.threshold.reason)
        self.session.prune(edge_th=self.threshold.value)

    # ------------------------------------------------------------------ refine / coarsen
    def show_refine(self):
        s = self.session
        if not self.grid.valid:
            self.refine_info.value = ""
            self._set_buttons()
            return
        g = self.grid.value
        self.refine_button.description = "Coarsen grid" if g < s.model.grid else "Refine grid"
        if g == s.model.grid:
            self.refine_info.value = ""
        else:
            p = s.preview_refine(g)
            color = "#8a5a00" if p.huge else "inherit"
            self.refine_info.value = (f"<span style='color:{color}'>{html.escape(p.text())}"
                                      "</span>")
        self._armed = None
        self._set_buttons()

    def refine(self):
        """Refine / coarsen to the grid field's value; a huge grid needs a second press."""
        if not self.grid.valid:
            raise ValueError(self.grid.reason)
        s, g = self.session, self.grid.value
        p = s.preview_refine(g)
        if p.huge and self._armed != ("refine", g):
            self._armed = ("refine", g)
            self.refine_info.value = (f"<b style='color:#b00020'>{html.escape(p.warning)}"
                                      "</b>")
            return None
        return s.refine(g, confirm=p.huge)

    # ------------------------------------------------------------------ auto-symbolic
    def _disarm(self):
        self._armed = None
        self.auto_info.value = ""

    def auto_symbolic(self):
        """First press: the preview (picks and loss after); second press: apply it."""
        s = self.session
        lib = list(self.library.value)
        if not lib:
            raise ValueError("pick at least one function in the library list")
        key = ("auto", s.revision, tuple(lib))
        if self._armed != key:
            p = s.preview_auto_symbolic(lib=lib)
            self.auto_info.value = (html.escape(p.text())
                                    + "<br><i>press Auto-symbolic again to apply</i>")
            self._armed = key
            return p
        self._armed = None
        return s.auto_symbolic(lib=lib)
