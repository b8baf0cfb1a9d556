"""The Explorer's Discover panel without a browser: the buttons through ``click()``, the front's
points, a click on a point through the trace's handler, and the panels rebuilt for the
loaded model's width."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from plotly.callbacks import Points

from kan_widgets import KAN, datasets
from kan_widgets.discovery import search
from kan_widgets.widgets import Explorer

QUICK = dict(max_models=2, steps=10)


@pytest.fixture(scope="module")
def product():
    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 2.0, (300, 2))
    return datasets.from_arrays(X, X[:, 0] * X[:, 1], seed=0, variables=["x", "y"],
                                outputs=["z"])


@pytest.fixture(scope="module")
def front(product):
    ex = Explorer(KAN([2, 3, 1], seed=0), product)
    ex.discover(time_budget=30, **QUICK)
    return ex.front


def click_point(panel, i):
    """What the browser sends for a click on point ``i`` of the ``front`` trace."""
    tr = panel.figure.data[0]
    tr._dispatch_on_click(Points(point_inds=[i], xs=[tr.x[i]], ys=[tr.y[i]],
                                 trace_name="front", trace_index=0), None)


def test_the_panel_is_folded_below_the_layout(product):
    ex = Explorer(KAN([2, 3, 1], seed=0), product)
    root = ex.widget
    box = root.children[-1]
    assert "kw-discover-box" in box._dom_classes and box.selected_index is None
    assert box.get_title(0) == "Discover"
    panel = ex.discover_panel
    assert "kw-discover" in panel.widget._dom_classes
    assert panel.discover_button.description == "Discover"
    assert panel.stop_button.description == "Stop" and panel.stop_button.disabled
    assert panel.figure.data[0].name == "front" and panel.figure.layout.yaxis.type == "log"


def test_discover_button_runs_in_the_background_and_draws_the_front(product):
    ex = Explorer(KAN([2, 3, 1], seed=0), product)
    panel, train = ex.discover_panel, ex.train_panel
    gate, release = threading.Event(), threading.Event()
    real = search._one_run

    def held(*args):  # the first run waits until the test has looked at the buttons
        gate.set()
        release.wait(30)
        return real(*args)

    search._one_run = held
    try:
        panel.budget.type("30")
        panel.discover_button.click()  # returns at once: the UI stays responsive
        assert gate.wait(30)
        assert panel.discover_button.disabled and not panel.stop_button.disabled
        assert train.train_button.disabled
        assert "Discover is running" in train.train_button.tooltip
    finally:
        release.set()
        search._one_run = real
    assert ex.discovery.wait(120)
    tr = panel.figure.data[0]
    assert len(tr.x) == len(ex.front) >= 1 and len(tr.hovertext) == len(tr.x)
    assert "x*y" in tr.hovertext
    assert all(y > 0 for y in tr.y)  # on a log axis: an exact fit is drawn at the floor
    assert panel.progress.value == 1.0 and panel.status.value.startswith("done")
    assert not panel.discover_button.disabled and not train.train_button.disabled


def test_invalid_budget_disables_discover_with_its_reason(product):
    ex = Explorer(KAN([2, 3, 1], seed=0), product)
    panel = ex.discover_panel
    panel.budget.type("-2")
    assert not panel.budget.valid and "time budget" in panel.budget.error.value
    assert panel.discover_button.disabled and "budget" in panel.discover_button.tooltip
    panel.budget.type("5")
    assert not panel.discover_button.disabled


def test_clicking_a_point_loads_its_model_and_undo_goes_back(product, front):
    model = KAN([2, 3, 1], seed=0)
    ex = Explorer(model, product)
    panel = ex.discover_panel
    ex.discovery.front = front
    panel.redraw()
    k = list(panel.figure.data[0].hovertext).index("x*y")
    cand = front[k]
    old_network, old_formula = ex.network, ex.formula_panel.widget
    click_point(panel, k)
    assert ex.model is not model and ex.model.width == cand.model.width
    assert "loaded candidate: x*y" in ex.message.value
    # the panels were rebuilt for the loaded model's width
    assert ex.network is not old_network and ex.network.session.layout.width == cand.model.width
    assert ex.formula_panel.widget is not old_formula
    names = {tr.name for tr in ex.network.figure.data}
    assert "edge 0,0,0" in names and "edge 1,0,0" not in names  # [2, 1]: one layer
    assert "log_x_s" in ex.formula().sympy
    assert [s.label for s in ex.session.undo_history.done] == ["loaded candidate: x*y"]
    ex.history_panel.undo_button.click()
    assert ex.model is model and ex.network.session.layout.width == [2, 3, 1]
    assert "edge 1,0,0" in {tr.name for tr in ex.network.figure.data}
    assert "undid: loaded candidate" in ex.message.value
    ex.load_candidate(k)  # the programmatic twin
    assert ex.model.width == cand.model.width


def test_a_click_off_the_points_does_nothing(product, front):
    ex = Explorer(KAN([2, 3, 1], seed=0), product)
    panel = ex.discover_panel
    ex.discovery.front = front
    panel.redraw()
    tr = panel.figure.data[0]
    tr._dispatch_on_click(Points(point_inds=[], xs=[], ys=[], trace_name="front",
                                 trace_index=0), None)
    assert len(ex.session.undo_history) == 0
    with pytest.raises(IndexError, match="shows"):
        panel.click_point(99)


def test_training_disables_discover_with_a_tooltip(product):
    ex = Explorer(KAN([2, 3, 1], seed=0), product)
    panel = ex.discover_panel
    ex.train(steps=300, wait=False)
    try:
        assert panel.discover_button.disabled
        assert "training is running" in panel.discover_button.tooltip
    finally:
        ex.stop()
        ex.session.wait(60)
    assert not panel.discover_button.disabled


def test_a_failed_search_shows_in_the_message(product, monkeypatch):
    def broken(*args):
        raise ValueError("no luck")

    monkeypatch.setattr(search, "_one_run", broken)
    ex = Explorer(KAN([2, 3, 1], seed=0), product)
    ex.discover_panel.budget.type("5")
    ex.discover_panel.discover_button.click()
    assert ex.discovery.wait(60)
    assert "discover failed: no luck" in ex.message.value
    assert "kw-msg-error" in ex.message.value
