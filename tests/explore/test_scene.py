"""Layout and scene: the plain numbers the network view draws (no widgets)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kan_widgets import KAN, EdgeId
from kan_widgets.core import SymbolicFit
from kan_widgets.explore import NetworkLayout, build_scene, edge_detail, fix_previews
from kan_widgets.explore.scene import ALPHA_LEVELS


@pytest.fixture(scope="module")
def fitted(toy):
    return KAN([2, 5, 1], grid=5, k=3, seed=0).fit(toy, steps=5, progress=False)


@pytest.mark.parametrize("width", [[1, 1], [2, 5, 1], [4, 10, 10, 1], [3, 2, 2]])
def test_layout_places_every_edge_in_its_own_cell(width):
    lay = NetworkLayout.from_width(width)
    model = KAN(width)
    assert lay.edges == model.edges()
    assert lay.n_edges == sum(a * b for a, b in zip(width[:-1], width[1:]))
    assert all(lay.index[e] == n for n, e in enumerate(lay.edges))
    x0, x1, y0, y1 = lay.cells.T
    assert (x0 < x1).all() and (y0 < y1).all()
    assert (x0 >= lay.x_range[0]).all() and (x1 <= lay.x_range[1]).all()
    assert (y0 >= lay.y_range[0]).all() and (y1 <= lay.y_range[1]).all()
    # no two cells overlap
    ox = (x0[:, None] < x1[None, :]) & (x0[None, :] < x1[:, None])
    oy = (y0[:, None] < y1[None, :]) & (y0[None, :] < y1[:, None])
    assert ((ox & oy).sum(1) == 1).all()
    # column i of layer l sits above source node i; rows stack by destination
    for n, e in enumerate(lay.edges):
        assert x0[n] < lay.node_x[e.layer][e.src] < x1[n]
        assert lay.node_y[e.layer][e.src] < y0[n] < y1[n] < lay.node_y[e.layer + 1][e.dst]
    assert len(lay.row_labels) == sum(width[1:])
    assert 260 <= lay.height_px <= 1100


def test_layout_names_and_outline():
    lay = NetworkLayout.from_width([2, 3, 1], ["x", "y"], ["f"])
    assert lay.node_labels == [["x", "y"], ["h1.0", "h1.1", "h1.2"], ["f"]]
    assert lay.row_labels[-1][2] == "→ f"
    x, y = lay.outline([(0, 1, 2), (1, 0, 0)])
    assert len(x) == 12 and np.isnan(x[5]) and np.isnan(x[11])
    with pytest.raises(ValueError, match="names"):
        NetworkLayout.from_width([2, 1], ["only one"])


def test_scene_curves_lie_in_their_cells_and_follow_the_model(fitted):
    model = fitted.copy()
    model.prune_edge((0, 0, 4))
    model.fix_symbolic((0, 1, 0), "x^2")
    lay = NetworkLayout.from_width(model.width)
    sc = build_scene(model, lay, n_points=24)
    n = lay.n_edges
    assert sc.curve_x.shape == sc.curve_y.shape == (n, 24)
    x0, x1, y0, y1 = lay.cells.T
    assert ((sc.curve_x >= x0[:, None]) & (sc.curve_x <= x1[:, None])).all()
    assert ((sc.curve_y >= y0[:, None] - 1e-9) & (sc.curve_y <= y1[:, None] + 1e-9)).all()
    assert sc.modes[lay.index[EdgeId(0, 0, 4)]] == "pruned"
    assert sc.modes[lay.index[EdgeId(0, 1, 0)]] == "symbolic"
    assert sc.functions[lay.index[EdgeId(0, 1, 0)]] == "x^2"
    assert (sc.modes == "spline").sum() == n - 2
    # scores were computed; opacity grows with the score
    assert np.isfinite(sc.scores).all()
    alpha = ALPHA_LEVELS[sc.level]
    order = np.argsort(sc.scores)
    assert (np.diff(alpha[order]) >= 0).all()
    # each curve is the edge's function rescaled: same shape as the activations
    layer = model.layers[1]
    k = layer.k
    lo, hi = layer.knots[:, k], layer.knots[:, -k - 1]
    grid = lo + (hi - lo) * torch.linspace(0, 1, 24)[:, None]
    with torch.no_grad():
        acts = layer.activations(grid)[:, 0, 3].double().numpy()
    cy = sc.curve_y[lay.index[EdgeId(1, 3, 0)]]
    assert np.corrcoef(acts, cy)[0, 1] == pytest.approx(1.0, abs=1e-6)
    # NaN-separated paths: one NaN per curve
    x, _ = sc.paths("spline")
    assert np.isnan(x).sum() == n - 2 and len(x) == (n - 2) * 25


def test_scene_rejects_a_layout_of_another_width(fitted):
    with pytest.raises(ValueError, match="width"):
        build_scene(fitted, NetworkLayout.from_width([2, 4, 1]))


def test_edge_detail_samples_are_the_edge_values(fitted, toy):
    e = EdgeId(1, 2, 0)
    det = edge_detail(fitted, e, toy.X_train, max_samples=300, names=[["x", "y"], list("abcde"),
                                                                      ["f"]])
    xs = fitted.layer_inputs(toy.X_train[:300])[1]
    with torch.no_grad():
        want = fitted.activations(toy.X_train[:300], layer=1)[:, 0, 2]
    assert np.allclose(det.sample_x, xs[:, 2].detach().numpy())
    assert np.allclose(det.sample_y, want.numpy())
    assert det.src_name == "c" and det.dst_name == "f" and det.mode == "spline"
    assert det.curve_x.min() <= det.sample_x.min() and det.curve_x.max() >= det.sample_x.max()


def test_fix_previews_are_exact(fitted, toy):
    """The loss preview equals the loss of the model with the fit applied."""
    e = EdgeId(0, 0, 1)
    fits = fitted.suggest_symbolic(e, topk=3)
    fits.append(SymbolicFit("sin", 0.5, 2, 2.0, 0.3, -0.7, 0.1))  # an arbitrary candidate
    rmse = fix_previews(fitted, e, fits, toy.X_test, toy.y_test)
    for f, r in zip(fits, rmse):
        m = fitted.copy()
        m.layers[0].set_symbolic(e.src, e.dst, f.name, torch.tensor(f[3:]))
        with torch.no_grad():
            want = float(((m(toy.X_test) - toy.y_test) ** 2).mean().sqrt())
        assert r == pytest.approx(want, rel=1e-5)
