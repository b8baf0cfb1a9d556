"""The Explorer on a model with a multiplication node (``KAN(width=[2, [0, 1], 1])``): its own
glyph, its factors' rows grouped, a click shows its value over the data, pruning it is the
node panel's second click, and undo brings it back."""

from __future__ import annotations

import pytest
import torch
from plotly.callbacks import Points

from kan_widgets import KAN
from kan_widgets.widgets import Explorer
from kan_widgets.widgets.network_view import MULT_SYMBOL


def click_node(ex, layer, i):
    """The front end's click on a node dot (every trace's handler fires; the hit one has
    the point)."""
    for n, tr in enumerate(ex.network.figure.data):
        hit = tr.name == f"nodes {layer}"
        tr._dispatch_on_click(Points(point_inds=[i] if hit else [], xs=[0.0] * hit,
                                     ys=[0.0] * hit, trace_name=tr.name, trace_index=n), None)


@pytest.fixture
def ex():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(200, 2, generator=g) * 2 - 1
    y = (X[:, 0] * X[:, 1])[:, None]
    m = KAN([2, [0, 1], 1], seed=0).fit(X, y, steps=10, progress=False)
    return Explorer(m, {"train_input": X, "train_label": y})


def test_multiplication_node_glyph_groups_click_prune_undo(ex):
    m, net = ex.model, ex.network
    nodes = next(tr for tr in net.curves.data if tr.name == "nodes")
    assert list(nodes.marker.symbol) == ["circle", "circle", MULT_SYMBOL, "circle"]
    box, wire = net.curves.layout.shapes  # the two factor rows, boxed; the product's wire
    assert box.type == "rect" and wire.type == "line"
    cells = [tr.name for tr in net.figure.data]
    assert cells[:6] == ["edge 0,0,0", "edge 0,0,1", "edge 0,1,0", "edge 0,1,1", "edge 1,0,0",
                         "nodes 0"]
    hover = net.figure.data[cells.index("edge 0,1,1")].text
    assert "x_2 → h1.0 ×2" in hover
    assert "⊗ (multiplication)" in net.figure.data[cells.index("nodes 1")].text[0]
    before = m.state()
    click_node(ex, 1, 0)
    npan = ex.node_panel
    assert "⊗ node h1.0" in npan.title.value and "product of 2 sub-nodes" in npan.title.value
    vals = m.layer_input(ex.session.X, 1)[:, 0].detach().double().numpy()
    assert list(npan.figure.data[0].marker.color) == pytest.approx(list(vals))
    assert "prune node h1.0: 5 edges go" in npan.node_info.value
    assert len(ex.session.undo_history) == 0  # the click only showed it
    npan.node_button.click()
    assert m.edges("pruned") == m.edges()
    assert ex.session.undo_history.done[-1].label == "prune node h1.0"
    ex.undo()
    assert not m.edges("pruned")
    assert all(torch.equal(v, before["state_dict"][k]) for k, v in m.state()["state_dict"].items()
               if not k.endswith("_extra_state"))
