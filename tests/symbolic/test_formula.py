"""Formula extraction, rounding, LaTeX and export."""

import numpy as np
import pytest
import sympy as sp
import torch

import kan_widgets as kw
from kan_widgets import KAN
from kan_widgets.core.functions import BUILTIN_NAMES
from kan_widgets.symbolic import clean, round_numbers, snap_constants, to_callable, to_source

# (a, b) per function keeping a*x + b, x in [-1, 1], inside the domain and away from poles
AFFINE = {"1/x": (0.7, 2.0), "1/x^2": (0.7, 2.0), "1/x^3": (0.7, 2.0), "1/x^4": (0.7, 2.0),
          "1/x^5": (0.7, 2.0), "sqrt": (0.7, 1.5), "x^0.5": (0.7, 1.5), "x^1.5": (0.7, 1.5),
          "1/sqrt(x)": (0.7, 1.5), "1/x^0.5": (0.7, 1.5), "log": (0.7, 1.5),
          "arcsin": (0.5, 0.1), "arccos": (0.5, 0.1), "arctanh": (0.5, 0.1)}


def one_edge_model(name, dtype):
    model = KAN([1, 1], seed=0, dtype=dtype)
    model.fix_symbolic((0, 0, 0), name, fit=False)
    a, b = AFFINE.get(name, (0.7, 0.1))
    layer = model.layers[0]
    with torch.no_grad():
        layer.sym_affine[0, 0] = torch.tensor([a, b, -1.3, 0.4], dtype=dtype)
        layer.node_scale.fill_(0.8)
        layer.node_bias.fill_(-0.25)
    return model


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_formula_equals_model_for_every_function(name):
    X = torch.rand(300, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 2e-6)):
        model = one_edge_model(name, dtype)
        for simplify in (True, False):
            (expr,) = kw.formula(model, simplify=simplify)
            got = to_callable(expr, variables=["x_1"])(X.numpy())
            want = model(X.to(dtype)).detach().double().numpy()[:, 0]
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_deep_model_with_pruned_edges_matches():
    model = KAN([3, 4, 2], seed=2, dtype=torch.float64)
    names = ["sin", "x^2", "exp", "tanh", "gaussian", "x", "arctan", "cos", "x^3", "sigmoid"]
    for n, e in enumerate(model.edges()):
        model.fix_symbolic(e, names[n % len(names)], fit=False)
    with torch.no_grad():
        for layer in model.layers:
            layer.sym_affine.mul_(0.5).add_(0.1)
            layer.node_bias.fill_(0.3)
    model.prune_edge((0, 1, 2)).prune_edge((1, 3, 0))
    X = torch.rand(200, 3, dtype=torch.float64) * 2 - 1
    exprs = kw.formula(model, variables=["a", "b", "c"])
    assert len(exprs) == 2
    got = to_callable(exprs, variables=["a", "b", "c"])(X.numpy())
    np.testing.assert_allclose(got, model(X).detach().numpy(), rtol=1e-10, atol=1e-10)


def test_affine_clutter_simplifies_to_a_polynomial():
    x = sp.Symbol("x")
    expr = clean(sp.Float(0.0124) * (sp.Float(-8.98) * x - sp.Float(0.0002)) ** 2)
    assert not any(isinstance(a, sp.Pow) and a.base.is_Add for a in sp.preorder_traversal(expr))
    assert sp.Poly(expr, x).degree() == 2
    assert str(round_numbers(expr, 3)) == "1.0*x**2" or str(round_numbers(expr, 3)) == "x**2"
    e = clean(sp.Float(2.0) * sp.exp(sp.Float(0.5) + x**2))  # constants leave exp
    assert e.args[1] == sp.exp(x**2) or sp.exp(x**2) in e.args


