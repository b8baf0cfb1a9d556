"""Explorer widgets without a browser: every button through ``button.click()``, every plot click
through the trace's click handler, and what each panel then shows."""

from __future__ import annotations

import re
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
    # the preview says what it measures, and its number is never broken across lines
    assert re.search(r"<span class='kw-nowrap'>test RMSE if fixed → [0-9.e+-]+</span>",
                     ep.pick_info.value)
    assert "test RMSE if fixed" in ep.header.value
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
    sent = []
    fp.clipboard.send = sent.append  # what goes to the browser
    fp.python_button.click()
    assert sent[-1]["kind"] == "copy" and sent[-1]["text"] == fp.text.python
    assert "def kan_formula" in fp.code.value and fp.code.layout.display == "none"
    assert "copying" in fp.copy_status.value
    ns = {}
    exec(sent[-1]["text"], ns)
    X = toy.X_test[:20].double().numpy()
    want = ex.model.predict(toy.X_test[:20])[:, 0].double().numpy()
    assert ns["kan_formula"](X[:, 0], X[:, 1]) == pytest.approx(want, rel=1e-3, abs=1e-3)
    # the browser answers: copied; the text area stays hidden
    fp.clipboard._on_reply(fp.clipboard, {"kind": "copied", "id": sent[-1]["id"], "ok": True,
                                          "error": ""}, [])
    assert "Python source copied" in fp.copy_status.value and fp.code.layout.display == "none"
    fp.sympy_button.click()
    assert sent[-1]["text"].startswith("from sympy import *")
    assert fp.code.value == sent[-1]["text"]
    # refused (no permission, no clipboard API): the text area shows the source to copy
    fp.clipboard._on_reply(fp.clipboard, {"kind": "copied", "id": sent[-1]["id"], "ok": False,
                                          "error": "NotAllowedError"}, [])
    assert "NotAllowedError" in fp.copy_status.value and fp.code.layout.display is None
    # a second answer to the same request (a second view) is ignored
    fp.clipboard._on_reply(fp.clipboard, {"kind": "copied", "id": sent[-1]["id"], "ok": True,
                                          "error": ""}, [])
    assert "NotAllowedError" in fp.copy_status.value
    # the box is what formula() rounds to: decimal places, not significant digits
    assert fp.digits.description == "decimals"
    fp.digits.value = 2
    fp.sympy_button.click()
    nums = re.findall(r"\d+\.\d+", sent[-1]["text"].split("\n", 3)[-1])
    assert nums and all(len(v.split(".")[1]) <= 2 for v in nums)
    ex.undo()  # back to splines: no formula, code hidden, Copy disabled with the reason
    assert fp.math.value.startswith("<i>") and fp.code.layout.display == "none"
    assert fp.python_button.disabled and "still a spline" in fp.python_button.tooltip


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


def test_empty_edge_panel_shows_a_placeholder_not_bare_axes(ex):
    ep = ex.edge_panel
    lay = ep.figure.layout
    assert not lay.xaxis.visible and not lay.yaxis.visible
    assert [a.text for a in lay.annotations] == [
        "Click an edge of the network to see its function here"]
    ex.select((0, 1, 3))
    assert lay.xaxis.visible and lay.yaxis.visible and not lay.annotations
    ex.select(None)
    assert not lay.xaxis.visible and len(lay.annotations) == 1
    # no panel has a fixed width: the figures follow the layout's columns
    for fig in (ep.figure, ex.train_panel.loss_figure):
        assert fig.layout.width is None and fig.layout.autosize
    assert ex.network.figure.layout.width == 380 == ex.network.curves.layout.width


def test_network_width_fixes_the_network_figures():
    from kan_widgets.explore import Session
    from kan_widgets.widgets.network_view import NetworkView

    s = Session(KAN([2, 3, 1], seed=0))
    nv = NetworkView(s, width_px=420)
    assert nv.figure.layout.width == 420 == nv.curves.layout.width
    assert not nv.figure.layout.autosize


def test_buttons_are_disabled_while_training_and_say_why(ex):
    ep, tp, hp = ex.edge_panel, ex.train_panel, ex.history_panel
    assert ep.fix_button.disabled and "click an edge" in ep.fix_button.tooltip
    ex.select((0, 1, 1))
    assert not ep.fix_button.disabled and not ep.prune_button.disabled
    assert ep.restore_button.disabled and "already" in ep.restore_button.tooltip
    assert ep.fix_button.tooltip == "Fix the edge to the chosen function"
    tp.steps.value = 100_000
    tp.opt.value = "Adam"
    tp.train_button.click()
    try:
        assert ex.session.training
        for b in (ep.fix_button, ep.prune_button, ep.restore_button, tp.train_button,
                  tp.play_button, tp.step_button, hp.undo_button):
            assert b.disabled and "training is running" in b.tooltip, b.description
        assert not tp.stop_button.disabled
    finally:
        tp.stop_button.click()
        assert ex.session.wait(30)
    assert not ep.fix_button.disabled and not ep.prune_button.disabled
    assert ep.fix_button.tooltip == "Fix the edge to the chosen function"
    assert tp.stop_button.disabled and "no training" in tp.stop_button.tooltip
    assert not hp.undo_button.disabled and hp.undo_button.tooltip.startswith("Undo: train")


def test_history_list_opens_below_its_button(ex):
    hp = ex.history_panel
    assert not hp.list_open and hp.popup.layout.display == "none"
    hp.list_button.click()
    assert hp.list_open and hp.list_button.description == "History ▴"
    ex.select((0, 0, 0)).prune_edge()
    assert "prune" in hp.list.value and "test RMSE" in hp.list.value
    hp.list_button.click()
    assert not hp.list_open
    # toolbar: Undo / Redo / History and the message, on top of the grid
    grid = next(c for c in ex.widget.children if "kw-layout" in c._dom_classes)
    toolbar = grid.children[0]
    assert "kw-toolbar" in toolbar._dom_classes
    assert toolbar.children == (hp.widget, ex._message_undo, ex.message)


def test_loss_axis_labels_decades_only(ex):
    y = ex.train_panel.loss_figure.layout.yaxis
    assert y.type == "log" and y.minorloglabels == "none"


def test_formula_left_hand_side_is_a_name(ex, toy):
    from kan_widgets.explore.scene import output_symbols

    assert output_symbols(["y"], ["x_1", "x_2"], 1) == ["y"]
    assert output_symbols(["price"], ["x", "y"], 1) == ["price"]
    assert output_symbols(["exp(sin(pi*x) + y**2)"], ["x", "z"], 1) == ["y"]
    assert output_symbols(["exp(sin(pi*x) + y**2)"], ["x", "y"], 1) == ["f"]
    assert output_symbols(None, ["a"], 2) == ["y_1", "y_2"]
    assert output_symbols(["a", "a"], ["x"], 2) == ["y_1", "y_2"]
    ex.auto_symbolic(r2_threshold=0.0)
    text = ex.formula()
    # the toy data's output is called y, as is an input: the left-hand side is f
    assert text.latex.startswith(r"$$\begin{aligned}f &= ")
    assert "\nf = " in text.sympy and "exp_" not in text.sympy
    ns = {}
    exec(text.sympy, ns)
    assert str(ns["f"].free_symbols) in ("{x, y}", "{y, x}")
