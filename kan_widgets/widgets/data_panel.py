"""What the model computes on its data: predicted against true (with the residual RMS), and,
for a one-input model, the fitted function drawn over the samples. For a classifier: the
probability each sample's true class gets, by class, and the accuracy."""

from __future__ import annotations

import threading

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from ..explore.task import CLASSIFICATION, class_probability, measure
from ._explorer_common import guard
from ._plotly import update_figure

__all__ = ["DataPanel"]

MAX_POINTS = 2000  # the scatter shows at most this many samples (evenly strided)


class DataPanel:
    """Predicted vs true of the session's data (test split when there is one), redrawn after
    every change of the model.

    Attributes
    ----------
    widget : the panel (CSS class ``kw-data-view``)
    figure : FigureWidget with traces ``predicted`` (markers: true on x, predicted on y),
        ``ideal`` (the diagonal) and, for one input, ``fit`` (the model over the input range)
        and ``samples``
    info : HTML with the RMSE and the largest residual (CSS class ``kw-data-info``)
    """

    def __init__(self, session, width_px=400):
        self.session = s = session
        self._lock = threading.RLock()
        self._classes = s.task == CLASSIFICATION
        one = s.model.width[0] == 1 and not self._classes
        self._one_input = one
        traces = [go.Scatter(x=[], y=[], mode="markers", name="predicted",
                             marker=dict(size=4, color="rgba(31,41,55,0.35)")),
                  go.Scatter(x=[], y=[], mode="lines", name="ideal",
                             line=dict(color="rgb(200,30,90)", dash="dash", width=1))]
        if one:  # the fitted function over the data, on a second axis pair
            traces += [go.Scatter(x=[], y=[], mode="markers", name="samples", xaxis="x2",
                                  yaxis="y2", marker=dict(size=4, color="rgba(31,41,55,0.3)")),
                       go.Scatter(x=[], y=[], mode="lines", name="fit", xaxis="x2", yaxis="y2",
                                  line=dict(color="rgb(200,30,90)", width=2))]
        layout = dict(width=width_px, height=240, margin=dict(l=45, r=10, t=10, b=40),
                      plot_bgcolor="white", showlegend=False,
                      xaxis=dict(title=dict(text="true"), domain=[0, 0.45] if one else [0, 1]),
                      yaxis=dict(title=dict(text="predicted")))
        if self._classes:
            layout.update(xaxis=dict(title=dict(text="true class"), dtick=1),
                          yaxis=dict(title=dict(text="P(true class)"), range=[-0.02, 1.02]))
        if one:
            layout.update(xaxis2=dict(domain=[0.58, 1], anchor="y2",
                                      title=dict(text=s.layout.node_labels[0][0])),
                          yaxis2=dict(anchor="x2"))
        self.figure = go.FigureWidget(data=traces, layout=go.Layout(**layout))
        self.figure._config = {**self.figure._config, "displayModeBar": False}
        self.info = widgets.HTML("")
        self.info.add_class("kw-data-info")
        self.widget = widgets.VBox([widgets.HTML("<div class='kw-panel-title'>Data</div>"),
                                    self.info, self.figure])
        self.widget.add_class("kw-data-view")
        s.observe(guard(lambda ch: self.refresh(), s, "data view"), "revision")
        self.refresh()

    def _data(self):
        s = self.session
        if s.X is None:
            return None, None
        if s.X_test is not None:
            return s.X_test, s.y_test
        return s.X, s.y

    def refresh(self):
        """Recompute predictions and redraw (one message for the figure)."""
        s = self.session
        X, y = self._data()
        if X is None:
            self.info.value = "<i>no data: build the Explorer with data to see predictions</i>"
            return
        if self._classes:
            return self._refresh_classes(X, y)
        with s.lock:
            pred = s.model.predict(X).detach().cpu().double().numpy()
            curve = None
            if self._one_input:
                x = X[:, 0].detach().cpu().double().numpy()
                grid = np.linspace(x.min(), x.max(), 200)
                g = s.model.predict(grid[:, None])  # converted to the model's dtype
                curve = (grid, g[:, 0].detach().cpu().double().numpy())
        true = y.detach().cpu().double().numpy()
        res = pred - true
        rmse = float(np.sqrt(np.mean(res ** 2)))
        step = max(1, len(true) // MAX_POINTS)
        t, p = true[::step, 0], pred[::step, 0]
        lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        edits = [(self.figure.data[0], {"x": t, "y": p}),
                 (self.figure.data[1], {"x": [lo, hi], "y": [lo, hi]})]
        if curve is not None:
            edits += [(self.figure.data[2], {"x": X[::step, 0].cpu().double().numpy(),
                                             "y": true[::step, 0]}),
                      (self.figure.data[3], {"x": curve[0], "y": curve[1]})]
        with self._lock, self.widget.hold_sync():
            update_figure(self.figure, edits)
            self.info.value = (f"RMSE {rmse:.3g} · largest residual "
                               f"{float(np.abs(res).max()):.3g} "
                               f"({'test' if s.X_test is not None else 'train'} split, "
                               f"{len(true)} samples)")

    def _refresh_classes(self, X, y):
        """A classifier: each sample's probability of its own class, at its class (spread
        sideways so the points do not hide each other); the accuracy in the info line."""
        s = self.session
        with s.lock:
            pred = s.model.predict(X)
            loss, acc = measure(s.model, X, y, s.task)
        p = class_probability(pred, y)
        labels = y.cpu().numpy()
        step = max(1, len(p) // MAX_POINTS)
        idx = np.arange(0, len(p), step)
        spread = ((idx % 41) - 20) / 60.0  # deterministic sideways spread
        top = max(2, s.model.width[-1]) - 0.5
        with self._lock, self.widget.hold_sync():
            update_figure(self.figure, [
                (self.figure.data[0], {"x": labels[idx] + spread, "y": p[idx]}),
                (self.figure.data[1], {"x": [-0.5, top], "y": [0.5, 0.5]})])
            split = "test" if s.X_test is not None else "train"
            self.info.value = (f"accuracy {acc:.1%} · cross-entropy {loss:.3g} "
                               f"({split} split, {len(p)} samples)")

    def residuals(self) -> np.ndarray:
        """Predicted minus true on the shown split, (n, n_outputs)."""
        X, y = self._data()
        with self.session.lock:
            pred = self.session.model.predict(X)
        return (pred - y).detach().cpu().double().numpy()
