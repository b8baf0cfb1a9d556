"""Shape edits of a Session (TF Playground's + and −): add a node, remove one, add a layer;
each one undoable step whose message gives the width and the loss before and after; the
layout follows the shape (also after undo and after a change made outside)."""

from __future__ import annotations

import pytest
import torch

from kan_widgets.explore import Session


def _same(a, b):
    assert a["width"] == b["width"]
    for k, v in a["state_dict"].items():
        w = b["state_dict"][k]
        assert v == w if k.endswith("_extra_state") else torch.equal(v, w), k


@pytest.fixture
def session(fitted, toy):
    return Session(fitted.copy(), toy)


def test_add_node_keeps_the_function_and_undoes(session, toy):
    s, m = session, session.model
    start, shape, loss = m.state(), s.structure, s.losses()[0]
    s.select((1, 4, 0))
    s.add_node(1)
    assert m.width == [2, 6, 1] and s.structure == shape + 1
    assert s.layout.width == [2, 6, 1] and s.layout.n_edges == 2 * 6 + 6
    assert s.losses()[0] == pytest.approx(loss, rel=1e-5)  # the new node outputs 0 (float32)
    assert s.message == (f"add a node to layer 1: width [2, 5, 1] → [2, 6, 1]: loss "
                         f"{loss:.3g} → {s.losses()[0]:.3g}")
    assert s.selected is None  # numbers may name other edges now: cleared
    s.train(steps=2)
    assert m.layers[1].coef[5].abs().sum() > 0  # the new node's edges train
    s.undo()
    s.undo()
    _same(m.state(), start)
    assert s.layout.width == [2, 5, 1] and s.structure == shape + 2
    s.redo()
    assert m.width == [2, 6, 1]


def test_remove_node_is_previewed_and_undoable(session):
    s, m = session, session.model
    start = m.state()
    p = s.preview_remove_node(1)  # the last node of the layer
    assert p.width_after == [2, 4, 1] and "remove node h1.4" in p.text()
    c = m.copy().prune_node(1, 4).compact()
    assert p.loss_after == pytest.approx(c.score(s.X_test, s.y_test))
    s.select_node(1, 2)  # a selected node of that layer is the one removed
    assert s.preview_remove_node(1).what == "remove node h1.2"
    s.remove_node(1)
    assert m.width == [2, 4, 1] and s.selected_node is None
    assert s.losses()[0] == pytest.approx(s.undo_history.done[-1].loss)
    assert "remove node h1.2: width [2, 5, 1] → [2, 4, 1]: loss" in s.message
    s.undo()
    _same(m.state(), start)
    for _ in range(4):
        s.remove_node(1)
    assert m.width == [2, 1, 1]
    assert "it cannot go" in s.preview_remove_node(1).text()
    with pytest.raises(ValueError, match="layer 1 has one node"):
        s.remove_node(1)
    with pytest.raises(ValueError, match="layer must be"):
        s.remove_node(2)


def test_add_layer_is_the_identity_then_trains(session):
    s, m = session, session.model
    loss = s.losses()[0]
    s.add_layer()
    assert m.width == [2, 5, 5, 1] and s.layout.width == [2, 5, 5, 1]
    assert s.losses()[0] == pytest.approx(loss, rel=1e-6)
    assert s.message.startswith("add a hidden layer after layer 1: width [2, 5, 1] → "
                                "[2, 5, 5, 1]: loss")
    s.add_node(2, kind="mult")
    assert m.width_spec == [2, 5, [5, 1], 1] and len(s.layout.groups) == 1
    s.train(steps=1)
    s.undo()
    s.undo()
    s.undo()
    assert m.width == [2, 5, 1]
    with pytest.raises(ValueError, match="kind must be"):
        s.add_node(1, kind="max")


def test_a_shape_change_made_outside_is_picked_up(session):
    s, m = session, session.model
    m.expand_width(1, 2)
    s.select((0, 0, 6))  # the click polls first: the new edges exist
    assert s.layout.width == [2, 7, 1] and s.undo_history.done[-1].label == (
        "changed outside the Explorer")
    s.undo()
    assert m.width == [2, 5, 1] and s.selected is None  # (0, 0, 6) is gone
