"""Atomic verbs: every public mutating verb completes or leaves the model bitwise as it was,
after injected exceptions, KeyboardInterrupt and non-finite results."""

import warnings

import numpy as np
import pytest
import torch
from tests_bitwise import assert_same, full_state  # noqa: E402  (tests/core/conftest.py)

import kan_widgets.core.grid as grid_mod
import kan_widgets.core.symbolic_edges as sym_mod
import kan_widgets.core.training as training_mod
from kan_widgets import KAN
from kan_widgets.core.functions import LIBRARY
from kan_widgets.core.training import FitDivergedWarning, FitWorsenedWarning
from kan_widgets.core.transaction import NonFiniteError, Snapshot, transaction


@pytest.fixture
def model(fitted, toy):
    m = fitted.copy()
    m.fix_symbolic((1, 0, 0), "x", fit=False)
    m.attribute()
    return m


def _finite(model) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in model.state_dict().values()
               if isinstance(t, torch.Tensor) and t.is_floating_point())


VERBS = {
    "fit": lambda m, d: m.fit(d, steps=2, progress=False),
    "fit_adam": lambda m, d: m.fit(d, steps=2, opt="Adam", lr=1e-2, progress=False),
    "update_grid": lambda m, d: m.update_grid(),
    "refine": lambda m, d: m.refine(8),
    "prune": lambda m, d: m.prune(edge_th=0.5),
    "prune_edge": lambda m, d: m.prune_edge((0, 0, 1)),
    "prune_node": lambda m, d: m.prune_node(1, 2),
    "prune_input": lambda m, d: m.prune_input(1),
    "unprune": lambda m, d: m.prune_edge((0, 1, 1)).unprune(),
    "fix_symbolic": lambda m, d: m.fix_symbolic((0, 0, 0), "sin"),
    "unfix_symbolic": lambda m, d: m.unfix_symbolic((1, 0, 0)),
    "auto_symbolic": lambda m, d: m.auto_symbolic(lib=["x", "x^2", "sin"], r2_threshold=0.0),
    "load_state": lambda m, d: m.load_state(KAN([2, 5, 1], seed=3).state()),
    "swap": lambda m, d: m.swap(1, 0, 4),
    "auto_swap": lambda m, d: m.auto_swap(),
    "load_state_other_width": lambda m, d: m.load_state(KAN([2, [1, 1], 1], seed=3).state()),
    "expand_width": lambda m, d: m.expand_width(1, n=2, kind="mult"),
    "expand_depth": lambda m, d: m.expand_depth(at=1, kind="spline"),
    "perturb": lambda m, d: m.perturb(0.1),
}


