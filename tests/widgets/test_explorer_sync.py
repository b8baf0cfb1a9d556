"""Explorer 2 behaviour without a browser: never stale (cells run after it), every control
shows the model now, previews before destructive clicks, inputs refused in place, node
clicks, Play / Step / Reset, Save and ``Explorer.load``."""

from __future__ import annotations

import html

import pytest
import torch
from plotly.callbacks import Points

from kan_widgets import EdgeId
from kan_widgets.widgets import Explorer


@pytest.fixture
def ex(fitted, toy):
    return Explorer(fitted.copy(), toy)


def click_node(ex, layer, i):
    """The front end's click on a node dot: every trace's handler fires, the hit one has
    the point index."""
    fig = ex.network.figure
    for n, tr in enumerate(fig.data):
        hit = tr.name == f"nodes {layer}"
        pts = Points(point_inds=[i] if hit else [], xs=[0.0] if hit else [],
                     ys=[0.0] if hit else [], trace_name=tr.name, trace_index=n)
        tr._dispatch_on_click(pts, None)


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    yield ip
    InteractiveShell.clear_instance()


def test_a_later_cell_is_picked_up_shown_and_undoable(ex, toy, shell):
    m = ex.model
    ex._repr_mimebundle_()  # displayed: registers the post_run_cell hook
    spline_state = m.state()
    shell.user_ns.update(model=m, data=toy)
    shell.run_cell("model.auto_symbolic(lib=['x', 'x^2', 'sin', 'exp'], r2_threshold=0.0)\n"
                   "model.fit(data, steps=2, progress=False)")
    steps = [s.label for s, _ in ex.session.undo_history.steps()]
    assert steps == ["start", "changed outside the Explorer"]
    assert "changed outside the Explorer" in ex.history_panel.list.value
    fp = ex.formula_panel
    assert fp.math.value.startswith("$$")  # the symbolic formula, not "edges are splines"
    assert "exp" in fp.math.value or "sin" in fp.math.value
    shell.run_cell("1 + 1")  # nothing changed: no new step
    assert len(ex.session.undo_history) == 1
    ex.history_panel.undo_button.click()
    assert not m.edges("symbolic") and m.history_ == spline_state["history"]
    assert torch.equal(m.layers[0].coef, spline_state["state_dict"]["layers.0.coef"])
    assert "<i>" in fp.math.value  # no formula for a spline model


def test_hand_edit_and_load_state_dict_are_noticed_at_the_next_click(ex, fitted):
    m = ex.model
    with torch.no_grad():
        m.layers[0].coef[0, 0, 0] += 1
    ex.select((0, 1, 0))
    assert ex.session.undo_history.done[-1].label == "changed outside the Explorer"
    m.load_state_dict(fitted.state_dict())
    ex.network.click((1, 0, 0))
    assert len(ex.session.undo_history) == 2


def test_status_and_grid_field_show_the_model_now(ex):
    tp = ex.train_panel
    ex.train(steps=3, opt="Adam", lr=1e-2)
    n = len(ex.model.history_["step"])
    assert tp.status.value.startswith("done") and f"({n} steps" in tp.status.value
    assert tp.counter.value == f"<b>step {n}</b>"
    ex.undo()
    assert not tp.status.value.startswith("done") and f"({n - 3} steps" in tp.status.value
    assert tp.counter.value == f"<b>step {n - 3}</b>"
    ex.refine(10)
    assert tp.grid.value == 10 and tp.grid.text.value == "10"
    ex.undo()
    assert tp.grid.value == 5
    ex.model.refine(7)  # a cell, outside the Explorer
    ex.refresh()
    assert tp.grid.value == 7


@pytest.mark.parametrize("field, text, reason", [
    ("lr", "-1", "lr must be > 0"), ("lr", "1e400", "finite"),
    ("steps", "2.5", "whole number"), ("lamb", "-0.1", ">= 0"), ("lamb", "nan", "number"),
])
def test_bad_input_is_refused_in_place_and_disables_the_buttons(ex, field, text, reason):
    tp = ex.train_panel
    f = getattr(tp, field)
    before = f.value
    f.type(text)
    assert not f.valid and reason in f.reason and f.value == before
    assert html.escape(f.reason) in f.error.value  # shown in red next to the field
    assert tp.train_button.disabled and tp.step_button.disabled and tp.play_button.disabled
    v = ex.model.version
    tp.train_button.click()  # a click that slipped through still refuses
    assert ex.model.version == v and not ex.session.training
    f.type(str(before))
    assert f.valid and f.error.value == "" and not tp.train_button.disabled


