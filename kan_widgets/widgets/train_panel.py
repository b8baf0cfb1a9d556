"""Training controls (Train / Stop, Play / Step / Reset, a Sparsify preset, a step counter) and
the live loss curve; the destructive actions with their previews are the ``ActionsPanel``
inside it."""

from __future__ import annotations

import math
import threading
import time

import ipywidgets as widgets
import plotly.graph_objects as go

from ..explore.checks import TRAIN_FIELDS, read_int
from ..explore.task import CLASSIFICATION, loss_name
from ._explorer_common import button, guard, set_enabled
from ._plotly import update_figure
from .actions_panel import ActionsPanel
from .fields import CheckedField
from .shape_panel import ShapePanel

__all__ = ["TrainPanel"]


class TrainPanel:
    """Train the session's model without freezing the notebook.

    Train starts ``session.train(background=True)``: the fit runs in a thread holding the
    session lock, the loss curve and the network are redrawn at a bounded rate from the fit's
    callback, and Stop sets the flag that callback reads.

    Attributes
    ----------
    widget : the panel (CSS class ``kw-train-panel``)
    steps, lr, lamb, lamb_entropy, seed : ``CheckedField`` inputs (typed text, refused in
        place with a red reason; Train, Play and Step are disabled while one is invalid)
    opt : the optimizer; preset : "fit" (lamb 0) or "sparsify" (lamb 1e-2, so that weak
        edges fade and Prune weak edges has something to prune; CSS ``kw-preset``)
    train_button, stop_button : Train, Stop
    play_button, step_button, reset_button : Play (train until Stop), Step (one step), Reset
        (re-initialise with the seed; undoable) — CSS ``kw-play``, ``kw-step``, ``kw-reset``
    counter : HTML "step N", the model's training steps (CSS ``kw-step-counter``)
    actions : the ``ActionsPanel`` (threshold, Prune weak edges, grid, Refine / Coarsen,
        library, Auto-symbolic, Save); its controls are also attributes here (``grid``,
        ``threshold``, ``refine_button``, ``auto_button``, ``prune_button``)
    shape : the ``ShapePanel`` (+ node, − node, + layer; CSS ``kw-shape``)
    loss_figure : FigureWidget of train and test RMSE per step (log scale, decades labelled);
        for a classifier the cross-entropy, and the accuracy is in ``status``
    status : HTML with the model's last training numbers (CSS class ``kw-train-status``)
    """

    PLAY_STEPS = 100_000  # Play trains until Stop (or this many steps)
    PRESETS = {"fit": 0.0, "sparsify": 1e-2}

    def __init__(self, session, width_px=None):
        self.session = session
        self._lock = threading.RLock()
        self._t0 = None
        s = session
        small = {"width": "190px"}
        style = {"description_width": "90px"}
        self.steps = CheckedField(20, TRAIN_FIELDS["steps"], "steps", "kw-steps", 190, 90)
        self.opt = widgets.Dropdown(options=["LBFGS", "Adam"], value="LBFGS",
                                    description="optimizer", layout=small, style=style)
        self.lr = CheckedField(1.0, TRAIN_FIELDS["lr"], "lr", "kw-lr", 190, 90)
        self.lamb = CheckedField(0.0, TRAIN_FIELDS["lamb"], "lamb", "kw-lamb", 190, 90)
        self.lamb_entropy = CheckedField(2.0, TRAIN_FIELDS["lamb_entropy"], "lamb_entropy",
                                         "kw-lamb-entropy", 190, 90)
        self.seed = CheckedField(s.model.seed, lambda v: read_int(v, "seed", 0, 2**31 - 1),
                                 "seed", "kw-seed", 190, 90)
        self.preset = widgets.Dropdown(options=[("fit (lamb 0)", "fit"),
                                                ("Sparsify (lamb 1e-2)", "sparsify")],
                                       value="fit", description="preset", layout=small,
                                       style=style)
        self.preset.add_class("kw-preset")
        self.preset.observe(lambda ch: setattr(self.lamb, "value", self.PRESETS[ch["new"]]),
                            "value")
        self.opt.observe(self._on_opt, "value")
        self.actions = a = ActionsPanel(s)
        self.shape = ShapePanel(s)
        self.grid, self.threshold = a.grid, a.threshold
        self.refine_button, self.auto_button, self.prune_button = (
            a.refine_button, a.auto_button, a.prune_button)
        self.train_button = button("Train", "kw-train", "Train in the background", "primary")
        self.stop_button = button("Stop", "kw-stop", "Stop after the current step", "danger")
        self.stop_button.disabled = True
        self.play_button = button("Play", "kw-play", "Train until Stop")
        self.step_button = button("Step", "kw-step", "One training step")
        self.reset_button = button("Reset", "kw-reset",
                                   "Re-initialise the parameters with the seed (undoable)")
        self.counter = widgets.HTML("")
        self.counter.add_class("kw-step-counter")
        self.train_button.on_click(guard(lambda b: self.train(), s, "train"))
        self.stop_button.on_click(guard(lambda b: s.stop(), s, "stop"))
        self.play_button.on_click(guard(lambda b: self.train(steps=self.PLAY_STEPS), s, "play"))
        self.step_button.on_click(guard(lambda b: self.step(), s, "step"))
        self.reset_button.on_click(guard(lambda b: self.reset(), s, "reset"))
        for f in (self.steps, self.lr, self.lamb, self.lamb_entropy, self.seed):
            f.on_change(lambda f: self._set_buttons())
        self.loss_figure = go.FigureWidget(data=[
            go.Scatter(x=[], y=[], mode="lines", name="train"),
            go.Scatter(x=[], y=[], mode="lines", name="test"),
        ], layout=go.Layout(
            **(dict(autosize=True) if width_px is None else dict(width=width_px)),
            height=200, margin=dict(l=50, r=10, t=10, b=35),
            # decades only: no "2" and "5" between them (they read as values)
            yaxis=dict(type="log", title=dict(text=loss_name(s.task)), exponentformat="e",
                       minorloglabels="none", gridcolor="rgb(230,230,230)"),
            xaxis=dict(title=dict(text="step")), plot_bgcolor="white",
            legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0)))
        self.loss_figure._config = {**self.loss_figure._config, "displayModeBar": False}
        self.status = widgets.HTML("")
        self.status.add_class("kw-train-status")
        title = widgets.HTML("<div class='kw-panel-title'>Train</div>")
        fields = widgets.Box([self.steps.widget, self.opt, self.lr.widget, self.lamb.widget,
                              self.lamb_entropy.widget, self.preset, self.seed.widget])
        fields.add_class("kw-row")
        buttons = widgets.Box([title, self.train_button, self.stop_button, self.play_button,
                               self.step_button, self.reset_button, self.counter])
        buttons.add_class("kw-row")
        # the buttons first: they stay in view on a short screen, the fields wrap below
        controls = widgets.VBox([buttons, fields, self.status, self.actions.widget,
                                 self.shape.widget])
        controls.add_class("kw-train-controls")
        loss_box = widgets.VBox([self.loss_figure])
        loss_box.add_class("kw-loss-box")
        self.widget = widgets.Box([controls, loss_box])
        self.widget.add_class("kw-train-panel")
        s.observe(guard(lambda ch: self.redraw(), s, "loss curve"), ["revision", "live"])
        s.observe(guard(self._on_training, s, "train panel"), ["training", "discovering"])
        self.redraw()
        self._set_buttons()

    def _check_fields(self, *fields):
        for f in fields or (self.steps, self.lr, self.lamb, self.lamb_entropy):
            if not f.valid:
                raise ValueError(f.reason)

    def _settings(self):
        self._check_fields()
        return dict(opt=self.opt.value, lr=self.lr.value, lamb=self.lamb.value,
                    lamb_entropy=self.lamb_entropy.value)

    def train(self, steps=None, wait=False):
        """What Train does: fit with the panel's settings in the background (``wait`` joins).
        Play is ``train(steps=PLAY_STEPS)`` (until Stop)."""
        settings = self._settings()
        self._t0 = time.monotonic()
        t = self.session.train(steps=steps or self.steps.value, background=True, **settings)
        if wait:
            t.join()
        return t

    def step(self):
        """One training step with the panel's settings (the Step button)."""
        return self.session.step(**self._settings())

    def reset(self):
        """Re-initialise with the seed field's value (the Reset button; undoable)."""
        self._check_fields(self.seed)
        return self.session.reset(self.seed.value)

    def _set_buttons(self):
        running = self.session.training
        discovering = self.session.discovering
        invalid = not all(f.valid for f in (self.steps, self.lr, self.lamb, self.lamb_entropy))
        busy = "training is running (Stop it first)"
        why = (busy if running else
               "Discover is running (wait for it or press its Stop)" if discovering else
               "a training field is invalid (see its reason)" if invalid else "")
        with self.widget.hold_sync():
            set_enabled(self.stop_button, running, "no training is running")
            for b in (self.train_button, self.play_button, self.step_button):
                set_enabled(b, not why, why)
            set_enabled(self.reset_button, not (running or not self.seed.valid),
                        busy if running else "the seed is invalid")

    def _on_opt(self, change):
        # LBFGS wants lr ~ 1, Adam ~ 1e-2: switch the default along unless the user set one
        if not self.lr.valid:
            return
        if change["new"] == "Adam" and self.lr.value == 1.0:
            self.lr.value = 0.01
        elif change["new"] == "LBFGS" and self.lr.value == 0.01:
            self.lr.value = 1.0

    def _on_training(self, change):
        self._set_buttons()

    def redraw(self):
        """Loss curves from ``model.history_`` (appended by fit while it runs) and the status."""
        s = self.session
        with s.lock:
            h = s.model.history_
            # what the session calls its loss: RMSE, or a classifier's cross-entropy
            key = "loss" if s.task == CLASSIFICATION else "rmse"
            nan = [float("nan")] * len(h["step"])
            steps = list(h["step"])
            train, test = (list(h.get(f"{k}_{key}", nan)) for k in ("train", "test"))
            n_done, training = len(s.train_log), s.training
            status = s.train_status()
        with self._lock, self.widget.hold_sync():
            tr, te = self.loss_figure.data
            has_test = any(not math.isnan(v) for v in test)
            # no test split: an empty trace (NaN is not valid JSON for the front end)
            update_figure(self.loss_figure, [(tr, {"x": steps, "y": train}), (te, {
                "x": steps if has_test else [], "y": test if has_test else [],
                "visible": has_test})])
            self.counter.value = f"<b>step {len(steps)}</b>"
            rate = ""
            if training and self._t0 is not None and n_done:
                rate = f" · {n_done / max(time.monotonic() - self._t0, 1e-9):.1f} steps/s"
            # the model's own training log: after Undo it tells the model now
            self.status.value = status + rate