def test_digits_round_and_drop_tiny_terms():
    model = KAN([2, 1], seed=0, dtype=torch.float64)
    model.fix_symbolic((0, 0, 0), "sin", fit=False).fix_symbolic((0, 1, 0), "x^2", fit=False)
    with torch.no_grad():
        model.layers[0].sym_affine[0, 0] = torch.tensor([3.14159265, 1e-7, 1.0000001, 0.0])
        model.layers[0].sym_affine[1, 0] = torch.tensor([1.0, 2e-6, 0.9999999, 3e-6])
    (e,) = kw.formula(model, variables=["x", "y"], digits=4)
    assert str(e) == "y**2 + sin(3.1416*x)"
    assert snap_constants(e) == sp.sympify("y**2 + sin(pi*x)")
    (raw,) = kw.formula(model, variables=["x", "y"])
    assert raw.atoms(sp.Float)  # nothing rounded without digits


def test_paper_toy_shape_prints_cleanly():
    model = KAN([2, 1, 1], seed=0, dtype=torch.float64)
    model.fix_symbolic((0, 0, 0), "sin", fit=False).fix_symbolic((0, 1, 0), "x^2", fit=False)
    model.fix_symbolic((1, 0, 0), "exp", fit=False)
    with torch.no_grad():  # the hidden node carries scale -0.5 and offset 0.3; exp undoes them
        model.layers[0].sym_affine[0, 0] = torch.tensor([torch.pi, 0.0, -0.5, 0.1])
        model.layers[0].sym_affine[1, 0] = torch.tensor([1.0, 0.0, -0.5, 0.2])
        model.layers[1].sym_affine[0, 0] = torch.tensor([-2.0, 0.6, 1.0, 0.0])
    (e,) = kw.formula(model, variables=["x", "y"], digits=4)
    assert str(e) == "exp(y**2 + sin(3.1416*x))"


def test_unfixed_edges_are_named():
    model = KAN([2, 2, 1], seed=0)
    model.fix_symbolic((0, 0, 0), "x", fit=False)
    model.prune_edge((0, 1, 1))
    with pytest.raises(ValueError, match=r"4 live edge\(s\) are still splines.*\(0, 0, 1\)"):
        kw.formula(model)


def test_default_variables_and_latex():
    model = KAN([2, 1], seed=0)
    for e in model.edges():
        model.fix_symbolic(e, "x", fit=False)
    assert {s.name for s in kw.formula(model)[0].free_symbols} == {"x_1", "x_2"}
    model.variables_ = ["mass", "speed"]
    assert {s.name for s in kw.formula(model)[0].free_symbols} == {"mass", "speed"}
    (tex,) = kw.latex(model, digits=2)
    assert "mass" in tex and isinstance(tex, str)
    with pytest.raises(ValueError, match="3 variable names"):
        kw.formula(model, variables=["a", "b", "c"])


def test_export_backends_agree():
    x, y = sp.symbols("x y")
    exprs = [sp.Float(1.5) * sp.exp(sp.sin(sp.pi * x) + y**2) + sp.Abs(y) + sp.sqrt(2) * x,
             sp.Integer(3)]
    X = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    ref = to_callable(exprs, ["x", "y"])(X)
    assert ref.shape == (20, 2) and np.all(ref[:, 1] == 3)
    tref = to_callable(exprs, ["x", "y"], backend="torch")(torch.tensor(X))
    np.testing.assert_allclose(tref.numpy(), ref, rtol=1e-12)
    py = to_callable(exprs[0], ["x", "y"], backend="python")
    assert py(*X[3]) == pytest.approx(ref[3, 0], rel=1e-12)
    np.testing.assert_allclose(to_callable(exprs[0])(X[:, 0], X[:, 1]), ref[:, 0])
    for backend in ("numpy", "torch", "python"):
        ns = {}
        exec(to_source(exprs[0], ["x", "y"], backend=backend, name="g"), ns)  # noqa: S102
        arg = torch.tensor(X[3]) if backend == "torch" else X[3]
        assert float(ns["g"](*arg)) == pytest.approx(ref[3, 0], rel=1e-12)
    with pytest.raises(ValueError, match="not in variables"):
        to_callable(exprs[0], variables=["x"])
    with pytest.raises(ValueError, match="unknown backend"):
        to_callable(exprs[0], backend="jax")
