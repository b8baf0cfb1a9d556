"""Training controls and the live loss curve; grid refinement, pruning by threshold (with a
preview of the edges that would go) and auto-symbolic."""

from __future__ import annotations

import math
import threading
import time

import ipywidgets as widgets
import plotly.graph_objects as go

from ._explorer_common import button, guard
from ._plotly import update_figure

__all__ = ["TrainPanel"]


class TrainPanel:
    """Train the session's model without freezing the notebook.

    Train starts ``session.train(background=True)``: the fit runs in a thread holding the
    session lock, the loss curve and the network are redrawn at a bounded rate from the fit's
    callback, and Stop sets the flag that callback reads.

    Attributes
    ----------
    widget : the panel (CSS class ``kw-train-panel``)
    steps, opt, lr, lamb, lamb_entropy, grid : the inputs
    train_button, stop_button, refine_button, auto_button, prune_button : Train, Stop,
        Refine grid, Auto-symbolic, Prune weak edges
    threshold : edge score threshold of Prune weak edges; moving it previews the edges
    loss_figure : FigureWidget of train and test RMSE per step (log scale)
    status : HTML with the last step's numbers (CSS class ``kw-train-status``)
    """

    def __init__(self, session, width_px=400):
        self.session = session
        self._lock = threading.RLock()
        self._t0 = None
        s = session
        model = s.model
        small = {"width": "190px"}
        style = {"description_width": "90px"}
        self.steps = widgets.BoundedIntText(20, min=1, max=100000, description="steps",
                                            layout=small, style=style)
        self.opt = widgets.Dropdown(options=["LBFGS", "Adam"], value="LBFGS",
                                    description="optimizer", layout=small, style=style)
        self.lr = widgets.FloatText(1.0, description="lr", layout=small, style=style)
        self.lamb = widgets.FloatText(0.0, description="lamb", layout=small, style=style)
        self.lamb_entropy = widgets.FloatText(2.0, description="lamb_entropy", layout=small,
                                              style=style)
        self.grid = widgets.BoundedIntText(model.grid, min=1, max=1000, description="grid",
                                           layout=small, style=style)
        self.opt.observe(self._on_opt, "value")
        self.train_button = button("Train", "kw-train", "Train in the background", "primary")
        self.stop_button = button("Stop", "kw-stop", "Stop after the current step", "danger")
        self.stop_button.disabled = True
        self.refine_button = button("Refine grid", "kw-refine",
                                    "Grid extension to the grid size above (keeps the curves)")
        self.auto_button = button("Auto-symbolic", "kw-auto-symbolic",
                                  "Fix every spline edge to its best function")
        self.threshold = widgets.FloatLogSlider(3e-2, base=10, min=-4, max=0, step=0.05,
                                                description="threshold", readout_format=".2e",
                                                continuous_update=False, style=style,
                                                layout={"width": "260px"})
        self.prune_button = button("Prune weak edges", "kw-prune-weak",
                                   "Prune edges (and hidden nodes) scoring below the threshold",
                                   "warning")
        self.train_button.on_click(guard(lambda b: self.train(), s, "train"))
        self.stop_button.on_click(guard(lambda b: s.stop(), s, "stop"))
        self.refine_button.on_click(guard(lambda b: s.refine(self.grid.value), s, "refine"))
        self.auto_button.on_click(guard(lambda b: s.auto_symbolic(), s, "auto-symbolic"))
        self.prune_button.on_click(guard(lambda b: s.prune(edge_th=self.threshold.value), s,
                                         "prune"))
        self.threshold.observe(guard(lambda ch: s.preview_prune(edge_th=ch["new"]), s, "preview"),
                               "value")
        self.loss_figure = go.FigureWidget(data=[
            go.Scatter(x=[], y=[], mode="lines", name="train"),
            go.Scatter(x=[], y=[], mode="lines", name="test"),
        ], layout=go.Layout(width=width_px, height=220, margin=dict(l=50, r=10, t=10, b=35),
                            yaxis=dict(type="log", title=dict(text="RMSE"), exponentformat="e"),
                            xaxis=dict(title=dict(text="step")), plot_bgcolor="white",
                            legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0)))
        self.loss_figure.layout.yaxis.gridcolor = "rgb(230,230,230)"
        self.status = widgets.HTML("")
        self.status.add_class("kw-train-status")
        grid2 = widgets.GridBox([self.steps, self.opt, self.lr, self.lamb, self.lamb_entropy,
                                 self.grid], layout={"grid_template_columns": "repeat(2, 195px)"})
        self.widget = widgets.VBox([
            widgets.HTML("<div class='kw-panel-title'>Train</div>"), grid2,
            widgets.HBox([self.train_button, self.stop_button, self.refine_button,
                          self.auto_button]),
            widgets.HBox([self.threshold, self.prune_button]),
            self.loss_figure, self.status,
        ])
        self.widget.add_class("kw-train-panel")
        s.observe(guard(lambda ch: self.redraw(), s, "loss curve"), ["revision", "live"])
        s.observe(guard(self._on_training, s, "train panel"), "training")
        self.redraw()

    def train(self, steps=None, wait=False):
        """What Train does: fit with the panel's settings in the background (``wait`` joins)."""
        self._t0 = time.monotonic()
        t = self.session.train(steps=steps or self.steps.value, opt=self.opt.value,
                               lr=self.lr.value, lamb=self.lamb.value,
                               lamb_entropy=self.lamb_entropy.value, background=True)
        if wait:
            t.join()
        return t

    def _on_opt(self, change):
        # LBFGS wants lr ~ 1, Adam ~ 1e-2: switch the default along unless the user set one
        if change["new"] == "Adam" and self.lr.value == 1.0:
            self.lr.value = 0.01
        elif change["new"] == "LBFGS" and self.lr.value == 0.01:
            self.lr.value = 1.0

    def _on_training(self, change):
        running = change["new"]
        with self.widget.hold_sync():
            self.stop_button.disabled = not running
            for b in (self.train_button, self.refine_button, self.auto_button, self.prune_button):
                b.disabled = running

    def redraw(self):
        """Loss curves from ``model.history_`` (appended by fit while it runs) and the status."""
        s = self.session
        with s.lock:
            h = s.model.history_
            steps, train, test = list(h["step"]), list(h["train_rmse"]), list(h["test_rmse"])
            log = s.train_log[-1] if s.train_log else None
            n_done, training = len(s.train_log), s.training
        with self._lock, self.widget.hold_sync():
            tr, te = self.loss_figure.data
            has_test = any(not math.isnan(v) for v in test)
            update_figure(self.loss_figure, [(tr, {"x": steps, "y": train}),
                                             (te, {"x": steps, "y": test, "visible": has_test})])
            if log is None:
                self.status.value = f"{len(steps)} steps so far"
                return
            rate = ""
            if training and self._t0 is not None and n_done:
                rate = f" · {n_done / max(time.monotonic() - self._t0, 1e-9):.1f} steps/s"
            state = "training" if training else "done"
            self.status.value = (f"{state}: step {log['step']} · train {log['train_rmse']:.3e}"
                                 f" · test {log['test_rmse']:.3e}{rate}")
