"""Inputs: any array-like is accepted, bad arguments get a clear error, and (property-based)
every call of the public API ends in a clear error with the model unchanged, or a finite model.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests_bitwise import assert_same, full_state  # tests/core/conftest.py

from kan_widgets import KAN

CLEAR = (ValueError, TypeError, KeyError, IndexError)


# ----------------------------------------------------------------------------- array-likes
def test_any_layout_of_inputs_gives_the_same_predictions():
    m = KAN([2, 3, 1], seed=0)
    X = np.random.default_rng(0).random((50, 2))
    want = m.predict(torch.tensor(X, dtype=torch.float32))
    for x in (pd.DataFrame(X), np.asfortranarray(X), torch.tensor(X.T.copy()).T,
              torch.tensor(np.repeat(X, 2, axis=0))[::2], X.tolist(), X.astype(np.float32)):
        got = m.predict(x)
        assert got.shape == (50, 1)
        torch.testing.assert_close(got, want)
    assert m(torch.rand(2, 50).T).shape == (50, 1)  # a transposed tensor, float32
    assert m.predict(np.arange(10).reshape(5, 2)).shape == (5, 1)  # ints


def test_fit_accepts_a_dataframe_and_numpy_integers(toy):
    cols = pd.DataFrame(toy.X_train.numpy(), columns=["a", "b"])
    m = KAN([2, 3, 1], grid=np.int64(4), k=np.int32(3), seed=np.int64(2))
    m.fit(cols, pd.Series(toy.y_train.numpy()[:, 0]), steps=np.int64(2), batch=np.int64(100),
          progress=False)
    assert m.variables_ == ["a", "b"] and len(m.history_["step"]) == 2 and m.grid == 4
    m.refine(np.int64(6))
    assert m.grid == 6


def test_empty_batch_gives_an_empty_output():
    out = KAN([2, 3, 4])(torch.zeros(0, 2))
    assert out.shape == (0, 4)
    assert KAN([2, 1]).predict(np.zeros((0, 2))).shape == (0, 1)
    with pytest.raises(ValueError, match="X is empty"):
        KAN([2, 1]).fit(np.zeros((0, 2)), np.zeros(0), steps=1, progress=False)


@pytest.mark.parametrize("dtype, want", [("float32", torch.float32), ("float64", torch.float64),
                                         ("double", torch.float64), (np.float64, torch.float64),
                                         (torch.float64, torch.float64)])
def test_dtype_by_name(dtype, want):
    m = KAN([2, 1], dtype=dtype)
    assert m.dtype == want and m(torch.zeros(3, 2, dtype=want)).dtype == want


@pytest.mark.parametrize("dtype", ["int32", "complex64", torch.int64, "floaty", 3])
def test_bad_dtype_is_refused_clearly(dtype):
    with pytest.raises(TypeError, match="dtype"):
        KAN([2, 1], dtype=dtype)


def test_large_seeds_work_and_out_of_range_ones_are_refused(toy):
    for seed in (2**44, 2**62):
        KAN([2, 2, 1], seed=seed).fit(toy, steps=1, batch=100, progress=False)
    for seed in (-1, 2**63, 1.5):
        with pytest.raises(ValueError, match="seed must be an int"):
            KAN([2, 1], seed=seed)


@pytest.mark.parametrize("kw, match", [
    (dict(lr=0), "lr must be > 0"),
    (dict(lr=-1.0), "lr must be > 0"),
    (dict(lr=float("nan")), "lr must be a finite number"),
    (dict(lr=1e30), "lr must be <= 1000"),
    (dict(batch=0), "batch must be -1"),
    (dict(batch=-2), "batch must be -1"),
    (dict(batch=1.5), "batch must be an int"),
    (dict(lamb=-1), "lamb must be >= 0"),
    (dict(lamb=float("nan")), "lamb must be a finite number"),
    (dict(lamb_entropy=float("inf")), "lamb_entropy must be a finite number"),
    (dict(steps=2.0), "steps must be an int"),
    (dict(grid_update_num=0.5), "grid_update_num must be an int"),
    (dict(opt="sgd"), "unknown optimizer"),
    (dict(loss_fn=3), "loss_fn must be callable"),
    (dict(loss="hinge"), "unknown loss 'hinge'"),
    (dict(loss="mse", loss_fn=torch.nn.functional.mse_loss), "not both"),
])
def test_bad_fit_arguments_are_refused_before_anything_changes(fitted, toy, kw, match):
    m = fitted.copy()
    before = full_state(m)
    with pytest.raises(CLEAR, match=match):
        m.fit(toy, **{"steps": 1, "progress": False, **kw})
    assert_same(before, full_state(m))


def test_adam_accepts_a_huge_lr_and_lbfgs_overflow_is_a_divergence(fitted, toy):
    m = fitted.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(toy, steps=2, opt="Adam", lr=1e30, progress=False)
        m.fit(toy, steps=2, lr=1e3, progress=False)
    assert bool(torch.isfinite(m.predict(toy.X_train)).all())


@pytest.mark.parametrize("kw, match", [
    (dict(noise_scale=float("nan")), "noise_scale must be a finite number"),
    (dict(noise_scale=-1), "noise_scale must be >= 0"),
    (dict(scale_base_sigma=float("inf")), "scale_base_sigma"),
    (dict(grid_range=(0, float("inf"))), "grid_range must be a finite number"),
    (dict(grid_range=(0,)), r"grid_range must be \(low, high\)"),
    (dict(grid_eps=float("nan")), "grid_eps must be a finite number"),
])
def test_bad_construction_arguments(kw, match):
    with pytest.raises(CLEAR, match=match):
        KAN([2, 1], **kw)


def test_duplicated_variable_names_are_refused(fitted, toy):
    df = pd.DataFrame(toy.X_train.numpy(), columns=["x", "x"])
    m = fitted.copy()
    before = full_state(m)
    with pytest.raises(ValueError, match=r"input names must be distinct; \['x'\]"):
        m.fit(df, toy.y_train, steps=1, progress=False)
    assert_same(before, full_state(m))


def test_values_too_large_for_float32_are_named_as_such():
    with pytest.raises(ValueError, match="too large for torch.float32"):
        KAN([2, 1]).predict(np.full((3, 2), 1e300))


def test_compact_with_every_edge_pruned_is_a_constant_model(fitted, toy):
    m = fitted.copy()
    for e in m.edges():
        m.prune_edge(e)
    c = m.compact()
    x = toy.X_test[:20]
    torch.testing.assert_close(c.predict(x), m.predict(x))
    assert c.width[0] == 2 and c.width[-1] == 1
    assert float(c.predict(x).std()) == 0.0


# ----------------------------------------------------------------------------- properties
def _numbers():
    return st.one_of(st.integers(-3, 30), st.floats(allow_nan=True, allow_infinity=True),
                     st.sampled_from([0, -1, 1e-3, 0.5, 1e30, np.int64(3), np.float32(0.1)]))


def _anything():
    return st.one_of(_numbers(), st.none(), st.text(max_size=4), st.booleans(),
                     st.tuples(st.integers(-2, 6), st.integers(-2, 6), st.integers(-2, 6)),
                     st.lists(st.integers(-2, 4), max_size=3))


CALLS = {
    "fit": lambda m, d, a, b: m.fit(d, steps=1, batch=a if isinstance(a, int) else -1, lr=b,
                                    progress=False),
    "fit_adam": lambda m, d, a, b: m.fit(d, steps=2, opt="Adam", lr=b, lamb=a, progress=False),
    "fit_X": lambda m, d, a, b: m.fit(d.X_train * b, d.y_train, steps=1, progress=False),
    "refine": lambda m, d, a, b: m.refine(a),
    "update_grid": lambda m, d, a, b: m.update_grid(d.X_train[:40] * b),
    "prune": lambda m, d, a, b: m.prune(node_th=a, edge_th=b),
    "prune_edge": lambda m, d, a, b: m.prune_edge(a),
    "prune_node": lambda m, d, a, b: m.prune_node(a, b),
    "prune_input": lambda m, d, a, b: m.prune_input(a),
    "unprune": lambda m, d, a, b: m.unprune(a),
    "fix_symbolic": lambda m, d, a, b: m.fix_symbolic(a, b),
    "fix_named": lambda m, d, a, b: m.fix_symbolic((0, 0, 0), "sin", X=d.X_train[:50] * b),
    "unfix_symbolic": lambda m, d, a, b: m.unfix_symbolic(a),
    "auto_symbolic": lambda m, d, a, b: m.auto_symbolic(lib=["x", "sin"], r2_threshold=b),
    "attribute": lambda m, d, a, b: m.attribute(d.X_train[:30] * b),
}


@settings(max_examples=60, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(calls=st.lists(st.tuples(st.sampled_from(sorted(CALLS)), _anything(), _anything()),
                      min_size=1, max_size=4))
def test_every_call_ends_in_a_clear_error_with_no_change_or_a_finite_model(fitted, toy, calls):
    m = fitted.copy()
    for name, a, b in calls:
        before = full_state(m)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                CALLS[name](m, toy, a, b)
        except CLEAR as err:
            assert str(err), f"{name}({a!r}, {b!r}) raised {type(err).__name__} without a message"
            assert_same(before, full_state(m))
        else:
            for key, t in m.state_dict().items():
                if isinstance(t, torch.Tensor) and t.is_floating_point():
                    assert bool(torch.isfinite(t).all()), f"{name}({a!r}, {b!r}): {key} not finite"