def test_grid_zero_is_refused_and_coarsen_is_named(ex):
    a = ex.train_panel.actions
    a.grid.type("0")
    assert not a.grid.valid and a.refine_button.disabled and "grid must be &gt;= 1" in a.grid.error.value
    a.grid.type("2")
    assert a.refine_button.description == "Coarsen grid" and not a.refine_button.disabled
    assert "coarsen grid 5 → 2: loss" in a.refine_info.value
    a.grid.type("300")
    assert a.refine_button.description == "Refine grid" and "huge" in a.refine_info.value
    v = ex.model.version
    a.refine_button.click()  # first press: the warning only
    assert ex.model.version == v and "Press Refine again" in a.refine_info.value


def test_threshold_slider_steps_one_edge_and_preview_is_exact(ex):
    a = ex.train_panel.actions
    n = len(ex.session.edge_score_thresholds())
    assert a.threshold_slider.max == n
    a.threshold_slider.value = 3
    assert len(ex.session.preview) == 3 and a.prune_info.value.startswith("3 edges go, loss")
    e = ex.session.preview[0]
    ex.select(e)
    note = ex.edge_panel.prune_note.value  # the preview shows on the selected edge too
    assert "Prune weak edges" in note and "3 edges go" in note
    ex.select(next(e for e in ex.model.edges() if e not in ex.session.preview))
    assert ex.edge_panel.prune_note.value == ""
    a.threshold.type("abc")
    assert a.prune_button.disabled and ex.session.preview == []
    a.threshold_slider.value = 2
    expected = list(ex.session.preview)
    a.prune_button.click()
    assert set(ex.model.edges("pruned")) == set(expected)


def test_auto_symbolic_previews_on_first_press_and_applies_on_second(ex):
    a = ex.train_panel.actions
    a.library.value = ("x", "x^2", "sin", "exp")
    a.auto_button.click()
    assert not ex.model.edges("symbolic") and "press Auto-symbolic again" in a.auto_info.value
    p = ex.session.preview_auto_symbolic(lib=["x", "x^2", "sin", "exp"])
    fixed = [e for e, name in p.picks.items() if name]
    assert f"{len(fixed)} edges fixed" in a.auto_info.value
    a.auto_button.click()
    assert sorted(ex.model.edges("symbolic")) == sorted(fixed)
    assert {ex.model.symbolic_fits_[e].name for e in fixed} <= {"x", "x^2", "sin", "exp"}


def test_a_10x_worse_action_shows_undo_next_to_the_message(ex):
    ex.refine(1)  # coarsening to one interval: far worse
    assert ex.session.worse and "worse" in ex.message.value
    assert ex._message_undo.layout.display is None
    ex._message_undo.click()
    assert ex.model.grid == 5 and ex._message_undo.layout.display == "none"


def test_click_a_node_shows_it_then_prune_it_or_drop_an_input(ex, toy):
    npan, m = ex.node_panel, ex.model
    assert npan.widget.layout.display == "none"  # no node selected: the edge panel's place
    ex.select((0, 1, 0))
    click_node(ex, 1, 2)
    # the click shows the node (in the edge panel's place) and changes nothing
    assert ex.session.selected_node == (1, 2) and ex.session.selected is None
    assert npan.widget.layout.display is None and ex.edge_panel.widget.layout.display == "none"
    assert "node h1.2" in npan.title.value and "sum of 2 live edges" in npan.title.value
    assert not m.edges("pruned") and len(ex.session.undo_history) == 0
    assert ex.network.figure.layout.shapes[2].visible
    # its value on every sample; with two inputs: coloured over their plane
    act = ex.node_activation()
    vals = ex.session.model.layer_input(toy.X_train, 1)[:, 2].detach().double().numpy()
    assert act.against == "inputs" and list(npan.figure.data[0].marker.color) == pytest.approx(
        list(vals))
    assert npan.figure.layout.xaxis.title.text == "x" and npan.figure.layout.yaxis.title.text == "y"
    assert f"{vals.min():.3g}" in npan.stats.value and f"{vals.max():.3g}" in npan.stats.value
    # pruning is the second, previewed click
    p = ex.preview_prune_node()
    assert "prune node h1.2: 3 edges go, loss" in npan.node_info.value
    assert html.escape(p.text()) == npan.node_info.value and not npan.node_button.disabled
    npan.node_button.click()
    assert m.edge_mode((1, 2, 0)) == "pruned"
    assert all(m.edge_mode((0, i, 2)) == "pruned" for i in range(2))
    assert npan.node_button.disabled and "pruned already" in npan.node_info.value
    click_node(ex, 0, 0)
    assert npan.node_button.description == "Drop input" and "drop input x" in npan.node_info.value
    npan.node_button.click()
    assert all(m.edge_mode(EdgeId(0, 0, j)) == "pruned" for j in range(5))
    assert ex.session.undo_history.done[-1].label == "drop input x"
    # an edge click gives the place back to the edge panel
    ex.network.click((0, 1, 1))
    assert ex.session.selected_node is None and npan.widget.layout.display == "none"
    assert ex.edge_panel.widget.layout.display is None


