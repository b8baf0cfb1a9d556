"""The teaching demos' states without widgets: numbers, atomic commands, one revision each."""

from __future__ import annotations

import functools
import subprocess
import sys

import numpy as np
import pytest
import torch
from traitlets import TraitError

from kan_widgets import KAN, datasets
from kan_widgets.core.bspline import bspline_basis
from kan_widgets.explore.teaching_bspline import BSplineState, cox_de_boor_levels, greville
from kan_widgets.explore.teaching_grid import GridExtensionState as _GridState
from kan_widgets.explore.teaching_kart import PRESETS, kan_param_count
from kan_widgets.explore.teaching_kart import KARTState as _KARTState

# the states with the data sampler their demos pass (explore does not import datasets)
KARTState = functools.partial(_KARTState, sampler=datasets.from_function)
GridExtensionState = functools.partial(_GridState, sampler=datasets.from_function)


def _revisions(state):
    """A list that receives the new value at every ``revision`` notification."""
    seen = []
    state.observe(lambda ch: seen.append(ch["new"]), "revision")
    return seen


def test_state_modules_import_no_widgets():
    code = ("import sys\nimport kan_widgets.explore.teaching_bspline, "
            "kan_widgets.explore.teaching_kart, kan_widgets.explore.teaching_grid\n"
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert not {m for m in loaded if m.split(".")[0] in ("ipywidgets", "plotly")}
    assert "kan_widgets.widgets" not in loaded


# ------------------------------------------------------------------ BSplineState


@pytest.mark.parametrize("k", [0, 1, 3, 5])
def test_bspline_levels_match_the_backend_and_sum_to_one(k):
    s = BSplineState(k=k, G=6, grid_eps=0.3)  # non-uniform grid
    assert s.n_basis == 6 + k and len(s.knots) == 6 + 2 * k + 1 and len(s.grid) == 7
    t = torch.as_tensor(s.knots)[None]
    x = s.x
    for p in range(k + 1):
        ref = bspline_basis(torch.as_tensor(x)[:, None], t, p)[:, 0].numpy()
        np.testing.assert_allclose(s.level_values(p), ref, atol=1e-12)
    inside = (x >= s.grid[0]) & (x < s.grid[-1])
    np.testing.assert_allclose(s.partition_sum()[inside], 1.0, atol=1e-12)
    np.testing.assert_allclose(s.curve_values(), s.basis_values() @ s.coef)


def test_cox_de_boor_and_greville_on_integer_knots():
    levels = cox_de_boor_levels(np.array([4.5]), np.arange(10.0), 3)
    # the uniform cubic B-spline at the middle of its second interval: 1/48, 23/48, 23/48, 1/48
    np.testing.assert_allclose(levels[3][0, 1:5], np.array([1, 23, 23, 1]) / 48, atol=1e-12)
    np.testing.assert_allclose(greville(np.arange(10.0), 3), np.arange(2.0, 8.0))


def test_bspline_commands_bump_revision_once_and_observers_see_the_new_state():
    s = BSplineState(k=3, G=5)
    seen = []
    s.observe(lambda ch: seen.append((ch["new"], s.k, s.G, len(s.knots), len(s.coef))),
              "revision")
    s.set(k=2, G=9)
    assert seen == [(1, 2, 9, 14, 11)] and s.level == 2  # a new order shows its top level
    s.set_coef(4, 0.5)
    assert s.selected == 4 and s.coef[4] == 0.5 and seen[-1][0] == 2
    s.select(99)  # clipped to the last basis function
    assert s.selected == 10
    s.ones().randomize(seed=1).reset()
    assert len(seen) == 6 and (s.k, s.G, len(s.coef)) == (3, 5, 8)


def test_bspline_slider_values_are_read_only_traits():
    s = BSplineState()
    for name, value in (("k", 2), ("G", 4), ("level", 1), ("selected", 2), ("grid_eps", 0.5)):
        with pytest.raises(TraitError, match="read-only"):
            setattr(s, name, value)
    assert (s.k, s.G, s.revision) == (3, 5, 0)


def test_bspline_bad_values_leave_the_state_as_it_was():
    s = BSplineState(k=3, G=5)
    knots, coef = s.knots.copy(), s.coef.copy()
    bad = [dict(k=7), dict(G=0), dict(grid_range=(1, 0)), dict(grid_eps=2.0),
           dict(G=8, level=5)]  # a bad level with a good G: nothing moves
    for kw in bad:
        with pytest.raises(ValueError):
            s.set(**kw)
    with pytest.raises(IndexError, match="0..7"):
        s.set_coef(8, 1.0)
    with pytest.raises(ValueError, match="need 8 coefficients"):
        s.set_coefs(np.ones(3))
    assert (s.k, s.G, s.revision) == (3, 5, 0)
    np.testing.assert_array_equal(s.knots, knots)
    np.testing.assert_array_equal(s.coef, coef)


def test_bspline_refit_keeps_the_curve_and_range_stretches_it():
    s = BSplineState(k=3, G=5)
    inner = np.linspace(-0.99, 0.99, 200)
    before = s.curve_values(inner)
    s.set(G=12)
    np.testing.assert_allclose(s.curve_values(inner), before, atol=2e-3)
    coef, mid = s.coef.copy(), s.curve_values(inner)
    s.set(grid_range=(-2.0, 2.0))  # the coefficients stay: the curve stretches with the grid
    np.testing.assert_array_equal(s.coef, coef)
    np.testing.assert_allclose(s.curve_values(2 * inner), mid, atol=1e-12)
    assert s.grid[0] == pytest.approx(-2.0) and s.grid[-1] == pytest.approx(2.0)


def test_bspline_state_from_a_trained_edge():
    f = lambda X: torch.sin(torch.pi * X[:, 0]) + X[:, 1] ** 2  # noqa: E731
    data = datasets.from_function(f, 2, n_train=200, n_test=50, seed=0)
    model = KAN([2, 2, 1], grid=4, k=3, seed=0).fit(data, steps=3, progress=False)
    s = BSplineState(model, (0, 1, 0))
    np.testing.assert_allclose(s.coef, model.layers[0].coef[1, 0].detach().double().numpy())
    xs, ys = s.edge_values
    np.testing.assert_allclose(s.curve_values(xs), ys, atol=1e-5)
    assert tuple(s.edge) == (0, 1, 0) and len(s.samples) == 200


# ------------------------------------------------------------------ KARTState


def test_kart_state_trains_and_reads_back_its_functions():
    s = KARTState("x+y", hidden=2, steps=5, n_train=200, n_test=200)
    seen = _revisions(s)
    with pytest.raises(RuntimeError, match="train"):
        s.inner_functions()
    calls = []
    s.train(callback=lambda which, i, m: calls.append(which))
    assert calls == ["KAN"] * 5 + ["MLP"] * 5 and len(seen) == 1
    assert s.kan_rmse_ < 0.05 and s.mlp_rmse_ > 0
    assert s.kan_params == kan_param_count([2, 2, 1], 5, 3) == 6 * (5 + 3 + 2)
    assert s.mlp_shape[0] == 2 and s.mlp_shape[-1] == 1
    inner, outer = s.inner_functions(n=50), s.outer_functions(n=50)
    assert inner.keys() == {(0, 0), (0, 1), (1, 0), (1, 1)} and outer.keys() == {0, 1}
    # f = sum_q Phi_q(phi_qx(x) + phi_qy(y)): the model's prediction is that sum
    X = s.data.X_test[:20]
    with torch.no_grad():
        z = s.model_.activations(X, layer=0).sum(-1)
        out = s.model_.layers[1].activations(z)[:, 0].sum(-1)
    np.testing.assert_allclose(out.numpy(), s.model_.predict(X)[:, 0].numpy(), atol=1e-5)
    imp0, imp1 = s.edge_importance()
    assert imp0.shape == (2, 2) and imp1.shape == (2,) and max(imp1) == pytest.approx(1.0)


def test_kart_functions_of_a_model_in_training():
    s = KARTState("x*y", hidden=3, steps=2, n_train=100, n_test=100)
    other = KAN([2, 3, 1], grid=5, k=3, seed=7)
    inner = s.inner_functions(n=30, model=other)
    with torch.no_grad():
        ref = other.activations(torch.tensor([[-1.0, -1.0]]), layer=0)[0, 2, 1]
    assert inner[(2, 1)][1][0] == pytest.approx(float(ref), abs=1e-5)
    assert s.model_ is None


def test_kart_set_is_atomic_and_forgets_the_trained_models():
    s = KARTState("x*y", hidden=2, steps=2, n_train=100, n_test=100).train()
    r0 = s.revision
    with pytest.raises(ValueError, match="hidden"):
        s.set(function="x/y", hidden=9)
    with pytest.raises(ValueError, match="cannot read"):
        s.set(function="sin(x")
    with pytest.raises(ValueError, match="unknown name .*'z'"):
        s.set(function="x + z")
    with pytest.raises(ValueError, match="cannot read formula"):  # typed text never runs
        s.set(function="__import__('os').getcwd()")
    assert s.function == "x*y" and s.model_ is not None and s.revision == r0
    with pytest.raises(TraitError):
        s.hidden = 3
    s.set(function="x/y", hidden=3)
    assert (s.function, s.width, s.model_, s.kan_rmse_) == ("x/y", [2, 3, 1], None, None)
    assert float(s.data.X_train[:, 1].min()) >= 0.5  # the preset's range for y
    for name in PRESETS:
        assert KARTState(name, n_train=100, n_test=10).exact_error() < 1e-12, name
    assert KARTState("x**3 - y", n_train=100, n_test=10).exact_error() is None


# ------------------------------------------------------------------ GridExtensionState


def test_grid_state_runs_with_a_revision_per_grid():
    s = GridExtensionState("sin(pi*x)", k=3, grids=(3, 6, 12), steps=5, n_train=300, n_test=300)
    seen, rows = _revisions(s), []
    s.run(callback=lambda row: rows.append((row["G"], s.revision)))
    assert [g for g, _ in rows] == [3, 6, 12] and seen == [2, 3, 4]
    assert [r for _, r in rows] == [1, 2, 3]  # the callback runs before the bump
    assert s.done and s.shown_G == 12 and list(s.curves_) == [3, 6, 12]
    kan = [r["kan_test_rmse"] for r in s.results_]
    assert kan[2] < kan[1] < kan[0]
    assert len(s.grid_points(6)) == 7
    assert s.slope("spline") < -3 and s.theory_slope == -4
    s.show(6)
    assert s.shown_G == 6 and s.revision == 5
    with pytest.raises(ValueError, match="computed grids"):
        s.show(7)
    with pytest.raises(ValueError, match="which"):
        s.slope("mlp")


def test_grid_state_set_validates_before_it_clears():
    s = GridExtensionState("x^2", grids=(2, 4), steps=2, n_train=100, n_test=100).run()
    for kw in (dict(k=0), dict(grids=(5, 3)), dict(steps=0), dict(target="sin(pi*x")):
        with pytest.raises(ValueError):
            s.set(**kw)
    assert s.done and s.target == "x^2"
    s.set(target=lambda X: torch.exp(X[:, 0]), k=2)
    assert not s.done and s.shown_G is None and s.k == 2
    np.testing.assert_allclose(s.target_values([0.0, 1.0]), [1.0, np.e])
