"""The thread policy: scoped to each verb, restored afterwards, user choices win, re-entrant,
and safe when two Python threads use the library at once."""

import inspect
import os
import subprocess
import sys
import threading

import pytest
import torch

import kan_widgets as kw
from kan_widgets import KAN
from kan_widgets.core import threads


@pytest.fixture(autouse=True)
def automatic(monkeypatch):
    """Every test starts from the automatic policy, whatever the environment says."""
    for var in ("KW_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    old = kw.set_threads(None)
    yield
    kw.set_threads(old)


@pytest.fixture
def xy():
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(200, 2, generator=gen) * 2 - 1
    return X, torch.sin(3 * X[:, :1]) + X[:, 1:] ** 2


def other_than(n):
    """A thread count different from ``n`` (so restoring it is observable on any machine)."""
    return 1 if n != 1 else 2


def fit_seen(model, X, y, steps=2, **kw_fit):
    """Thread counts observed from inside fit's callback, one per step."""
    seen = []
    model.fit(X, y, steps=steps, progress=False,
              callback=lambda info: seen.append(torch.get_num_threads()), **kw_fit)
    return seen


def test_small_fit_runs_on_one_thread_and_restores(xy):
    before = torch.get_num_threads()
    seen = fit_seen(KAN([2, 3, 1], seed=0), *xy)
    assert seen == [1, 1]
    assert torch.get_num_threads() == before


def test_every_verb_restores_the_setting(xy):
    X, y = xy
    before = torch.get_num_threads()
    m = KAN([2, 3, 1], seed=0).fit(X, y, steps=2, progress=False)
    for verb in (lambda: m(X), lambda: m.predict(X), lambda: m.layer_inputs(X),
                 lambda: m.activations(X), lambda: m.update_grid(X),
                 lambda: m.refine(7), lambda: m.suggest_symbolic((0, 0, 0)),
                 lambda: m.fix_symbolic((0, 0, 0), "sin"), lambda: m.attribute(),
                 lambda: m.auto_symbolic(r2_threshold=0), lambda: m.prune()):
        kw.set_threads(other_than(before))
        verb()
        assert torch.get_num_threads() == before
    kw.set_threads(None)


@pytest.mark.parametrize("exc", [ValueError("boom"), KeyboardInterrupt()])
def test_restored_after_an_exception_from_a_callback(xy, exc):
    X, y = xy
    before = torch.get_num_threads()
    inside = other_than(before)
    kw.set_threads(inside)
    seen = []

    def callback(info):
        seen.append(torch.get_num_threads())
        raise exc

    with pytest.raises(type(exc)):
        KAN([2, 3, 1], seed=0).fit(X, y, steps=3, progress=False, callback=callback)
    assert seen == [inside]
    assert torch.get_num_threads() == before
    assert getattr(threads._local, "depth", 0) == 0 and threads._active == 0
    # and the next verb decides afresh
    kw.set_threads(None)
    assert fit_seen(KAN([2, 3, 1], seed=0), X, y, steps=1) == [1]


def test_set_threads_and_env_var_win(xy, monkeypatch):
    X, y = xy
    before = torch.get_num_threads()
    monkeypatch.setenv("KW_NUM_THREADS", "3")
    assert fit_seen(KAN([2, 3, 1], seed=0), X, y) == [3, 3]
    assert kw.set_threads(2) is None and kw.get_threads() == 2
    assert fit_seen(KAN([2, 3, 1], seed=0), X, y) == [2, 2]  # the API beats the env var
    assert kw.set_threads(None) == 2
    monkeypatch.setenv("KW_NUM_THREADS", "lots")
    with pytest.raises(ValueError, match="KW_NUM_THREADS must be an int >= 1"):
        KAN([2, 3, 1], seed=0).fit(X, y, steps=1, progress=False)
    assert torch.get_num_threads() == before
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="set_threads"):
            kw.set_threads(bad)


def test_user_torch_setting_wins(xy, monkeypatch):
    """A torch.set_num_threads call after the import (in a child process: this one's setting
    is not the test's to change), and OMP_NUM_THREADS, are left alone."""
    script = (
        "import torch, kan_widgets as kw\n"
        "n = torch.get_num_threads() + 1\n"
        "torch.set_num_threads(n)\n"
        "X = torch.rand(100, 2); y = X[:, :1] ** 2\n"
        "seen = []\n"
        "kw.KAN([2, 3, 1]).fit(X, y, steps=1, progress=False,\n"
        "                     callback=lambda i: seen.append(torch.get_num_threads()))\n"
        "print(n, seen[0], torch.get_num_threads())\n"
    )
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "KW_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    n, inside, after = map(int, out)
    assert inside == n and after == n
    # OMP_NUM_THREADS set: torch's setting is used as it is (the policy alone gives this small
    # fit one thread; on a one-core machine both are 1)
    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", str(before))
    assert fit_seen(KAN([2, 3, 1], seed=0), *xy) == [before, before]
    assert torch.get_num_threads() == before


