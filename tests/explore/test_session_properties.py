"""Property-based: generated command sequences on a ``Session`` end each command in a clear
error with the model unchanged or a finite model, and undo-all returns to the start bit for bit."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kan_widgets import KAN, datasets
from kan_widgets.explore import Session

EDGES = st.tuples(st.integers(-1, 2), st.integers(-1, 3), st.integers(-1, 2))
COMMANDS = st.one_of(
    st.tuples(st.just("prune_edge"), EDGES),
    st.tuples(st.just("unprune"), EDGES),
    st.tuples(st.just("fix_symbolic"), EDGES, st.sampled_from(["x", "x^2", "sin", "nope", ""])),
    st.tuples(st.just("unfix_symbolic"), EDGES),
    st.tuples(st.just("refine"), st.sampled_from([3, 6, 0, -2, 2.5, "7"])),
    st.tuples(st.just("prune"), st.sampled_from([0.0, 0.05, 0.5, -1.0, float("nan")])),
    st.tuples(st.just("train"), st.sampled_from([1, 2, 0, -1]),
              st.sampled_from([1e-2, 1e3, 0.0, float("inf")])),
    st.tuples(st.just("undo")),
    st.tuples(st.just("redo")),
)


def _run(s: Session, cmd):
    name, *args = cmd
    if name == "prune":
        return s.prune(edge_th=args[0])
    if name == "train":
        return s.train(steps=args[0], opt="Adam", lr=args[1])
    if name == "fix_symbolic":
        return s.fix_symbolic(args[0], args[1])
    return getattr(s, name)(*args)


def _state(model):
    return {k: v.clone() if isinstance(v, torch.Tensor) else v
            for k, v in model.state_dict().items()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] == b[k]) if not isinstance(a[k], torch.Tensor) else torch.equal(a[k], b[k]), k


@pytest.fixture(scope="module")
def base():
    f = lambda X: torch.sin(2 * X[:, 0]) + X[:, 1] ** 2  # noqa: E731
    data = datasets.from_function(f, n_var=2, ranges=(-1, 1), n_train=150, n_test=30, seed=0)
    return KAN([2, 3, 1], grid=4, seed=0).fit(data, steps=3, progress=False), data


@settings(max_examples=30, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cmds=st.lists(COMMANDS, min_size=1, max_size=6))
def test_command_sequences_are_atomic_and_undo_all_returns_to_the_start(base, cmds):
    model, data = base
    s = Session(model.copy(), data, max_history=1000)
    start = _state(s.model)
    for cmd in cmds:
        before, n = _state(s.model), len(s.undo_history)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _run(s, cmd)
        except (ValueError, TypeError, KeyError, IndexError) as err:
            assert str(err), cmd
            _assert_same(before, _state(s.model))
            assert len(s.undo_history) == n, cmd
        for k, v in s.model.state_dict().items():
            if isinstance(v, torch.Tensor) and v.is_floating_point():
                assert bool(torch.isfinite(v).all()), (cmd, k)
    while s.undo_history.can_undo:
        s.undo()
    _assert_same(start, _state(s.model))
