"""DiscoverState: discover on a session's data in the background, the front as points,
loading a candidate as one undoable step, Stop, errors in the message, no training meanwhile."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from kan_widgets import KAN, datasets
from kan_widgets.discovery import search
from kan_widgets.explore.discover import DiscoverState, read_budget
from kan_widgets.explore.session import Session

QUICK = dict(max_models=2, steps=10)  # two runs of the recipe: a few seconds on one core


@pytest.fixture(scope="module")
def product():
    """z = x * y on positive inputs: the log view finds it exactly in its first run."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 2.0, (300, 2))
    return datasets.from_arrays(X, X[:, 0] * X[:, 1], seed=0, variables=["x", "y"],
                                outputs=["z"])


@pytest.fixture(scope="module")
def searched(product):
    """A state whose search ran once (module-wide: the tests below reuse its front)."""
    state = DiscoverState(Session(KAN([2, 3, 1], seed=0), product))
    revisions = []
    state.observe(lambda ch: revisions.append((ch["new"], len(state.candidates()))), "revision")
    state.start(time_budget=30, background=False, **QUICK)
    return state, revisions


def fresh(product, searched):
    """A new session with the searched front (as if it had run there)."""
    model = KAN([2, 3, 1], seed=0)
    state = DiscoverState(Session(model, product))
    state.front = searched[0].front
    return model, state


def bits(state):
    return {k: v.clone() for k, v in state["state_dict"].items() if torch.is_tensor(v)}


def same_bits(a, b):
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
        and torch.equal(a[k].view(torch.uint8), b[k].view(torch.uint8))
        if a[k].is_floating_point() else torch.equal(a[k], b[k]) for k in a)


def test_candidates_arrive_and_the_product_is_on_the_front(searched):
    state, revisions = searched
    assert not state.running and not state.session.discovering and state.progress == 1.0
    # revision moved while candidates arrived, each time with more of them
    counts = [n for _, n in revisions]
    assert counts[0] == 0 and max(counts) >= 1 and counts == sorted(counts)
    points = state.points()
    assert points and [p.index for p in points] == list(range(len(points)))
    assert any(p.formula == "x*y" and p.error < 1e-6 for p in points), points
    assert all(isinstance(p.complexity, int) for p in points)
    assert state.status.startswith("done") and "Discover done" in state.session.message


def test_load_candidate_is_one_undoable_step_and_undo_restores_bitwise(product, searched):
    model, state = fresh(product, searched)
    s = state.session
    before = bits(model.state())
    steps = len(s.undo_history)
    structure = s.structure
    k = next(p.index for p in state.points() if p.formula == "x*y")
    cand = state.load_candidate(k)
    assert s.model is not model and s.model is not cand.model  # a copy goes in
    assert s.model.width == cand.model.width
    assert same_bits(bits(s.model.state()), bits(cand.model.state()))
    assert len(s.undo_history) == steps + 1 and s.structure == structure + 1
    assert s.undo_history.done[-1].label == "loaded candidate: x*y"
    assert s.message.startswith("loaded candidate: x*y")
    assert s.layout.width == cand.model.width
    assert s.layout.node_labels[0] == list(cand.data.variables)
    assert torch.equal(s.X, cand.data.X_train.to(s.model.dtype))
    # the session works on the candidate from here: its loss is the candidate's
    assert s.losses()[0] < 1e-4
    s.undo()
    assert s.model is model and s.model.width == [2, 3, 1]
    assert same_bits(bits(model.state()), before)
    assert torch.equal(s.X, product.X_train.to(model.dtype))
    assert s.layout.node_labels[0] == ["x", "y"] and s.structure == structure + 2
    assert s.message == "undid: loaded candidate: x*y"
    s.redo()
    assert s.model.width == cand.model.width and s.losses()[0] < 1e-4
    s.undo()
    assert s.model is model and same_bits(bits(model.state()), before)


def test_steps_after_a_load_undo_on_the_candidate_then_past_it(product, searched):
    model, state = fresh(product, searched)
    s = state.session
    before = bits(model.state())
    state.load_candidate(0)
    loaded = s.model
    mid = bits(loaded.state())
    s.prune_edge((0, 0, 0))
    assert loaded.edge_mode((0, 0, 0)) == "pruned"
    s.undo()
    assert s.model is loaded and same_bits(bits(loaded.state()), mid)
    s.undo()
    assert s.model is model and same_bits(bits(model.state()), before)


