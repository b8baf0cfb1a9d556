"""Special functions (Bessel, erf, gamma ...) as user functions and in formulas: read as
text, computed by every backend, saved and rebuilt on load."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch

import kan_widgets as kw
from kan_widgets.core import functions as F
from kan_widgets.symbolic import formula, parse_formula, to_callable, to_source

Z = np.array([-2.5, -1.5, -0.5, 0.5, 1.7, 3.2])
ZP = Z[Z > 0]


def test_register_a_bessel_both_ways(cleanup):
    cleanup += ["J0", "J0t"]
    a = kw.register_function("J0", torch.special.bessel_j0, sympy_fn=lambda x: sp.besselj(0, x))
    b = kw.register_function("J0t", sympy_fn="besselj(0, x)")
    assert a.sympy_def == b.sympy_def == "besselj(0, x)"
    z = torch.tensor(Z)
    want = torch.tensor([float(mpmath.besselj(0, v)) for v in Z], dtype=torch.float64)
    torch.testing.assert_close(b.fn(z), want)  # built from the text alone
    torch.testing.assert_close(a.fn(z), want)


@pytest.mark.parametrize("text,ref,domain", [
    ("besselj(1, 2*x)", lambda v: mpmath.besselj(1, 2 * v), Z),
    ("bessely(0, x)", lambda v: mpmath.bessely(0, v), ZP),
    ("bessely(1, x)", lambda v: mpmath.bessely(1, v), ZP),
    ("besseli(0, x) - besseli(1, x)", lambda v: mpmath.besseli(0, v) - mpmath.besseli(1, v), Z),
    ("besselk(1, x) + besselk(0, x)", lambda v: mpmath.besselk(1, v) + mpmath.besselk(0, v), ZP),
    ("erf(x) + erfc(2*x)", lambda v: mpmath.erf(v) + mpmath.erfc(2 * v), Z),
    ("gamma(x)", mpmath.gamma, Z),
    ("loggamma(x)", mpmath.loggamma, ZP),
])
def test_every_backend_computes_the_special_functions(text, ref, domain):
    e = parse_formula(text)
    want = np.array([float(ref(v)) for v in domain])
    np.testing.assert_allclose(to_callable(e, backend="numpy")(domain), want, rtol=1e-6, atol=1e-9)
    got = to_callable(e, backend="torch")(torch.tensor(domain))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-9)  # torch: ~1e-7
    py = to_callable(e, backend="python")
    np.testing.assert_allclose([py(float(v)) for v in domain], want, rtol=1e-9)


def test_torch_source_uses_torch_special():
    src = to_source(parse_formula("besselj(0, 3*x) + besselk(1, x) + erfc(x) + loggamma(x)"),
                    backend="torch")
    for call in ("torch.special.bessel_j0(3*x)", "torch.special.modified_bessel_k1(x)",
                 "torch.special.erfc(x)", "torch.special.gammaln(x)"):
        assert call in src
    ns = {}
    exec(compile(src, "<to_source>", "exec"), ns)  # the generated code runs
    z = torch.tensor([0.7, 1.9], dtype=torch.float64)
    want = [float(mpmath.besselj(0, 3 * v) + mpmath.besselk(1, v) + mpmath.erfc(v)
                  + mpmath.loggamma(v)) for v in (0.7, 1.9)]
    np.testing.assert_allclose(ns["f"](z).numpy(), want, rtol=1e-6)


def test_what_a_backend_lacks_is_refused_clearly(cleanup):
    j2 = parse_formula("besselj(2, x)")
    assert to_callable(j2, backend="python")(1.0) == pytest.approx(float(mpmath.besselj(2, 1)))
    with pytest.raises(ValueError, match="orders 0 and 1 only"):
        to_callable(j2, backend="torch")
    with pytest.raises(ValueError, match="orders 0 and 1 only"):
        kw.register_function("J2", sympy_fn="besselj(2, x)")
    with pytest.raises(ValueError, match="numpy has no besselj"):
        to_source(parse_formula("besselj(0, x)"), backend="numpy")
    with pytest.raises(ValueError, match="torch has no gamma"):
        to_source(parse_formula("gamma(x)"), backend="torch")
    # a torch implementation of your own is fine this session; load cannot rebuild it
    cleanup.append("J2")

    def j2_torch(z):
        j0, j1 = torch.special.bessel_j0(z), torch.special.bessel_j1(z)
        return torch.where(z.abs() > 1e-3, 2 * j1 / torch.where(z == 0, 1.0, z) - j0, z * z / 8)

    with pytest.warns(RuntimeWarning, match="load cannot rebuild"):
        kw.register_function("J2", j2_torch, sympy_fn="besselj(2, x)")


@pytest.mark.parametrize("text,why", [
    ("besselj(0.5, x)", "must be an integer"),
    ("besselj(x, x)", "must be an integer"),
    ("besselj(101, x)", "must be an integer"),
    ("besselj(x)", "takes 2 argument"),
    ("gamma(x, 2)", "takes 1 argument"),
    ("hankel1(0, x)", "unknown function"),
])
def test_the_reader_checks_special_calls(text, why):
    with pytest.raises(ValueError, match=why):
        parse_formula(text)


def test_a_model_with_a_bessel_edge_saves_loads_and_reads_as_besselj(tmp_path, cleanup):
    cleanup.append("J0s")
    kw.register_function("J0s", torch.special.bessel_j0, sympy_fn=lambda x: sp.besselj(0, x))
    X = torch.linspace(-1, 1, 201)[:, None]
    model = kw.KAN([1, 1], grid=40, seed=0).fit(X, torch.special.bessel_j0(20 * X), steps=20,
                                                progress=False)
    model.fix_symbolic(0, 0, 0, "J0s", a_range=(-40, 40))
    assert model.symbolic_fits_[(0, 0, 0)].r2 > 0.99
    expr = formula(model)[0]
    calls = list(expr.atoms(sp.besselj))
    assert len(calls) == 1 and calls[0].args[0] == 0
    assert "besselj(0," in str(expr)
    a = float(calls[0].args[1].coeff(sp.Symbol("x_1")))
    assert abs(abs(a) - 20) < 0.01
    path = model.save(tmp_path / "bessel.kan")
    F.unregister_function("J0s")
    loaded = kw.KAN.load(path)  # J0s rebuilt from its text "besselj(0, x)"
    assert F.get_function("J0s").sympy_def == "besselj(0, x)"
    torch.testing.assert_close(loaded(X), model(X))
    err = float(((loaded.predict(X) - torch.special.bessel_j0(20 * X)) ** 2).mean().sqrt())
    assert err < 0.05
    assert not math.isnan(err)
