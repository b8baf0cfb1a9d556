"""The function library: torch and sympy agree, safe variants are safe, names are checked."""

import math

import numpy as np
import pytest
import sympy as sp
import torch

import kan_widgets as kw
from kan_widgets.core import functions as F
from kan_widgets.core.affine_fit import fit_affine
from kan_widgets.symbolic.sympy_functions import SYMPY_FUNCTIONS, X, sympy_function

PYKAN_29 = ["0", "x", "x^2", "x^3", "x^4", "x^5", "1/x", "1/x^2", "1/x^3", "1/x^4", "1/x^5", "sqrt",
            "x^0.5", "x^1.5", "1/sqrt(x)", "1/x^0.5", "exp", "log", "abs", "sin", "cos", "tan",
            "tanh", "sgn", "arcsin", "arccos", "arctan", "arctanh", "gaussian"]


def sample_points(name):
    """Points inside the real domain of ``name``, away from its singular points."""
    z = np.array([-0.93, -0.71, -0.45, -0.28, 0.26, 0.41, 0.63, 0.88])
    if name in ("sqrt", "x^0.5", "x^1.5", "1/sqrt(x)", "1/x^0.5", "log"):
        z = np.abs(z) + 0.05
    return z


def test_library_has_pykan_names_plus_extras():
    assert set(PYKAN_29) | {"cosh", "sinh", "sigmoid"} == set(F.BUILTIN_NAMES)
    assert set(F.BUILTIN_NAMES) == set(SYMPY_FUNCTIONS)
    assert "x^0.5" not in F.default_library() and "sqrt" in F.default_library()