def test_scope_for_work_outside_the_model(xy):
    X, y = xy
    before = torch.get_num_threads()
    with threads.scope("fit", 10):
        assert torch.get_num_threads() == 1  # small work
        assert fit_seen(KAN([2, 3, 1], seed=0), X, y, steps=1) == [1]  # nested: no change
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(KeyboardInterrupt), threads.scope("fit", 10):
        raise KeyboardInterrupt
    assert torch.get_num_threads() == before and threads._active == 0
    with pytest.raises(ValueError, match="unknown verb kind"), threads.scope("train", 10):
        pass


def test_nested_verbs_set_once(xy, monkeypatch):
    X, y = xy
    before = torch.get_num_threads()
    kw.set_threads(other_than(before))
    calls = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (calls.append(n), real(n)))
    m = KAN([2, 3, 1], seed=0)

    def callback(info):  # verbs inside a verb: no change of the setting
        info["model"].predict(X)
        info["model"].attribute()
        info["model"](X)

    m.fit(X, y, steps=3, progress=False, callback=callback)  # update_grid runs inside too
    assert calls == [other_than(before), before]
    assert torch.get_num_threads() == before


def test_backward_of_a_forward_outside_verbs_is_scoped(xy):
    """A user's own loop: ``model(x)...backward()`` runs its backward on the forward's count."""
    X, _ = xy
    before = torch.get_num_threads()
    kw.set_threads(other_than(before))
    m = KAN([2, 3, 1], seed=0)
    seen = []
    m.layers[0].coef.register_hook(lambda g: seen.append(torch.get_num_threads()))
    m(X).pow(2).sum().backward()
    assert seen == [other_than(before)]
    assert torch.get_num_threads() == before

    class Fails(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a.clone()

        @staticmethod
        def backward(ctx, g):
            raise ArithmeticError("backward failed")

    with pytest.raises(ArithmeticError):
        Fails.apply(m(X)).sum().backward()
    m.predict(X)  # the next verb puts the caller's setting back
    assert torch.get_num_threads() == before
    kw.set_threads(None)


def test_policy_scales_with_work(monkeypatch):
    monkeypatch.setattr(threads, "_cpus", lambda: 8)
    monkeypatch.setattr(threads, "_others_running", lambda: 0)
    monkeypatch.setattr(threads, "_import_threads", 8)
    t = threads.THRESHOLDS["fit"]
    assert threads.chosen_threads("fit", t - 1, current=8) == 1
    assert threads.chosen_threads("fit", t, current=8) == 2
    assert threads.chosen_threads("fit", 100 * t, current=8) == 8
    assert threads.chosen_threads("fit", 100 * t, current=4) == 4  # a ceiling set before import
    monkeypatch.setattr(threads, "_others_running", lambda: 5)  # a busy machine: cores left
    assert threads.chosen_threads("fit", 100 * t, current=8) == 3
    monkeypatch.setattr(threads, "_others_running", lambda: 20)
    assert threads.chosen_threads("fit", 100 * t, current=8) == 1


def test_work_measure(xy):
    X, y = xy
    m = KAN([2, 3, 1], grid=5, k=3, seed=0)
    coefs = (2 * 3 + 3 * 1) * (5 + 3 + 1)
    assert threads.work_of(m, "forward", (X,), {}) == 200 * coefs
    assert threads.work_of(m, "fit", (X, y), {"batch": 50}) == 50 * coefs
    assert threads.work_of(m, "fit", ({"train_input": X},), {}) == 200 * coefs
    m.fit(X, y, steps=1, progress=False)
    assert threads.work_of(m, "grid", (9,), {}) == 200 * coefs
    assert threads.work_of(m, "symbolic", ((0, 0, 0),), {}, "suggest_symbolic") == 200
    assert threads.work_of(m, "symbolic", (), {}, "auto_symbolic") == 200 * 9


def test_two_python_threads_leave_the_setting_as_it_was(xy):
    """The Explorer trains in a background thread while the UI thread computes."""
    X, y = xy
    before = torch.get_num_threads()
    barrier = threading.Barrier(2, timeout=60)
    seen, after, errors = {}, {}, []

    def work(name):
        try:
            m = KAN([2, 3, 1], seed=0)

            def callback(info):
                seen.setdefault(name, []).append(torch.get_num_threads())
                if info["step"] == 0:
                    barrier.wait()  # both fits are inside their verb now
                    info["model"].predict(X)

            m.fit(X, y, steps=3, progress=False, callback=callback)
            after[name] = torch.get_num_threads()
        except BaseException as err:  # surfaced in the main thread
            errors.append(err)

    ts = [threading.Thread(target=work, args=(name,)) for name in ("ui", "train")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert seen == {"ui": [1, 1, 1], "train": [1, 1, 1]}
    assert after == {"ui": before, "train": before}
    assert torch.get_num_threads() == before
    fresh = []
    t = threading.Thread(target=lambda: fresh.append(torch.get_num_threads()))
    t.start()
    t.join()
    assert fresh == [before]
    assert threads._active == 0


def test_wrapped_verbs_keep_their_signature_and_docs():
    assert "steps" in inspect.signature(KAN.fit).parameters
    assert KAN.refine.__doc__.startswith("Grid extension")
    assert KAN.forward.__name__ == "forward"
