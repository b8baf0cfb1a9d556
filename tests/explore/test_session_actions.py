"""Session: previews of destructive actions (on a copy), checked inputs, node commands,
Reset / Step, the 10x-worse flag, the status line after Undo, save / load of a session."""

from __future__ import annotations

import math

import pytest
import torch

from kan_widgets import EdgeId
from kan_widgets.explore import Session
from kan_widgets.explore.checks import read_float, read_int, read_path


def assert_same_state(a: dict, b: dict):
    """Two ``model.state()`` snapshots are equal bit for bit."""
    assert a["width"] == b["width"] and a["grids"] == b["grids"]
    for k, v in a["state_dict"].items():
        w = b["state_dict"][k]
        assert v == w if k.endswith("_extra_state") else torch.equal(v, w), k
    assert a["symbolic_fits"] == b["symbolic_fits"] and a["history"] == b["history"]


@pytest.fixture
def session(fitted, toy):
    return Session(fitted.copy(), toy)


def test_prune_preview_names_the_edges_and_the_exact_loss_after(session):
    m = session.model
    before = m.state()
    p = session.prune_preview(edge_th=0.05)
    assert_same_state(m.state(), before)  # computed on a copy
    assert p.edges == session.preview_prune(edge_th=0.05) and p.edges
    session.prune(edge_th=0.05)
    assert p.loss_after == pytest.approx(session.losses()[0], rel=1e-6)
    assert f"{len(p.edges)} edges go" in p.text()


def test_score_thresholds_step_one_edge_at_a_time(session):
    t = session.edge_score_thresholds()
    assert len(t) == 15 and (t[1:] > t[:-1]).all()
    # just above the k-th smallest score, the weakest k edges go (nodes never: node_th=0)
    for k in (1, 3):
        th = float((t[k - 1] + t[k]) / 2)
        assert len(session.prune_preview(node_th=0.0, edge_th=th).edges) == k


def test_refine_preview_coarsen_label_and_huge_grid_refused_without_confirm(session):
    m = session.model
    p = session.preview_refine(2)
    assert p.kind == "coarsen" and "coarsen grid 5 → 2" in p.text()
    assert session.preview_refine(8).kind == "refine"
    session.refine(2)
    assert session.losses()[0] == pytest.approx(p.loss_after, rel=1e-6)
    assert session.undo_history.done[-1].label == "coarsen grid 5 → 2"
    session.undo()
    huge = session.preview_refine(1000)
    assert huge.huge and math.isnan(huge.loss_after) and "MB" in huge.warning
    v = m.version
    with pytest.raises(ValueError, match="huge"):
        session.refine(1000)
    assert m.version == v and m.grid == 5 and "huge" in session.message
    with pytest.raises(ValueError, match="grid must be >= 1"):
        session.refine(0)


def test_auto_symbolic_preview_gives_the_picks_and_loss_of_the_real_action(session):
    lib = ["x", "x^2", "sin", "exp"]
    p = session.preview_auto_symbolic(lib=lib)
    assert session.model.edges("symbolic") == []
    session.auto_symbolic(lib=lib)
    m = session.model
    for e, name in p.picks.items():
        assert (m.edge_mode(e) == "symbolic") == (name is not None)
        if name is not None:
            assert m.symbolic_fits_[e].name == name
    assert session.losses()[0] == pytest.approx(p.loss_after, rel=1e-6)


def test_loss_ten_times_worse_is_flagged_and_cleared(session):
    p = session.preview_prune_node(1, 2)
    ratio = p.loss_after / p.loss_before
    session.prune_node(1, 2)
    assert session.worse == (ratio > 10)
    if ratio > 10:
        assert "worse" in session.message and "Undo" in session.message
    session.undo()
    assert not session.worse


def test_node_commands_mask_the_node_and_an_input(session):
    m = session.model
    session.select_node(1, 3)
    assert session.selected_node == (1, 3)
    session.prune_node()
    assert all(m.edge_mode(EdgeId(0, i, 3)) == "pruned" for i in range(2))
    assert m.edge_mode(EdgeId(1, 3, 0)) == "pruned"
    session.prune_input("y")
    assert all(m.edge_mode(EdgeId(0, 1, j)) == "pruned" for j in range(5))
    assert [s.label for s in session.undo_history.done][-1] == "drop input y"
    assert session.undo_history.done[-2].label.startswith("prune node ")
    with pytest.raises(IndexError):
        session.prune_node(3, 0)
    with pytest.raises(KeyError):
        session.prune_input("z")


