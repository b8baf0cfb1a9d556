"""Explorer widgets without a browser: every button through ``button.click()``, every plot click
through the trace's click handler, and what each panel then shows."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from plotly.callbacks import Points

from kan_widgets import KAN, EdgeId
from kan_widgets.widgets import Explorer

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def ex(fitted, toy):
    return Explorer(fitted.copy(), toy)


def state_equal(a, b):
    return (a["grids"] == b["grids"]
            and all(torch.equal(v, b["state_dict"][k]) if torch.is_tensor(v)
                    else v == b["state_dict"][k] for k, v in a["state_dict"].items()))


def click_cell(ex, edge):
    """What the front end does on a click: every trace's handler fires, only the hit trace
    has points (plotly sends no point index for a fill: ``[None]``)."""
    fig = ex.network.figure
    name = f"edge {EdgeId(*edge)}"
    for n, tr in enumerate(fig.data):
        hit = tr.name == name
        pts = Points(point_inds=[None] if hit else [], xs=[0.5] if hit else [],
                     ys=[0.5] if hit else [], trace_name=tr.name, trace_index=n)
        tr._dispatch_on_click(pts, None)


def test_widget_is_built_lazily_and_carries_the_hooks(ex):
    assert ex._widget is None
    bundle = ex._repr_mimebundle_()
    assert WIDGET_MIME in bundle and ex._widget is not None
    assert "kw-explorer" in ex.widget._dom_classes
    for panel, cls in [(ex.network, "kw-network"), (ex.edge_panel, "kw-edge-panel"),
                       (ex.train_panel, "kw-train-panel"), (ex.formula_panel, "kw-formula"),
                       (ex.history_panel, "kw-history")]:
        assert cls in panel.widget._dom_classes
    assert "kw-message" in ex.message._dom_classes
    labels = {b.description for b in (ex.edge_panel.fix_button, ex.edge_panel.prune_button,
                                      ex.edge_panel.restore_button, ex.train_panel.train_button,
                                      ex.train_panel.stop_button, ex.history_panel.undo_button,
                                      ex.history_panel.redo_button)}
    assert labels == {"Fix", "Prune", "Restore", "Train", "Stop", "Undo", "Redo"}
    names = [tr.name for tr in ex.network.figure.data]
    # the clickable layer: the cells, then one trace of node dots per node-layer
    assert names == [f"edge {e}" for e in ex.model.edges()] + ["nodes 0", "nodes 1", "nodes 2"]


def test_clicking_a_cell_fills_the_edge_panel(ex):
    ep = ex.edge_panel
    assert ep.fix_button.disabled and "Click an edge" in ep.title.value
    click_cell(ex, (0, 1, 3))
    assert ex.session.selected == (0, 1, 3)
    assert "edge 0,1,3" in ep.title.value and "y → h1.3" in ep.title.value
    fits = ex.session.suggestions((0, 1, 3))
    assert [v for _, v in ep.suggestions.options] == [f.name for f in fits]
    assert ep.choice == fits[0].name and ep.suggestions.value == fits[0].name
    _, samples, curve, cand = ep.figure.data
    assert len(samples.x) == 1000 and len(curve.x) == 200 and len(cand.y) == 200
    # the selection is drawn on the network
    box = ex.network.figure.layout.shapes[0]
    x0, x1, y0, y1 = ex.session.layout.cells[ex.session.layout.index[(0, 1, 3)]]
    assert box.visible and (box.x0, box.x1, box.y0, box.y1) == pytest.approx((x0, x1, y0, y1))
    # a click that hits no cell selects nothing new
    fig = ex.network.figure
    for n, tr in enumerate(fig.data):
        tr._dispatch_on_click(Points([], [], [], tr.name, n), None)
    assert ex.session.selected == (0, 1, 3)


def test_pick_a_candidate_then_fix_changes_model_and_formula(ex):
    ep, fp = ex.edge_panel, ex.formula_panel
    ex.select((0, 0, 2))
    assert fp.math.value.startswith("<i>15 edges")
    second = ep.suggestions.options[1][1]
    ep.suggestions.value = second  # the user picks the second suggestion
    assert ep.choice == second and second in ep.figure.data[3].name
    assert "loss →" in ep.pick_info.value
    ep.fix_button.click()
    assert ex.model.edge_mode((0, 0, 2)) == "symbolic"
    assert ex.model.symbolic_fits_[(0, 0, 2)].name == second
    assert fp.math.value.startswith("<i>14 edges")
    assert "symbolic" in ep.title.value and not ep.restore_button.disabled
    # manual pick from the full library
    ex.select((0, 1, 1))
    ep.manual.value = "tanh"
    assert ep.choice == "tanh" and ep.suggestions.value in (None, "tanh")
    ep.fix_button.click()
    assert ex.model.symbolic_fits_[(0, 1, 1)].name == "tanh"


def test_undo_button_restores_bit_for_bit_and_redo_reapplies(ex):
    before = ex.model.state()
    ex.select((1, 2, 0))
    ex.edge_panel.fix_button.click()
    after = ex.model.state()
    assert not state_equal(before, after)
    ex.history_panel.undo_button.click()
    assert state_equal(ex.model.state(), before)
    assert "undone" in ex.history_panel.list.value and not ex.history_panel.redo_button.disabled
    ex.history_panel.redo_button.click()
    assert state_equal(ex.model.state(), after)


def test_prune_and_restore_buttons_and_the_pruned_drawing(ex):
    e = EdgeId(0, 0, 1)
    ex.select(e)
    ex.edge_panel.prune_button.click()
    assert ex.model.edge_mode(e) == "pruned"
    assert ex.edge_panel.prune_button.disabled and ex.edge_panel.fix_button.disabled
    pruned = next(tr for tr in ex.network.curves.data if tr.name == "pruned")
    x0, x1, y0, y1 = ex.session.layout.cells[ex.session.layout.index[e]]
    x = np.asarray(pruned.x, dtype=float)
    assert len(x) == 25 and ((x[:-1] >= x0) & (x[:-1] <= x1)).all()
    ex.edge_panel.restore_button.click()
    assert ex.model.edge_mode(e) == "spline"
    assert len(next(tr for tr in ex.network.curves.data if tr.name == "pruned").x) == 0


def test_train_button_grows_the_loss_curve_without_blocking(ex):
    tp = ex.train_panel
    n0 = len(tp.loss_figure.data[0].x)
    tp.steps.value = 3
    tp.train_button.click()  # returns at once: the fit runs in a thread
    assert ex.session.training and not tp.stop_button.disabled and tp.train_button.disabled
    assert ex.session.wait(60)
    assert len(tp.loss_figure.data[0].x) == n0 + 3
    assert len(tp.loss_figure.data[1].y) == n0 + 3 and tp.loss_figure.data[1].visible
    assert tp.status.value.startswith("done") and tp.stop_button.disabled
    assert "train 3 steps (LBFGS)" in ex.history_panel.list.value
    assert ex.network.redraw_count >= 2


def test_stop_button_ends_training(ex):
    tp = ex.train_panel
    tp.steps.value = 100_000
    tp.opt.value = "Adam"
    assert tp.lr.value == 0.01
    tp.train_button.click()
    while len(ex.session.train_log) < 2:
        time.sleep(0.01)
    tp.stop_button.click()
    assert ex.session.wait(30)
    assert 2 <= len(ex.session.train_log) < 100_000
    assert "stopped" in ex.message.value


def test_threshold_slider_previews_and_prunes(ex):
    tp = ex.train_panel
    tp.threshold.value = 0.05
    preview = ex.session.preview
    assert preview and preview == ex.session.preview_prune(edge_th=0.05)
    tr = next(t for t in ex.network.curves.data if t.name == "prune preview")
    assert len(tr.x) == 6 * len(preview)
    tp.prune_button.click()
    assert set(ex.model.edges("pruned")) == set(preview)
    assert len(next(t for t in ex.network.curves.data if t.name == "prune preview").x) == 0


def test_refine_and_auto_symbolic_buttons_then_copy_code(ex, toy):
    tp, fp = ex.train_panel, ex.formula_panel
    tp.grid.value = 8
    tp.refine_button.click()
    assert ex.model.grid == 8
    ex.auto_symbolic(r2_threshold=0.0)
    assert not ex.model.edges("spline")
    assert fp.math.value.startswith("$$") and "\\begin{aligned}" in fp.math.value
    fp.digits.value = 10
    fp.python_button.click()
    assert fp.code.layout.display is None and "def kan_formula" in fp.code.value
    ns = {}
    exec(fp.code.value, ns)
    X = toy.X_test[:20].double().numpy()
    want = ex.model.predict(toy.X_test[:20])[:, 0].double().numpy()
    assert ns["kan_formula"](X[:, 0], X[:, 1]) == pytest.approx(want, rel=1e-3, abs=1e-3)
    fp.sympy_button.click()
    assert fp.code.value.startswith("from sympy import *")
    # the box is what formula() rounds to: decimal places, not significant digits
    assert fp.digits.description == "decimals"
    fp.digits.value = 2
    fp.sympy_button.click()
    import re

    nums = re.findall(r"\d+\.\d+", fp.code.value.split("\n", 3)[-1])
    assert nums and all(len(v.split(".")[1]) <= 2 for v in nums)
    ex.undo()  # back to splines: no formula, code hidden
    assert fp.math.value.startswith("<i>") and fp.code.layout.display == "none"


def test_errors_are_shown_in_the_message_area(ex):
    ep = ex.edge_panel
    ex.select((0, 0, 0))
    ex.edge_panel.prune_button.click()
    ep.fix_button.click()  # a pruned edge has no suggestions, so nothing is chosen
    assert "kw-msg-error" in ex.message.value and "pick a function first" in ex.message.value
    ep.manual.value = "sin"  # fitting on a pruned edge: refused by the backend, shown
    assert "kw-msg-error" in ex.message.value and "pruned" in ex.message.value
    ex.history_panel.redo_button.click()  # nothing to redo: an info message
    assert "nothing to redo" in ex.message.value
    with pytest.raises(KeyError):
        ex.fix_symbolic((0, 1, 1), "not_a_function")  # the script twin raises ...
    assert "not_a_function" in ex.message.value  # ... and the widget shows it too


def test_concurrent_clicks_from_threads_keep_the_model_consistent(ex):
    """Callbacks may run on a subshell thread while a cell runs: hammer the buttons from
    threads during a background fit; afterwards the history still undoes to the start."""
    start = ex.model.state()
    tp, ep, hp = ex.train_panel, ex.edge_panel, ex.history_panel
    tp.steps.value = 4
    stop = threading.Event()

    def clicker(edges):
        while not stop.is_set():
            for e in edges:
                click_cell(ex, e)
                ep.prune_button.click()  # refused while training; applied otherwise
                ep.restore_button.click()
                hp.undo_button.click()

    threads = [threading.Thread(target=clicker, args=(es,)) for es in
               ([(0, 0, 0), (0, 1, 1)], [(1, 3, 0), (0, 1, 4)])]
    for t in threads:
        t.start()
    tp.train_button.click()
    ex.session.wait(60)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(60)
    while ex.session.can_undo:
        ex.undo()
    assert state_equal(ex.model.state(), start)


def test_two_hundred_edges_redraw_by_mutating_traces():
    f = lambda X: X * X.roll(1, 1) + torch.sin(X)  # noqa: E731
    from kan_widgets import datasets

    data = datasets.from_function(f, n_var=5, n_train=300, n_test=100, seed=1)
    model = KAN([5, 10, 10, 5], seed=0).fit(data, steps=2, opt="Adam", lr=1e-2, progress=False)
    ex = Explorer(model, data)
    cells, curves = ex.network.figure, ex.network.curves
    assert len(cells.data) == 200 + 4  # one clickable cell per edge, one dot trace per layer
    assert len(curves.data) == 15  # curves in a fixed number of traces, whatever the size
    msgs = {"cells": [], "curves": []}
    for key, fig in (("cells", cells), ("curves", curves)):
        orig = fig._send_update_msg
        fig._send_update_msg = (lambda *a, _o=orig, _k=key, **kw:
                                (msgs[_k].append(kw.get("restyle_data")), _o(*a, **kw)))
    ex.select((1, 3, 7))
    ex.session.live_interval = 0.0
    ex.train(steps=3, opt="Adam", lr=1e-2)
    assert len(cells.data) == 204 and len(curves.data) == 15  # never rebuilt
    # live frames restyle only the curves figure (one message each); the cells figure gets
    # relayouts of the selection shapes and, once after training, one restyle of hover texts
    assert len(msgs["curves"]) >= 3  # a frame per step (unchanged frames send nothing)
    assert all(set(m) <= {"x", "y"} for m in msgs["curves"])
    assert [set(m) for m in msgs["cells"] if m] == [{"text"}]
    assert ex.session.layout.height_px <= 1100
