"""Session races: check-and-act in one critical section, ``wait`` always waits, an interrupted
undo changes nothing, and a thread storm against background training."""

from __future__ import annotations

import random
import threading
import time
import warnings

import pytest
import torch

from kan_widgets import KAN, datasets
from kan_widgets.explore import Session


def _same(a: dict, b: dict):
    assert a["grids"] == b["grids"] and a["state_dict"].keys() == b["state_dict"].keys()
    for k, v in a["state_dict"].items():
        w = b["state_dict"][k]
        assert (v == w) if k.endswith("_extra_state") else torch.equal(v, w), f"{k} differs"
    assert a["symbolic_fits"] == b["symbolic_fits"] and a["history"] == b["history"]


@pytest.fixture
def small():
    f = lambda X: torch.sin(2 * X[:, 0]) + X[:, 1] ** 2  # noqa: E731
    data = datasets.from_function(f, n_var=2, ranges=(-1, 1), n_train=200, n_test=50, seed=0)
    model = KAN([2, 3, 1], grid=4, seed=0).fit(data, steps=3, progress=False)
    return Session(model, data, max_history=100_000)


def test_wait_while_train_is_starting_waits_instead_of_raising(small):
    done = threading.Event()
    small.training = True  # what train() has set before it starts its thread
    small._thread = threading.Thread(target=done.wait)
    assert small.wait(0.05) is False  # not started yet: waits, no "cannot join" error
    small._thread.start()

    def finish():
        time.sleep(0.1)
        small.training = False
        done.set()

    threading.Thread(target=finish).start()
    t0 = time.monotonic()
    assert small.wait(10) is True and time.monotonic() - t0 >= 0.05


def test_a_command_refused_while_training_starts_inside_the_lock(small):
    # training is flagged while this thread holds the lock: the check happens under it
    with small.lock:
        small.training = True
        with pytest.raises(RuntimeError, match="training is running"):
            small.prune_edge((0, 0, 0))
        small.training = False
    assert small.model.edge_mode((0, 0, 0)) == "spline" and not small.can_undo


def test_interrupted_undo_leaves_model_and_history_unchanged(small, monkeypatch):
    small.prune_edge((0, 0, 0))
    before, n = small.model.state(), len(small.undo_history)

    def boom():
        raise KeyboardInterrupt

    monkeypatch.setattr(small.model, "mark_changed", boom)  # inside the restoring load_state
    with pytest.raises(KeyboardInterrupt):
        small.undo()
    monkeypatch.undo()
    _same(small.model.state(), before)
    assert len(small.undo_history) == n and not small.undo_history.can_redo
    small.undo()
    assert small.model.edge_mode((0, 0, 0)) == "spline" and small.can_redo


BUSY = ("training is running", "training is already running")


def _command(s: Session, rng: random.Random):
    e = (rng.randrange(2), rng.randrange(3), 0) if rng.random() < 0.5 else \
        (0, rng.randrange(2), rng.randrange(3))
    return rng.choice([
        lambda: s.train(steps=rng.randint(2, 15), opt="Adam", lr=0.01, background=True),
        lambda: s.train(steps=2, opt="LBFGS", background=True),
        lambda: s.stop(),
        lambda: s.wait(0.2),
        lambda: s.prune_edge(e),
        lambda: s.unprune(e),
        lambda: s.fix_symbolic(e, rng.choice(["x", "x^2", "sin"])),
        lambda: s.unfix_symbolic(e),
        lambda: s.refine(rng.randint(3, 6)),
        lambda: s.undo(),
        lambda: s.redo(),
        lambda: s.select(e),
        lambda: s.losses(),
    ])


def test_thread_storm_against_background_training(small):
    start = small.model.state()
    errors, counts = [], {"ok": 0, "busy": 0, "clear": 0}
    stop_at = time.monotonic() + 6.0

    def worker(seed):
        rng = random.Random(seed)
        while time.monotonic() < stop_at:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    _command(small, rng)()
                counts["ok"] += 1
            except RuntimeError as err:
                if any(b in str(err) for b in BUSY):
                    counts["busy"] += 1
                else:
                    errors.append(err)
            except (ValueError, KeyError, IndexError) as err:  # clear refusals (pruned edge...)
                assert str(err)
                counts["clear"] += 1
            except BaseException as err:  # noqa: BLE001 - anything else fails the test
                errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    small.stop()
    assert small.wait(60)
    assert not errors, errors[:3]
    assert counts["ok"] > 20, counts
    for k, v in small.model.state_dict().items():
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            assert bool(torch.isfinite(v).all()), k
    while small.undo_history.can_undo:
        small.undo()
    _same(small.model.state(), start)
