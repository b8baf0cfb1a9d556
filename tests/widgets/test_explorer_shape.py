"""The Shape row of the Explorer: + node, − node (previewed), + layer; the network view is
rebuilt for the new shape (one clickable cell per edge) and again after Undo."""

from __future__ import annotations

import pytest

from kan_widgets.widgets import Explorer


@pytest.fixture
def ex(fitted, toy):
    return Explorer(fitted.copy(), toy)


def _cells(ex):
    return [tr.name for tr in ex.network.figure.data if tr.name.startswith("edge ")]


def test_shape_buttons_rebuild_the_network_and_undo(ex):
    m = ex.model

    def sp():  # the panels are rebuilt for each new shape
        return ex.train_panel.shape

    assert sp().layer.options == (("1 (5 nodes)", 1),) and sp().layer.value == 1
    assert "width [2, 5, 1] · − node: remove node h1.4: width [2, 5, 1] → [2, 4, 1], loss" \
        in sp().info.value
    old = ex.network
    sp().add_node_button.click()
    assert m.width == [2, 6, 1] and ex.network is not old
    assert len(_cells(ex)) == 2 * 6 + 6 and "edge 0,1,5" in _cells(ex)
    assert ex.network.widget in ex._grid.children and old.widget not in ex._grid.children
    assert "add a node to layer 1: width [2, 5, 1] → [2, 6, 1]: loss" in ex.message.value
    ex.network.click((0, 1, 5))  # the new edge's cell answers
    assert ex.session.selected == (0, 1, 5) and "edge 0,1,5" in ex.edge_panel.title.value
    sp().add_layer_button.click()
    assert m.width == [2, 6, 6, 1] and len(_cells(ex)) == 12 + 36 + 6
    assert [v for _, v in sp().layer.options] == [1, 2] and sp().layer.value == 2
    sp().layer.value = 1
    p = ex.preview_remove_node(1)
    assert p.text() in sp().info.value.replace("&gt;", ">")
    sp().remove_node_button.click()
    assert m.width == [2, 5, 6, 1] and f"→ {p.loss_after:.3g}" in ex.message.value
    for _ in range(3):
        ex.undo()
    assert m.width == [2, 5, 1] and len(_cells(ex)) == 15
    assert sp().layer.options == (("1 (5 nodes)", 1),)