def test_load_candidate_refuses_bad_indices_with_a_message(product, searched):
    model, state = fresh(product, searched)
    n = len(state.points())
    with pytest.raises(IndexError, match=f"from 0 to {n - 1}"):
        state.load_candidate(n)
    assert "load candidate failed" in state.session.message
    with pytest.raises(IndexError):
        state.load_candidate("0")
    empty = DiscoverState(Session(KAN([2, 3, 1], seed=0), product))
    with pytest.raises(ValueError, match="run Discover first"):
        empty.load_candidate(0)
    assert state.session.model is model and len(state.session.undo_history) == 0


def test_stop_returns_the_front_so_far(product):
    state = DiscoverState(Session(KAN([2, 3, 1], seed=0), product))
    # stop as soon as the first candidate arrives (the observer runs in the search thread)
    state.observe(lambda ch: state.candidates() and state.stop(), "revision")
    t0 = time.monotonic()
    thread = state.start(time_budget=600, steps=10)
    assert isinstance(thread, threading.Thread)
    assert state.wait(timeout=120)
    assert time.monotonic() - t0 < 120  # far below the budget: Stop ended it
    front = state.front
    assert front is not None and front.interrupted and len(front.all) >= 1
    assert len(front.all) < len(search.plan(2, [0, 1]))  # not every planned run was made
    assert state.status.startswith("stopped") and not state.session.discovering


def test_an_error_in_the_search_reaches_the_message(product, monkeypatch):
    def broken(*args):
        raise RuntimeError("the recipe broke")

    monkeypatch.setattr(search, "_one_run", broken)
    s = Session(KAN([2, 3, 1], seed=0), product)
    state = DiscoverState(s)
    state.start(time_budget=5, **QUICK)  # in the background: the thread must not lose it
    assert state.wait(timeout=60)
    assert s.message == "discover failed: the recipe broke" and s.message_level == "error"
    assert state.status == "failed: the recipe broke"
    assert not state.running and not s.discovering
    with pytest.raises(RuntimeError, match="the recipe broke"):  # a script sees it raised
        state.start(time_budget=5, background=False, **QUICK)


def test_data_discover_cannot_use_is_refused_in_the_message():
    flat = datasets.from_arrays(np.random.default_rng(0).uniform(size=(50, 2)), np.ones(50),
                                seed=0)
    s = Session(KAN([2, 1], seed=0), flat)
    state = DiscoverState(s)
    state.start(time_budget=5)
    state.wait(timeout=30)
    assert "discover failed" in s.message and "constant" in s.message
    nodata = DiscoverState(Session(KAN([2, 1], seed=0)))
    with pytest.raises(ValueError, match="needs data"):
        nodata.start(time_budget=5)


@pytest.mark.parametrize("text", ["abc", "0", "-1", "nan", "inf", "1e9", ""])
def test_budget_is_read_like_the_other_fields(text):
    with pytest.raises(ValueError, match="time budget"):
        read_budget(text)


def test_budget_accepts_seconds():
    assert read_budget("2.5") == 2.5 and read_budget(60) == 60.0


def test_bad_budget_is_refused_before_anything_runs(product):
    s = Session(KAN([2, 3, 1], seed=0), product)
    state = DiscoverState(s)
    with pytest.raises(ValueError, match="time budget"):
        state.start(time_budget="-3")
    assert "discover failed" in s.message and not s.discovering and state.revision == 0


def test_training_and_discovery_are_not_run_together(product):
    s = Session(KAN([2, 3, 1], seed=0), product)
    state = DiscoverState(s)
    gate = threading.Event()
    release = threading.Event()
    real = search._one_run

    def slow(*args):
        gate.set()
        release.wait(30)
        return real(*args)

    search._one_run = slow
    try:
        state.start(time_budget=30, max_models=1, steps=5)
        assert gate.wait(30) and s.discovering
        with pytest.raises(RuntimeError, match="Discover is running"):
            s.train(steps=2)
        assert "train failed: Discover is running" in s.message
        with pytest.raises(RuntimeError, match="already running"):
            state.start(time_budget=5)
    finally:
        release.set()
        search._one_run = real
    assert state.wait(timeout=60)
    s.train(steps=200, background=True)
    try:
        with pytest.raises(RuntimeError, match="training is running"):
            state.start(time_budget=5)
        assert not s.discovering
    finally:
        s.stop()
        s.wait(30)


def test_a_saved_session_keeps_the_steps_of_the_loaded_model(product, searched, tmp_path):
    model, state = fresh(product, searched)
    s = state.session
    s.prune_edge((0, 0, 0))  # a step on the first model: not saved with the second
    state.load_candidate(0)
    s.fix_symbolic((0, 0, 0), "x")
    path = s.save(tmp_path / "after_load")
    back = Session.load(path)
    assert back.model.width == s.model.width
    assert [st.label for st in back.undo_history.done] == [s.undo_history.done[-1].label]
    back.undo()
    assert back.model.width == s.model.width  # back to the candidate as loaded, not past it
