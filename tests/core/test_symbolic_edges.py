"""suggest / fix / unfix / auto-symbolic on KAN edges."""

import math
import warnings

import pytest
import sympy as sp
import torch

import kan_widgets as kw
from kan_widgets import KAN, EdgeId, SymbolicFit
from kan_widgets.core import functions as F
from kan_widgets.core.grid import fit_coef
from kan_widgets.core.symbolic_edges import SymbolicDomainWarning, rank_fits


def spline_model(fns, n_in=1, grid=30, n=1000, seed=0):
    """KAN([n_in, 1]) whose edge i is the spline of ``fns[i]`` on [-1, 1] (no base branch)."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(n, n_in, generator=gen) * 2 - 1
    model = KAN([n_in, 1], grid=grid, seed=seed)
    model.update_grid(X)
    layer = model.layers[0]
    Y = torch.stack([fn(X[:, i]) for i, fn in enumerate(fns)], 1)[:, :, None]  # (n, n_in, 1)
    with torch.no_grad():
        layer.scale_base.zero_()
        layer.scale_sp.fill_(1.0)
        layer.coef.data = fit_coef(X, Y, layer.knots, layer.k)
    return model, X


KNOWN = [
    ("x", lambda x: 0.5 * x + 1, set()),
    ("x^2", lambda x: 2 * (x - 0.3) ** 2 + 0.1, set()),
    ("x^3", lambda x: (x + 0.2) ** 3, set()),
    ("sin", lambda x: torch.sin(3 * x + 0.5), {"cos"}),
    ("exp", lambda x: torch.exp(1.5 * x), set()),
    ("tanh", lambda x: torch.tanh(2 * x - 0.3), {"sigmoid"}),
    ("log", lambda x: torch.log(x + 1.5), set()),
    ("sqrt", lambda x: torch.sqrt(x + 1.3), set()),
    ("gaussian", lambda x: torch.exp(-((2 * x - 0.4) ** 2)), set()),
    ("1/x", lambda x: 1 / (x + 2), set()),
    ("arctan", lambda x: torch.arctan(4 * x), set()),
    ("cosh", lambda x: torch.cosh(2 * x), set()),
]


@pytest.mark.parametrize("name,fn,equivalent", KNOWN, ids=[k[0] for k in KNOWN])
def test_suggest_ranks_the_true_function_first(name, fn, equivalent):
    model, X = spline_model([fn])
    fits = model.suggest_symbolic((0, 0, 0), X=X, topk=5)
    assert fits[0].name in {name} | equivalent, fits
    top = next(f for f in fits if f.name == name)
    assert top.r2 > 1 - 1e-6
    assert all(math.isfinite(v) for f in fits for v in f[3:])


def test_rank_fits_prefers_a_real_fit_over_simple_nonsense():
    fits = [SymbolicFit("0", 0.0, 0, 1, 0, 0, 0), SymbolicFit("x", 0.16, 1, 1, 0, 1, 0),
            SymbolicFit("x^4", 0.93, 3, 1, 0, 1, 0)]
    assert [f.name for f in rank_fits(fits)] == ["x^4", "x", "0"]
    assert [f.name for f in rank_fits(fits, min_r2=0.99)] == ["x^4", "x", "0"]  # by r² alone
    close = [SymbolicFit("x^4", 0.999999, 3, 1, 0, 1, 0), SymbolicFit("x^2", 0.9999, 2, 1, 0, 1, 0)]
    assert rank_fits(close, weight_simple=0.5)[0].name == "x^4"
    assert rank_fits(close, weight_simple=3.0)[0].name == "x^2"
    # below the r² resolution every fit counts as exact: simplest, then library order
    exact = [SymbolicFit("x^2", 1 - 2.6e-7, 2, 1, 0, 1, 0), SymbolicFit("sin", 1 - 2.4e-7, 2, 1, 0, 1, 0),
             SymbolicFit("x^4", 1 - 1e-9, 3, 1, 0, 1, 0)]
    assert [f.name for f in rank_fits(exact)] == ["x^2", "sin", "x^4"]


def test_zero_never_wins_on_an_edge_with_signal():
    model = KAN([1, 1], grid=12, seed=3, noise_scale=5.0)  # a wiggly random edge
    X = torch.rand(500, 1) * 2 - 1
    fits = model.suggest_symbolic((0, 0, 0), X=X, topk=None)
    assert fits[0].name != "0"
    assert next(f for f in fits if f.name == "0").r2 == pytest.approx(0.0, abs=1e-9)


def test_zero_wins_on_a_negligible_edge():
    model, X = spline_model([lambda x: torch.sin(3 * x), lambda x: 1e-5 * x], n_in=2)
    assert model.suggest_symbolic((0, 1, 0), X=X)[0].name == "0"
    assert model.suggest_symbolic((0, 0, 0), X=X)[0].name == "sin"


def test_fix_then_unfix_restores_the_spline_exactly():
    model = KAN([2, 3, 1], seed=0)
    X = torch.rand(200, 2) * 2 - 1
    y0 = model(X).detach()
    assert model.fix_symbolic((0, 1, 2), "sin", X=X) is model
    fit = model.symbolic_fits_[EdgeId(0, 1, 2)]
    assert fit.name == "sin" and model.edge_mode((0, 1, 2)) == "symbolic"
    assert not torch.equal(model(X), y0)
    assert model.unfix_symbolic((0, 1, 2)) is model
    assert torch.equal(model(X).detach(), y0)
    assert EdgeId(0, 1, 2) not in model.symbolic_fits_
    model.unfix_symbolic((0, 1, 2))  # a spline edge: nothing to do


def test_fix_without_fit_uses_the_plain_function():
    model = KAN([1, 1], seed=0)
    model.fix_symbolic((0, 0, 0), "x^2", fit=False)
    assert model.symbolic_fits_[(0, 0, 0)][3:] == (1.0, 0.0, 1.0, 0.0)
    x = torch.linspace(-1, 1, 7)[:, None]
    torch.testing.assert_close(model(x), x**2)


def test_forward_equals_activations_with_grouped_symbolic_edges():
    model = KAN([3, 4, 2], seed=1)
    names = ["sin", "x^2", "exp", "tanh", "sin", "gaussian", "x", "arctan", "x^2", "1/x", "log"]
    edges = [e for e in model.edges()][: len(names)]
    for e, name in zip(edges, names):
        model.fix_symbolic(e, name, fit=False)
    with torch.no_grad():
        model.layers[0].sym_affine[:, :, 1] += 0.3  # b: not all zero
    model.prune_edge(edges[4]).prune_edge((1, 3, 1))
    X = torch.rand(64, 3) * 2 - 1
    xs = model.layer_inputs(X)
    for layer, x, acts in zip(model.layers, xs, model.activations(X)):
        torch.testing.assert_close(layer(x), layer.node_scale * acts.sum(-1) + layer.node_bias)
    assert torch.isfinite(model(X)).all()


def test_affine_parameters_keep_training():
    model, X = spline_model([lambda x: torch.sin(3 * x), lambda x: x**2], n_in=2)
    y = torch.sin(3.1 * X[:, :1]) + 1.1 * X[:, 1:] ** 2
    model.auto_symbolic(X=X)
    before = model.layers[0].sym_affine.detach().clone()
    model.fit(X, y, steps=3, update_grid=False, progress=False)
    assert not torch.equal(model.layers[0].sym_affine.detach(), before)
    assert model.history_["train_rmse"][-1] < 1e-3


def test_auto_symbolic_fixes_good_edges_and_keeps_bad_ones():
    model, X = spline_model([lambda x: torch.sin(3 * x), lambda x: x**2], n_in=2)
    assert model.auto_symbolic(X=X) is model
    assert model.layers[0].sym_names == {(0, 0): "sin", (1, 0): "x^2"}
    assert [r["action"] for r in model.auto_symbolic_report_] == ["fixed", "fixed"]
    wiggly = KAN([1, 1], grid=12, seed=3, noise_scale=5.0)
    with pytest.warns(RuntimeWarning, match="left 1 edge"):
        wiggly.auto_symbolic(X=torch.rand(500, 1) * 2 - 1, r2_threshold=0.999)
    assert wiggly.edge_mode((0, 0, 0)) == "spline"


def test_save_load_with_symbolic_edges_and_a_user_function(tmp_path):
    kw.register_function("sinsq", sympy_fn="sin(x)**2", complexity=3)
    try:
        model = KAN([2, 1], seed=0)
        model.fix_symbolic((0, 0, 0), "sinsq", fit=False).fix_symbolic((0, 1, 0), "x^2", fit=False)
        with torch.no_grad():
            model.layers[0].sym_affine[0, 0] = torch.tensor([1.3, 0.2, -0.7, 0.1])
        X = torch.rand(50, 2) * 2 - 1
        y = model(X).detach()
        path = model.save(tmp_path / "m.kan")
        F.unregister_function("sinsq")  # as in a fresh session
        loaded = KAN.load(path)
        assert F.get_function("sinsq").sympy_def == "sin(x)**2"
        torch.testing.assert_close(loaded(X), y)
        assert repr(loaded.symbolic_fits_) == repr(model.symbolic_fits_)  # r2 is NaN: no samples
        assert loaded.layers[0].sym_names == model.layers[0].sym_names
        got = kw.formula(loaded, variables=["x", "y"], digits=3)[0]
        assert sp.expand(got - sp.sympify("-0.7*sin(1.3*x + 0.2)**2 + y**2 + 0.1")) == 0
    finally:
        if "sinsq" in F.LIBRARY:
            F.unregister_function("sinsq")


def test_bad_inputs():
    model = KAN([2, 2, 1], seed=0)
    X = torch.rand(100, 2) * 2 - 1
    with pytest.raises(KeyError, match="Closest: sin"):
        model.fix_symbolic((0, 0, 0), "sinn", X=X)
    with pytest.raises(KeyError, match="Closest"):
        model.suggest_symbolic((0, 0, 0), lib=["x", "exq"], X=X)
    with pytest.raises(IndexError, match="does not exist"):
        model.fix_symbolic((0, 2, 0), "sin", X=X)
    with pytest.raises(RuntimeError, match="needs input samples"):
        model.suggest_symbolic((0, 0, 0))
    model.prune_edge((0, 1, 1))
    with pytest.raises(ValueError, match="pruned"):
        model.fix_symbolic((0, 1, 1), "sin", X=X)
    flat = X.clone()
    flat[:, 0] = 0.3
    with pytest.raises(ValueError, match="constant"):
        model.suggest_symbolic((0, 0, 0), X=flat)
    with pytest.raises(ValueError, match="no samples in range"):
        model.suggest_symbolic((0, 0, 0), X=X + 10)


def test_domain_errors_fall_back_or_fit_safely():
    model, X = spline_model([lambda x: 0.5 * x])
    with pytest.warns(SymbolicDomainWarning, match="outside the domain of 'log'"):
        model.fix_symbolic((0, 0, 0), "log", fit=False, X=X)
    assert torch.isfinite(model(X)).all()
    model.fix_symbolic((0, 0, 0), "log", X=X)  # fitted: a*x + b moved into the domain
    fit = model.symbolic_fits_[(0, 0, 0)]
    assert all(math.isfinite(v) for v in fit[3:]) and fit.r2 > 0.9
    assert (fit.a * X + fit.b).min() > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fix_symbolic((0, 0, 0), "arcsin", X=X)
    assert torch.isfinite(model(X)).all()
