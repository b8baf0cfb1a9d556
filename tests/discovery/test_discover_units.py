"""Discovery's parts without training: views fold back exactly, gap thresholds, the steep
penalty, polishing and snapping, the front's table and choice, argument checks."""

import math

import numpy as np
import pytest
import sympy as sp
import torch

from kan_widgets import datasets
from kan_widgets.core.symbolic_edges import SymbolicFit
from kan_widgets.discovery import Candidate, Front, discover
from kan_widgets.discovery.polish import complexity, nrmse, polish, snap
from kan_widgets.discovery.symbolize import _choose, gap_threshold
from kan_widgets.discovery.views import as_dataset, make_views
from kan_widgets.symbolic import to_callable


def _positive(scale=1.0, shift=0.0):
    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 3.0, (200, 2))
    y = scale * X[:, 0] ** 2 / X[:, 1] + shift
    return datasets.from_arrays(X, y, seed=0, variables=["a", "b"], dtype=torch.float64)


@pytest.mark.parametrize("kind", ["linear", "log"])
def test_fold_is_the_exact_inverse_of_the_view(kind):
    ds = as_dataset(_positive(scale=-3e-4))
    view = {v.kind: v for v in make_views(ds)}[kind]
    zs = view.symbols()
    g = sp.Float(0.7) * sp.sin(zs[0]) + zs[1] ** 2 - sp.Float(0.25) * zs[0] * zs[1]
    folded = view.fold(g, zs)
    assert {s.name for s in folded.free_symbols} == {"a", "b"}
    Z = view.inputs(ds.X_test)
    g_on_z = to_callable(g, zs, backend="torch")(Z)
    # what the model's output g means in the user's units: the inverse of view.target
    v = g_on_z * view.y_std + view.y_mean
    want = view.sign * torch.exp(v) if kind == "log" else v
    got = to_callable(folded, ["a", "b"], backend="torch")(ds.X_test)
    assert torch.allclose(got, want, rtol=1e-10, atol=0)


def test_log_view_only_for_positive_inputs_and_one_signed_target():
    assert [v.kind for v in make_views(as_dataset(_positive()))] == ["linear", "log"]
    assert [v.kind for v in make_views(as_dataset(_positive(shift=-5)))] == ["linear"]
    with pytest.raises(ValueError, match="use_log=True needs"):
        make_views(as_dataset(_positive(shift=-5)), use_log=True)
    assert [v.kind for v in make_views(as_dataset(_positive()), use_log=False)] == ["linear"]


def test_gap_threshold_cuts_at_the_largest_gap_only():
    assert gap_threshold([1.0, 0.8, 0.5, 0.3]) == 0.0  # no gap of 10x: prune nothing
    th = gap_threshold([2e-6, 1.5e-6, 3e-10, 1e-10])  # tiny scores: the gap is what counts
    assert 3e-10 < th < 1.5e-6
    assert 0 < gap_threshold([1.0, 0.9, 0.0]) < 0.9  # exact zeros are cut off
    assert gap_threshold([0.5]) == 0.0


def test_steep_fits_are_replaced_by_the_best_sensible_one():
    steep = SymbolicFit("tanh", 0.999, 3, 293.0, 1.2, 1.0, 0.0)
    smooth = SymbolicFit("x^2", 0.95, 2, 1.0, 0.0, 1.0, 0.0)
    chosen, top = _choose([steep, smooth], x_range=2.0, r2_threshold=0.9, weight_simple=0.0)
    assert top is steep and chosen is smooth
    gentle = steep._replace(a=3.0)
    chosen, _ = _choose([gentle, smooth], 2.0, 0.9, 0.0)
    assert chosen is gentle
    # a large a on a power only rescales: not steep
    big = SymbolicFit("x^2", 0.999, 2, 400.0, 0.0, 1e-5, 0.0)
    assert _choose([big], 2.0, 0.9, 0.0)[0] is big


def test_polish_and_snap_reach_the_exact_formula():
    x, y = sp.symbols("x y")
    X = torch.rand(300, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 0.5
    Y = 2 * X[:, 0] ** 2 + torch.sin(torch.pi * X[:, 1]) / 2
    rough = sp.Float(1.97) * x**2 + sp.Float(0.52) * sp.sin(sp.Float(3.12) * y)
    polished, err = polish(rough, ["x", "y"], X, Y)
    assert err < 1e-8 < nrmse(rough, ["x", "y"], X, Y)
    snapped, err, notes = snap(polished, ["x", "y"], X, Y)
    assert sp.simplify(snapped - (2 * x**2 + sp.sin(sp.pi * y) / 2)) == 0 and notes
    assert err < 1e-12


def test_snap_leaves_constants_that_would_hurt():
    x = sp.Symbol("x")
    X = torch.linspace(1, 2, 50, dtype=torch.float64)[:, None]
    Y = 1.005 * X[:, 0]
    expr, _, notes = snap(sp.Float(1.005) * x, ["x"], X, Y)
    assert expr == sp.Float(1.005) * x and notes == []


def test_complexity_counts_expression_nodes():
    q1, q2, r = sp.symbols("q1 q2 r")
    assert complexity(q1 * q2 / r**2) == 6
    assert complexity(q1) == 1


def _cand(expr, err, cx):
    return Candidate(expr, err, err, cx, model=None, data=None)


def test_front_keeps_what_no_simpler_candidate_beats():
    x = sp.Symbol("x")
    front = Front("y", ["x"])
    for e, err, cx in [(x, 0.5, 1), (x**2, 0.01, 3), (x**2 + x, 0.02, 5), (sp.sin(x), 0.009, 4),
                       (x**3 + x, 1e-3, 9)]:
        front.add(_cand(e, err, cx))
    assert [c.complexity for c in front] == [1, 3, 4, 9]
    assert front[1].formula == x**2 and len(front) == 4
    assert front.best.formula == x**3 + x  # 0.01 is not within 1.5x of 1e-3
    text = repr(front)
    assert "complexity" in text and "test error" in text and "x**3 + x" in text
    df = front.to_dataframe()
    assert list(df["complexity"]) == [1, 3, 4, 9]


def test_bad_input_is_refused_with_a_way_out():
    ds = _positive()
    X = ds.X_train.numpy()
    with pytest.raises(ValueError, match="give the targets y"):
        discover(X)
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=["a", "b"])
    with pytest.raises(ValueError, match="target="):
        discover(df)
    with pytest.raises(ValueError, match="time_budget"):
        discover(ds, time_budget=0)
    with pytest.raises(ValueError, match="start with the number of variables"):
        discover(ds, widths=[[3, 1]])
    with pytest.raises(ValueError, match="one output"):
        discover(datasets.from_arrays(X, np.c_[X, X], variables=["a", "b"]))
    with pytest.raises(ValueError, match="constant"):
        discover(X, np.ones(len(X)))
    with pytest.raises(ValueError, match="NaN"):
        discover(X, np.where(np.arange(len(X)) == 3, math.nan, 1.0 + X[:, 0]))