@pytest.mark.parametrize("verb", sorted(VERBS))
@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_interrupt_at_the_end_of_every_verb_leaves_the_model_bitwise(model, toy, verb, exc,
                                                                   monkeypatch):
    # every mutating verb calls mark_changed after it has changed the model: failing there
    # is the worst moment, everything is already written
    VERBS[verb](model.copy(), toy)  # the verb itself works
    before = full_state(model)

    def boom():
        raise exc("injected")

    monkeypatch.setattr(model, "mark_changed", boom)
    with pytest.raises(exc, match="injected"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            VERBS[verb](model, toy)
    monkeypatch.undo()
    assert_same(before, full_state(model))


def test_refine_failing_half_way_changes_no_layer(model, monkeypatch):
    before = full_state(model)
    real, calls = grid_mod.update_layer_grid, []

    def second_fails(layer, x, G=None):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(layer, x, G)

    monkeypatch.setattr(training_mod, "update_layer_grid", second_fails)
    with pytest.raises(KeyboardInterrupt):
        model.refine(12)
    assert len(calls) == 2
    assert_same(before, full_state(model))
    monkeypatch.undo()
    model.refine(12)
    assert model.layers[1].G == 12


def test_auto_symbolic_interrupted_in_its_second_layer(model, monkeypatch):
    model.unfix_symbolic((1, 0, 0))
    before = full_state(model)
    real, calls = sym_mod.fit_affine, []

    def second_fails(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(sym_mod, "fit_affine", second_fails)
    with pytest.raises(KeyboardInterrupt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.auto_symbolic(lib=["x", "sin"], r2_threshold=0.0)
    assert len(calls) == 2  # layer 0 was already fixed when the interrupt came
    assert_same(before, full_state(model))


def test_keyboard_interrupt_from_a_fit_callback_restores_the_start(model, toy):
    before = full_state(model)

    def cb(info):
        if info["step"] >= model.history_["step"][0] + 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(toy, steps=20, callback=cb, progress=False)
    assert_same(before, full_state(model))


def test_huge_inputs_give_a_clear_error_and_no_change(model, toy):
    before = full_state(model)
    with pytest.raises(ValueError, match="(?i)rescale the (inputs|data)"):
        model.fit(toy.X_train * 1e30, toy.y_train, steps=2, progress=False)
    assert_same(before, full_state(model))


def test_adam_with_a_huge_lr_never_leaves_nan(fitted, toy):
    m = fitted.copy()
    with pytest.warns(FitDivergedWarning):
        m.fit(toy, steps=5, opt="Adam", lr=1e6, progress=False)
    assert _finite(m)
    assert bool(torch.isfinite(m.predict(toy.X_train)).all())


def test_fit_ending_non_finite_is_rolled_back_to_before_the_call(fitted, toy):
    m = fitted.copy()
    before = full_state(m)
    with pytest.warns(FitDivergedWarning, match="restored to its state before fit"):
        m.fit(toy, steps=20, opt="Adam", lr=1e9, progress=False)
    after = full_state(m)
    # parameters, grids and the log are those before the call (the version moved: fit ran)
    after["version"] = before["version"]
    assert_same(before, after)


def test_a_fit_that_ends_far_worse_warns(fitted, toy):
    m = fitted.copy()
    start = m.score(toy.X_train, toy.y_train)
    with pytest.warns(FitWorsenedWarning, match="far worse than it started"):
        m.fit(toy, steps=8, opt="Adam", lr=1e3, progress=False)
    assert m.score(toy.X_train, toy.y_train) > 10 * start
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWorsenedWarning)
        fitted.copy().fit(toy, steps=3, progress=False)  # an ordinary fit does not warn


def test_collapsed_grid_then_far_inputs_train_to_a_finite_model(toy):
    """Prune both edges into a hidden node, update the grid (it collapses), unprune, train
    on inputs far outside it: the model stays finite, whatever the fit does."""
    m = KAN([2, 2, 1], seed=0).fit(toy, steps=3, progress=False)
    m.prune_edge((0, 0, 0)).prune_edge((0, 1, 0)).update_grid()
    assert float(m.layers[1].knots[0, -4] - m.layers[1].knots[0, 3]) < 1e-3  # collapsed
    m.unprune()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(toy.X_train * 50, toy.y_train, steps=5, progress=False)
    assert _finite(m)
    assert bool(torch.isfinite(m.predict(toy.X_train * 50)).all())


def test_a_non_finite_result_is_refused_and_rolled_back(model, monkeypatch):
    before = full_state(model)
    real, calls = grid_mod.fit_coef, []

    def nan_coef(*a, **kw):  # the last layer's coefficients come out NaN
        calls.append(1)
        return real(*a, **kw) * (float("nan") if len(calls) == model.depth else 1.0)

    monkeypatch.setattr(grid_mod, "fit_coef", nan_coef)
    with pytest.raises(NonFiniteError, match="update_grid produced non-finite values"):
        model.update_grid()
    assert_same(before, full_state(model))


def test_failed_load_state_restores_the_function_table(model):
    st = KAN([2, 5, 1], seed=1).state()
    st["user_functions"] = [{"name": "cube_tx", "sympy_def": "x**3", "complexity": 3}]
    st["state_dict"] = {k: v for k, v in st["state_dict"].items() if k != "layers.1.coef"}
    before, names = full_state(model), list(LIBRARY)
    with pytest.raises((ValueError, KeyError, RuntimeError)):
        model.load_state(st)
    assert_same(before, full_state(model))
    assert list(LIBRARY) == names


def test_nested_transactions_take_one_snapshot_and_the_outer_one_restores(model):
    before = full_state(model)
    with pytest.raises(KeyboardInterrupt):
        with transaction(model, "outer"):
            model.prune_edge((0, 0, 0))  # an inner verb: no snapshot of its own
            assert model.layers[0].mask[0, 0] == 0
            raise KeyboardInterrupt
    assert_same(before, full_state(model))


def test_snapshot_keeps_parameter_objects(model):
    params = list(model.parameters())
    snap = Snapshot(model)
    model.refine(9)
    snap.restore()
    assert all(a is b for a, b in zip(params, model.parameters()))
    assert model.layers[0].G == 5 and model.layers[0].coef.shape[-1] == 8
    out = model.predict(np.zeros((3, 2)))
    assert out.shape == (3, 1) and bool(torch.isfinite(out).all())
