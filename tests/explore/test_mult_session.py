"""The Explorer's model side on multiplication nodes (``KAN(width=[2, [n_sum, n_mult], 1])``):
edges go to sub-nodes, the rows of one product are grouped under it, previews re-run the
products, pruning a multiplication node and undo restore it bit for bit."""

from __future__ import annotations

import pytest
import torch

from kan_widgets import KAN, EdgeId
from kan_widgets.explore import NetworkLayout, Session


def assert_same_state(a: dict, b: dict):
    """Two ``model.state()`` snapshots equal bit for bit (tensors, names, fits, log)."""
    assert a["width"] == b["width"] and a["config"] == b["config"]
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for k, v in a["state_dict"].items():
        w = b["state_dict"][k]
        assert v == w if k.endswith("_extra_state") else torch.equal(v, w), k
    assert a["symbolic_fits"] == b["symbolic_fits"] and a["history"] == b["history"]


@pytest.fixture(scope="module")
def product():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(300, 2, generator=g) * 2 - 1
    y = (X[:, 0] * X[:, 1])[:, None]
    m = KAN([2, [1, 1], 1], seed=0).fit(X, y, steps=10, progress=False)
    return m, {"train_input": X, "train_label": y}


def test_layout_rows_are_sub_nodes_grouped_by_product(product):
    m, _ = product
    lay = NetworkLayout.from_model(m, ["x", "y"], ["f"])
    assert lay.edges == m.edges() and lay.n_edges == 2 * 3 + 2 * 1
    assert lay.node_kinds == [["sum", "sum"], ["sum", "mult"], ["sum"]]
    assert lay.sub_labels[1] == ["h1.0", "h1.1 ×1", "h1.1 ×2"]
    assert [t for _, _, t in lay.row_labels[:3]] == ["→ h1.0", "→ h1.1 ×1", "→ h1.1 ×2"]
    # one group: the two factor rows of h1.1, and nothing else
    ((mm, j, x0, x1, y0, y1),) = lay.groups
    assert (mm, j) == (1, 1)
    rows = [lay.cells[lay.index[EdgeId(0, 0, d)]] for d in range(3)]
    assert y0 < rows[1][2] and rows[2][3] < y1 and not y0 < rows[0][3] - 0.1
    # a sum-only width keeps its old layout
    plain = NetworkLayout.from_width([2, 2, 1])
    assert plain.groups == [] and plain.sub_labels[1] == ["h1.0", "h1.1"]
    with pytest.raises(ValueError, match="mult_arity"):
        NetworkLayout.from_width([2, 1, 1], mult_arity=[[], [2, 2], []])


def test_scene_hover_and_detail_name_the_factor(product):
    m, data = product
    s = Session(m.copy(), data)
    scene = s.scene()
    assert len(scene.modes) == 8 and scene.curve_x.shape[0] == 8
    hover = scene.hover(s.layout)
    assert "x_2 → h1.1 ×2" in hover[s.layout.index[EdgeId(0, 1, 2)]]
    det = s.edge_detail((0, 1, 2))
    assert det.dst_name == "h1.1 ×2" and det.src_name == "x_2"


def test_fix_previews_run_the_products(product):
    m, data = product
    s = Session(m.copy(), data)
    for e in [(0, 0, 1), (1, 1, 0)]:
        fits = s.suggestions(e)[:3]
        predicted = s.previews(e, fits)
        for fit, rmse in zip(fits, predicted):
            c = s.model.copy().fix_symbolic(e, fit.name)
            assert c.score(data["train_input"], data["train_label"]) == pytest.approx(
                rmse, rel=1e-5)


def test_prune_multiplication_node_then_undo_bit_for_bit(product):
    m, data = product
    s = Session(m.copy(), data)
    start = s.model.state()
    s.select_node(1, 1)
    p = s.preview_prune_node(1, 1)
    assert p.name == "h1.1" and len(p.edges) == 2 * 2 + 1  # into both factors, and out
    s.prune_node()
    assert s.losses()[0] == pytest.approx(p.loss_after)
    assert all(s.model.edge_mode((0, i, d)) == "pruned" for i in range(2) for d in (1, 2))
    assert s.model.edge_mode((1, 1, 0)) == "pruned"
    s.fix_symbolic((0, 0, 0), "x")
    s.train(steps=2)
    s.undo()
    s.undo()
    s.undo()
    assert_same_state(s.model.state(), start)
    assert s.model.width_spec == [2, [1, 1], 1]
    s.redo()
    assert s.model.edge_mode((1, 1, 0)) == "pruned"