def test_reset_reinitialises_like_a_new_model_and_undoes(session, fitted):
    from kan_widgets import KAN
    m = session.model
    before = m.state()
    session.reset(seed=7)
    fresh = KAN(m.width, grid=5, k=3, seed=7)
    for k, v in fresh.state_dict().items():
        if not k.endswith("_extra_state"):
            assert torch.equal(v, m.state_dict()[k]), k
    assert m.history_["step"] == [] and session.train_status() == "not trained yet"
    session.undo()
    assert_same_state(m.state(), before)


def test_step_trains_one_step_and_status_follows_undo(session):
    n = session.steps_done()
    session.step(opt="Adam", lr=1e-2)
    assert session.steps_done() == n + 1
    session.train(steps=3, opt="Adam", lr=1e-2)
    assert f"({n + 4} steps trained)" in session.train_status()
    session.undo()
    session.undo()
    assert f"({n} steps trained)" in session.train_status()


@pytest.mark.parametrize("kw, reason", [
    (dict(lr=-1), "lr must be > 0"), (dict(lr="1e400"), "lr must be a finite"),
    (dict(steps="2.5"), "steps must be a whole number"), (dict(steps=0), "steps must be >= 1"),
    (dict(lamb=-1e-3), "lamb must be >= 0"), (dict(lamb=float("nan")), "lamb must be a finite"),
])
def test_bad_train_settings_are_refused_with_a_reason(session, kw, reason):
    v = session.model.version
    with pytest.raises(ValueError, match=reason):
        session.train(**kw)
    assert session.model.version == v and reason in session.message
    assert not session.undo_history.can_undo


def test_readers_accept_exactly_what_they_say():
    assert read_int("20", "steps") == 20 and read_int(" -3 ", "digits") == -3
    with pytest.raises(ValueError, match=">= 1"):
        read_int("-3", "digits", 1, 15)
    for bad in ["2.5", "1e3", "20a", "", "0x10"]:
        with pytest.raises(ValueError):
            read_int(bad, "steps")
    assert read_float("1e-3", "lr") == 1e-3 and read_float(".5", "lr") == 0.5
    for bad in ["1e400", "nan", "inf", "1/2", "__import__('os')", "1_0"]:
        with pytest.raises(ValueError):
            read_float(bad, "lr")
    assert read_path(" run1 ") == "run1.kan" and read_path("a/b.pt") == "a/b.pt"
    for bad in ["", "dir/", 3]:
        with pytest.raises(ValueError):
            read_path(bad)


def test_save_and_load_keep_model_history_and_selection(session, tmp_path, toy):
    session.fix_symbolic((0, 0, 0), "sin")
    session.prune_edge((0, 1, 2))
    session.undo()
    session.select((1, 2, 0))
    assert Session.load(session.save(tmp_path / "edge")).selected == EdgeId(1, 2, 0)
    session.select_node(1, 4)  # one selection at a time: the node replaces the edge
    path = session.save(tmp_path / "run1")
    assert path.endswith("run1.kan")
    s2 = Session.load(path)
    assert_same_state(s2.model.state(), session.model.state())
    assert [(st.label, a) for st, a in s2.undo_history.steps()] == [
        (st.label, a) for st, a in session.undo_history.steps()]
    assert s2.selected is None and s2.selected_node == (1, 4)
    assert s2.layout.node_labels == session.layout.node_labels
    assert s2.losses() == pytest.approx(session.losses())
    s2.redo()
    assert s2.model.edge_mode((0, 1, 2)) == "pruned"
    s2.undo()
    s2.undo()
    assert s2.model.edge_mode((0, 0, 0)) == "spline"


def test_load_refuses_other_files_without_running_them(tmp_path, fitted):
    p = tmp_path / "model.kan"
    fitted.save(p)
    with pytest.raises(ValueError, match="KAN.load"):
        Session.load(p)
    bad = tmp_path / "x.kan"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable"):
        Session.load(bad)
    with pytest.raises(FileNotFoundError):
        Session.load(tmp_path / "missing.kan")