def test_node_hover_says_what_the_node_computes(ex, toy):
    names = [tr.name for tr in ex.network.figure.data]
    tr = ex.network.figure.data[names.index("nodes 1")]
    v = ex.model.layer_input(toy.X_train, 1)[:, 0].detach()
    assert tr.text[0].startswith("node 1,0: h1.0<br>values ")
    assert f"{float(v.min()):.3g} … {float(v.max()):.3g}" in tr.text[0]
    ex.prune_node(1, 0)  # a dead node is constant: its hover says so after the redraw
    tr = ex.network.figure.data[names.index("nodes 1")]
    c = float(ex.model.layer_input(toy.X_train, 1)[0, 0].detach())
    assert f"values {c:.3g} … {c:.3g}" in tr.text[0]


def test_play_step_reset_and_sparsify(ex):
    tp = ex.train_panel
    n = ex.session.steps_done()
    tp.opt.value = "Adam"
    tp.step_button.click()
    assert ex.session.steps_done() == n + 1 and tp.counter.value == f"<b>step {n + 1}</b>"
    tp.preset.value = "sparsify"
    assert tp.lamb.value == 1e-2
    tp.play_button.click()
    while ex.session.steps_done() < n + 4:
        pass
    assert tp.play_button.disabled and tp.train_button.disabled
    tp.stop_button.click()
    assert ex.session.wait(30)
    assert ex.model.history_["reg"][-1] > 0  # lamb > 0: the penalty was on
    tp.seed.type("3")
    tp.reset_button.click()
    assert ex.session.steps_done() == 0 and ex.session.undo_history.done[-1].label == "reset (seed 3)"
    ex.undo()
    assert ex.session.steps_done() > n


def test_save_button_and_explorer_load(ex, tmp_path):
    ex.fix_symbolic((0, 0, 0), "sin")
    ex.select((1, 1, 0))
    a = ex.train_panel.actions
    ex.session.save_dir = str(tmp_path)  # the Save field writes only there
    a.save_path.value = "run"
    a.save_button.click()
    assert "saved the session" in ex.session.message
    ex2 = Explorer.load(tmp_path / "run.kan")
    assert ex2.session.selected == EdgeId(1, 1, 0)
    assert [s.label for s, _ in ex2.session.undo_history.steps()] == [
        s.label for s, _ in ex.session.undo_history.steps()]
    assert "symbolic: sin" in ex2.edge_panel.title.value or ex2.model.edge_mode((0, 0, 0)) == "symbolic"
    ex2.undo()
    assert ex2.model.edge_mode((0, 0, 0)) == "spline"
    a.save_path.value = "__import__('os').getcwd()/"  # only a path, and a folder: refused
    a.save_button.click()
    assert "save failed" in ex.session.message and "folder" in ex.session.message


def test_data_view_shows_predicted_against_true_and_follows_the_model(ex, toy):
    dp = ex.data_panel
    pred = next(t for t in dp.figure.data if t.name == "predicted")
    want = ex.model.predict(toy.X_test)[:, 0].double().numpy()
    assert list(pred.x) == pytest.approx(toy.y_test[:, 0].double().numpy().tolist())
    assert list(pred.y) == pytest.approx(want.tolist(), rel=1e-6)
    rmse = ex.model.score(toy.X_test, toy.y_test)
    assert f"RMSE {rmse:.3g}" in dp.info.value
    ex.prune_edge((1, 0, 0))
    assert list(next(t for t in dp.figure.data if t.name == "predicted").y) == pytest.approx(
        ex.model.predict(toy.X_test)[:, 0].double().numpy().tolist(), rel=1e-6)


def test_data_view_draws_the_fitted_function_for_one_input():
    from kan_widgets import KAN, datasets

    data = datasets.from_function(lambda X: torch.sin(3 * X[:, 0]), n_var=1, n_train=200,
                                  n_test=100, seed=0)
    model = KAN([1, 3, 1], seed=0).fit(data, steps=3, progress=False)
    dp = Explorer(model, data).data_panel
    fit = next(t for t in dp.figure.data if t.name == "fit")
    assert len(fit.x) == 200 and fit.xaxis == "x2"
    xs = torch.tensor(list(fit.x[:5]), dtype=torch.float32)[:, None]
    assert list(fit.y[:5]) == pytest.approx(model.predict(xs)[:, 0].tolist(), rel=1e-5)


def test_without_data_the_explorer_builds_and_a_node_says_why_no_values():
    from kan_widgets import KAN

    ex = Explorer(KAN([3, 2, 1]))
    assert "no samples" in ex.train_panel.actions.prune_info.value
    ex.select_node(1, 0)
    assert "no samples: build the Explorer with data" in ex.node_panel.stats.value
    assert "prune node h1.0: 4 edges go, loss n/a → n/a" in ex.node_panel.node_info.value
