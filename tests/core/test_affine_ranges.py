"""User search ranges for ``a`` and ``b`` (pykan's ``a_range``, ``b_range``) and pykan's
``(l, i, j)`` spelling of the symbolic verbs."""

import copy
import math

import pytest
import torch

from kan_widgets import KAN
from kan_widgets.core.affine_fit import fit_affine
from kan_widgets.core.functions import register_function, unregister_function


@pytest.fixture
def j0():
    register_function("J0", torch.special.bessel_j0)
    yield "J0"
    unregister_function("J0")


@pytest.fixture(scope="module")
def bessel_kan():
    """A [1, 1] KAN trained on J0(20 x) over [-1, 1]."""
    X = torch.linspace(-1, 1, 401)[:, None]
    return KAN([1, 1], grid=40, k=3, seed=0).fit(X, torch.special.bessel_j0(20 * X), steps=30,
                                                 progress=False)


def test_default_search_misses_a_fast_bessel_and_a_range_finds_it(j0):
    x = torch.linspace(-1, 1, 400, dtype=torch.float64)
    y = 0.7 * torch.special.bessel_j0(20 * x) + 0.1
    plain = fit_affine(x, y, [j0])
    assert float(plain.r2[0, 0]) < 0.5  # the default grid stops at about 12 half-periods
    wide = fit_affine(x, y, [j0, "sin"], a_range=(-40, 40))
    assert float(wide.r2[0, 0]) > 0.9999
    assert abs(abs(float(wide.a[0, 0])) - 20) < 1e-3 and abs(float(wide.b[0, 0])) < 1e-3
    assert abs(abs(float(wide.c[0, 0])) - 0.7) < 1e-3


@pytest.mark.parametrize("a,b", [(33.3, 0.7), (-25.1, -3.1), (7.3, 2.0)])
def test_range_search_recovers_shifted_arguments(j0, a, b):
    x = torch.linspace(-1, 1, 300, dtype=torch.float64)
    fits = fit_affine(x, torch.special.bessel_j0(a * x + b), [j0], a_range=(-40, 40))
    assert float(fits.r2[0, 0]) > 0.9999


def test_range_search_on_off_centre_inputs(j0):
    x = torch.linspace(0.5, 3, 300, dtype=torch.float64)
    fits = fit_affine(x, torch.special.bessel_j0(15 * x - 4), [j0], a_range=(-40, 40))
    assert float(fits.r2[0, 0]) > 0.9999
    # J0 is even: (15, -4) and (-15, 4) are the same function
    assert abs(abs(float(fits.a[0, 0])) - 15) < 1e-3
    assert abs(float(fits.b[0, 0]) * math.copysign(1, float(fits.a[0, 0])) + 4) < 1e-3


def test_results_stay_inside_the_ranges():
    x = torch.linspace(-1, 1, 200, dtype=torch.float64)
    y = torch.sin(9 * x + 1)  # the best sine lies outside the ranges given
    fits = fit_affine(x, y, ["sin", "tanh", "x^2"], a_range=(0.5, 3), b_range=(-0.5, 0.25))
    assert bool(((fits.a >= 0.5) & (fits.a <= 3)).all())
    assert bool(((fits.b >= -0.5) & (fits.b <= 0.25)).all())
    assert float(fits.r2[0, 0]) < 0.9  # so sin cannot fit it well


@pytest.mark.parametrize("bad", [(1, 0), (0, math.inf), "wide", (1, 2, 3), None])
def test_bad_ranges_are_refused(bad):
    x = torch.linspace(-1, 1, 50, dtype=torch.float64)
    if bad is None:
        fits = fit_affine(x, x**2, ["x^2"], b_range=(-1, 1))  # a_range defaults to pykan's
        assert float(fits.r2[0, 0]) > 0.999999
        return
    with pytest.raises(ValueError, match="a_range"):
        fit_affine(x, x**2, ["x^2"], a_range=bad)


def test_kan_edge_trained_on_a_bessel_is_recovered_with_a_range(bessel_kan, j0):
    m = bessel_kan
    plain = m.suggest_symbolic((0, 0, 0), lib=[j0])[0]
    assert plain.r2 < 0.5
    best = m.suggest_symbolic(0, 0, 0, lib=[j0, "sin", "x^2"], a_range=(-40, 40))[0]
    assert best.name == j0 and best.r2 > 0.99
    before = m.score(m.X_fit_, torch.special.bessel_j0(20 * m.X_fit_))
    m2 = copy.deepcopy(m)  # the module fixture stays a spline
    m2.fix_symbolic(0, 0, 0, j0, a_range=(-40, 40))
    assert m2.edge_mode((0, 0, 0)) == "symbolic"
    assert m2.symbolic_fits_[(0, 0, 0)].r2 > 0.99
    after = m2.score(m2.X_fit_, torch.special.bessel_j0(20 * m2.X_fit_))
    assert after < max(10 * before, 1e-3)


def test_auto_symbolic_with_ranges(bessel_kan, j0):
    m = copy.deepcopy(bessel_kan)
    with pytest.warns(RuntimeWarning, match="left 1 edge"):
        copy.deepcopy(m).auto_symbolic(lib=[j0, "sin"])
    m.auto_symbolic(lib=[j0, "sin"], a_range=(-40, 40))
    assert m.auto_symbolic_report_[0]["action"] == "fixed"
    assert m.auto_symbolic_report_[0]["fit"].name == j0


def test_pykan_spelling_of_edges_matches_the_tuple(fitted):
    a, b = copy.deepcopy(fitted), copy.deepcopy(fitted)
    a.fix_symbolic(0, 1, 2, "x^2")
    b.fix_symbolic((0, 1, 2), "x^2")
    assert a.symbolic_fits_ == b.symbolic_fits_
    assert torch.equal(a.layers[0].sym_affine, b.layers[0].sym_affine)
    assert a.suggest_symbolic(1, 0, 0, topk=2) == fitted.suggest_symbolic((1, 0, 0), topk=2)
    with pytest.raises(ValueError, match="a_range"):
        fitted.suggest_symbolic(0, 0, 0, a_range=(3, -3))
    with pytest.raises(IndexError, match="does not exist"):
        fitted.fix_symbolic(0, 7, 0, "x")
