"""discover end to end, on easy formulas with tiny budgets: products and ratios through the
log view, scaling folded back exactly, small spreads not pruned away, a formula for every
candidate, interruption and seeds."""

import numpy as np
import pytest
import sympy as sp
import torch

import kan_widgets as kw
from kan_widgets import datasets
from kan_widgets.discovery import search
from kan_widgets.symbolic import to_callable


def _data(f, names, ranges, n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.uniform(lo, hi, n) for lo, hi in ranges])
    return datasets.from_arrays(X, f(*X.T), seed=seed, variables=names, dtype=torch.float64)


def _all_have_formulas(front):
    assert len(front.all) >= 1
    for c in front.all:
        assert isinstance(c.formula, sp.Expr) and np.isfinite(c.error)
        assert all(c.model.edge_mode(e) != "spline" for e in c.model.edges())
        assert c.steps and "formula folded back to the original variables" in c.steps


@pytest.mark.parametrize("truth, names, ranges", [
    (lambda q1, q2, r: q1 * q2 / r**2, ["q1", "q2", "r"], [(1, 3), (1, 3), (0.5, 2)]),
    (lambda mu, N: mu * N, ["mu", "N"], [(0.1, 1), (1, 5)]),
])
def test_products_and_ratios_recovered_through_the_log_view(truth, names, ranges):
    syms = sp.symbols(names)
    want = truth(*syms)
    ds = _data(sp.lambdify(syms, want, "numpy"), names, ranges)
    front = kw.discover(ds, time_budget=120, max_models=1, progress=False)
    _all_have_formulas(front)
    best = front.best
    assert best.view == "log"
    assert sp.simplify(best.formula - want) == 0, best.formula
    assert best.error < 1e-8


def test_rescaled_target_gives_the_rescaled_formula():
    f = lambda a, b: a**2 - 0.5 * np.sin(2 * b)  # noqa: E731
    ds = _data(f, ["a", "b"], [(-1, 1), (-2, 2)])
    big = datasets.Dataset(ds.X_train, 1000 * ds.y_train + 5, ds.X_test, 1000 * ds.y_test + 5,
                           ds.variables, ["big"])
    kws = dict(time_budget=120, max_models=1, use_log=False, progress=False)
    small_f, big_f = kw.discover(ds, **kws).all[0], kw.discover(big, **kws).all[0]
    X = ds.X_test
    got = to_callable(big_f.formula, ["a", "b"])(X.numpy())
    want = 1000 * to_callable(small_f.formula, ["a", "b"])(X.numpy()) + 5
    assert np.allclose(got, want, rtol=1e-7, atol=1e-6)
    assert small_f.error < 1e-6 and abs(big_f.error - small_f.error) < 1e-6


def test_small_spread_is_not_pruned_to_nothing():
    f = lambda a, b: 3.0 + 1e-4 * (a + b**2)  # noqa: E731
    ds = _data(f, ["a", "b"], [(-1, 1), (-1, 1)])
    front = kw.discover(ds, time_budget=120, widths=[[2, 3, 1]], max_models=1, use_log=False, steps=25,
                        progress=False)
    _all_have_formulas(front)
    c = front.all[0]
    assert {s.name for s in c.formula.free_symbols} == {"a", "b"}
    assert c.error < 0.05
    assert any(s.startswith(("pruned at gaps", "pruning at")) for s in c.steps)


def _easy():
    return _data(lambda a, b: 2 * a + b**2, ["a", "b"], [(-1, 1), (-1, 1)], n=300)


def test_same_seed_same_front():
    kws = dict(time_budget=120, max_models=1, use_log=False, progress=False, seed=3)
    one, two = kw.discover(_easy(), **kws), kw.discover(_easy(), **kws)
    assert [str(c.formula) for c in one.all] == [str(c.formula) for c in two.all]
    assert [c.error for c in one.all] == [c.error for c in two.all]


def test_interrupt_returns_the_front_so_far(monkeypatch):
    calls = []
    real = search._one_run

    def flaky(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(search, "_one_run", flaky)
    front = kw.discover(_easy(), time_budget=120, use_log=False, progress=False)
    assert front.interrupted and len(front.all) == 1 and len(calls) == 2
    _all_have_formulas(front)


def test_callback_can_stop_the_search():
    seen = []

    def cb(front, cand):
        seen.append(cand)
        return True

    front = kw.discover(_easy(), time_budget=120, use_log=False, progress=False, callback=cb)
    assert front.interrupted and front.all == seen and len(seen) == 1


def test_stop_callable_ends_the_search_with_the_front_so_far():
    asked = []

    def stop():  # True once the first candidate is in: the search ends before the next run
        asked.append(1)
        return bool(front_seen)

    front_seen = []
    front = kw.discover(_easy(), time_budget=120, use_log=False, progress=False, steps=10,
                        stop=stop, callback=lambda f, c: front_seen.append(c) and False)
    assert front.interrupted and len(front.all) == 1 and len(asked) > 10
    _all_have_formulas(front)
    with pytest.raises(TypeError, match="stop must be a callable"):
        kw.discover(_easy(), stop=True, progress=False)


def test_a_run_whose_model_goes_non_finite_is_skipped_with_a_warning(monkeypatch):
    calls = []
    real = search._one_run

    def overflowing(*args):
        calls.append(1)
        if len(calls) == 1:
            raise kw.NonFiniteError("edge (0, 3, 0): the model's output is not finite")
        return real(*args)

    monkeypatch.setattr(search, "_one_run", overflowing)
    with pytest.warns(RuntimeWarning, match="run 1 .* failed and was skipped: edge"):
        front = kw.discover(_easy(), time_budget=120, use_log=False, progress=False,
                            max_models=2)
    assert len(calls) == 2 and len(front.all) == 1 and not front.interrupted
    _all_have_formulas(front)


def test_the_next_ranked_function_is_fixed_when_the_best_is_refused(monkeypatch):
    from kan_widgets.discovery.symbolize import _fix_first_that_fits

    data = _data(lambda x, y: np.sin(x) + y**2, ["x", "y"], [(-1, 1), (-1, 1)])
    model = kw.KAN([2, 1], seed=0, dtype=torch.float64).fit(data, steps=10, progress=False)
    fits = model.suggest_symbolic((0, 0, 0), topk=3)
    real_fix = type(model).fix_symbolic

    def fussy(self, edge, name, **kw_):
        if name == fits[0].name:
            raise ValueError("fitted parameters overflow torch.float32")
        return real_fix(self, edge, name, **kw_)

    monkeypatch.setattr(type(model), "fix_symbolic", fussy)
    used = _fix_first_that_fits(model, (0, 0, 0), fits, data.X_train[:100])
    assert used is fits[1] and model.edge_mode((0, 0, 0)) == "symbolic"
    with pytest.raises(ValueError, match="no library function could be fixed; .*overflow"):
        _fix_first_that_fits(model, (0, 1, 0), fits[:1], data.X_train[:100])
    assert model.edge_mode((0, 1, 0)) == "spline"