@pytest.mark.parametrize("name", sorted(SYMPY_FUNCTIONS))
def test_torch_and_sympy_agree(name):
    f = F.get_function(name)
    z = sample_points(name)
    got = f.fn(torch.tensor(z, dtype=torch.float64)).numpy()
    safe = f.safe_fn(torch.tensor(z, dtype=torch.float64)).numpy()
    expr = sympy_function(name)(X)
    want = np.array([float(sp.N(sp.sympify(expr).subs(X, v))) for v in z])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(safe, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", sorted(SYMPY_FUNCTIONS))
def test_safe_variants_are_finite_with_finite_gradients(name, dtype):
    specials = [0.0, 1e-30, -1e-30, 1e-7, -1e-7, 1.0, -1.0, 1 - 1e-7, -1 + 1e-7, math.pi / 2,
                -math.pi / 2, 3 * math.pi / 2, 25.0, -25.0, 40.0, -40.0]
    z = torch.cat([torch.linspace(-5, 5, 1001, dtype=dtype), torch.tensor(specials, dtype=dtype)])
    z.requires_grad_(True)
    y = F.get_function(name).safe_fn(z)
    assert torch.isfinite(y).all(), z[~torch.isfinite(y)]
    (g,) = torch.autograd.grad(y.sum(), z)
    assert torch.isfinite(g).all(), z[~torch.isfinite(g)]


@pytest.mark.parametrize("name", sorted(SYMPY_FUNCTIONS))
def test_safe_equals_exact_inside_the_domain(name):
    f = F.get_function(name)
    z = torch.linspace(-3, 3, 2001, dtype=torch.float64)
    inside = torch.ones_like(z, dtype=torch.bool) if f.domain is None else f.domain(z)
    exact = f.fn(z)
    inside &= torch.isfinite(exact) & (exact.abs() <= F.SAFE_BOUND)
    assert inside.sum() > 100
    torch.testing.assert_close(f.safe_fn(z)[inside], exact[inside], rtol=1e-12, atol=1e-12)


def test_unknown_name_lists_close_matches():
    with pytest.raises(KeyError, match="Closest: sin"):
        F.get_function("sinn")
    with pytest.raises(KeyError, match="register_function"):
        sympy_function("no_such_function")


def test_register_function_both_sides(cleanup):
    cleanup.append("sinsq")
    f = kw.register_function("sinsq", sympy_fn="sin(x)**2", complexity=3)
    assert f.sympy_def == "sin(x)**2" and "sinsq" in F.default_library()
    z = torch.linspace(-2, 2, 9, dtype=torch.float64)
    torch.testing.assert_close(f.fn(z), torch.sin(z) ** 2)
    assert sympy_function("sinsq")(sp.Symbol("y")) == sp.sin(sp.Symbol("y")) ** 2


def test_register_function_accepts_sympy_lambdas_and_classes(cleanup):
    cleanup += ["lam", "cls", "both"]
    kw.register_function("lam", lambda x: x * sp.exp(-x), complexity=4)  # positional lambda
    kw.register_function("cls", sympy_fn=sp.sinh)
    kw.register_function("both", torch_fn=lambda z: z * torch.sigmoid(z),
                         sympy_fn=lambda x: x / (1 + sp.exp(-x)))
    z = torch.tensor([0.5, -1.0], dtype=torch.float64)
    torch.testing.assert_close(F.get_function("lam").fn(z), z * torch.exp(-z))
    torch.testing.assert_close(F.get_function("cls").fn(z), torch.sinh(z))
    assert F.get_function("both").sympy_def is not None


def test_register_function_rejects_bad_input(cleanup):
    cleanup.append("bad")
    with pytest.raises(ValueError, match="built-in"):
        kw.register_function("sin", sympy_fn="sin(x)")
    with pytest.raises(ValueError, match="disagree"):
        kw.register_function("bad", torch_fn=torch.cos, sympy_fn="sin(x)")
    with pytest.raises(ValueError, match="only the variable x"):
        kw.register_function("bad", sympy_fn="sin(x*y)")
    with pytest.raises(TypeError, match="sympy_fn"):
        kw.register_function("bad", torch_fn=torch.special.erf)
    assert "bad" not in F.LIBRARY


def test_every_builtin_has_its_sympy_text_and_search_spec_in_the_one_table():
    for name in F.BUILTIN_NAMES:
        f = F.get_function(name)
        assert isinstance(f.sympy_def, str) and isinstance(f.search, F.SearchSpec), name
    assert F.get_function("gaussian").sympy_def == "exp(-x**2)"
    assert SYMPY_FUNCTIONS["gaussian"](X) == sp.exp(-(X**2))
    assert F.search_of(F.get_function("sin")).kind == "phase"


def test_user_function_without_search_spec_gets_the_default(cleanup):
    cleanup.append("cube_plus")
    f = kw.register_function("cube_plus", sympy_fn="x**3 + x")
    assert f.search is None and F.search_of(f) is F.DEFAULT_SEARCH
    z = torch.linspace(-1, 1, 50, dtype=torch.float64)
    fit = fit_affine(z, 2.0 * ((0.5 * z + 0.1) ** 3 + 0.5 * z + 0.1) - 1.0, ["cube_plus"])
    assert float(fit.r2[0, 0]) > 0.99


def test_loading_user_functions_without_the_symbolic_layer_says_what_to_import(tmp_path, cleanup):
    cleanup.append("sinsq2")
    kw.register_function("sinsq2", sympy_fn="sin(x)**2")
    model = kw.KAN([1, 1], seed=0)
    model.fix_symbolic((0, 0, 0), "sinsq2", fit=False)
    path = model.save(tmp_path / "m.kan")
    F.unregister_function("sinsq2")
    previous = F.set_definition_compiler(None)
    try:
        with pytest.raises(RuntimeError, match=r"import kan_widgets\.symbolic"):
            kw.KAN.load(path)
        assert "sinsq2" not in F.LIBRARY
    finally:
        F.set_definition_compiler(previous)
    loaded = kw.KAN.load(path)
    z = torch.rand(7, 1) * 2 - 1
    torch.testing.assert_close(loaded(z), model(z))


def test_plain_import_kan_widgets_loads_user_functions_importing_sympy_only_then(tmp_path, cleanup):
    import subprocess
    import sys

    cleanup.append("sinsq3")
    kw.register_function("sinsq3", sympy_fn="sin(x)**2")
    model = kw.KAN([1, 1], seed=0)
    model.fix_symbolic((0, 0, 0), "sinsq3", fit=False)
    path = model.save(tmp_path / "m.kan")
    code = ("import sys, torch, kan_widgets\n"
            "before = 'sympy' in sys.modules\n"
            f"m = kan_widgets.KAN.load({str(path)!r})\n"
            "print(before, float(m(torch.full((1, 1), 0.3)).detach()[0, 0]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, value = out.stdout.split()
    assert before == "False"
    assert float(value) == pytest.approx(float(model(torch.full((1, 1), 0.3)).detach()[0, 0]), rel=1e-6)
