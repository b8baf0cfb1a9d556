"""``kw.MLP``: KAN's training interface on a plain perceptron, for comparisons."""

import math
import warnings

import pytest
import torch

import kan_widgets as kw
from kan_widgets.core.training import HISTORY_KEYS


@pytest.fixture(scope="module")
def trained(toy):
    return kw.MLP([2, 16, 16, 1], seed=0).fit(toy, steps=30, progress=False)


def test_fit_learns_and_logs_like_a_kan(toy, trained):
    m = trained
    assert set(m.history_) == set(HISTORY_KEYS)
    assert m.history_["step"] == list(range(30))
    assert all(len(v) == 30 for v in m.history_.values())
    assert m.history_["reg"] == [0.0] * 30
    test = m.history_["test_rmse"]
    assert test[-1] < 0.05 < test[0]  # the toy's spread is about 1
    assert m.score(toy.X_test, toy.y_test) == pytest.approx(test[-1], rel=1e-5)
    pred = m.predict(toy.X_test)
    assert pred.shape == (len(toy.X_test), 1) and not pred.requires_grad
    want = float(((pred - toy.y_test) ** 2).mean().sqrt())
    assert m.score(toy.X_test, toy.y_test) == pytest.approx(want, rel=1e-6)
    assert m.history_["train_rmse"][-1] == pytest.approx(math.sqrt(m.history_["train_loss"][-1]))
    assert m.n_params == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    assert "MLP(width=[2, 16, 16, 1]" in repr(m) and "30 steps" in repr(m)


def test_fit_continues_the_log_and_is_reproducible(toy):
    a = kw.MLP([2, 8, 1], seed=3).fit(toy, steps=3, progress=False)
    a.fit(toy, steps=2, opt="Adam", lr=1e-2, batch=100, progress=False)
    assert a.history_["step"] == [0, 1, 2, 3, 4]
    state = torch.get_rng_state()
    b = kw.MLP([2, 8, 1], seed=3).fit(toy, steps=3, progress=False)
    b.fit(toy, steps=2, opt="Adam", lr=1e-2, batch=100, progress=False)
    assert torch.equal(state, torch.get_rng_state())  # the global stream is left alone
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(kw.MLP([2, 8, 1], seed=4).net[0].weight,
                           kw.MLP([2, 8, 1], seed=3).net[0].weight)


def test_arrays_callbacks_and_custom_losses(toy):
    X, y = toy.X_train.numpy(), toy.y_train.numpy()[:, 0]  # numpy, one output as (n,)
    seen = []
    m = kw.MLP([2, 8, 1], activation="tanh").fit(
        X, y, steps=5, progress=False, callback=lambda info: seen.append(info["step"]) or
        info["step"] == 2, loss_fn=lambda p, t: (p - t).abs().mean())
    assert seen == [0, 1, 2] and len(m.history_["step"]) == 3
    # a custom loss: train_loss is that loss, train_rmse still an RMSE
    assert m.history_["train_loss"][-1] != pytest.approx(m.history_["train_rmse"][-1] ** 2)
    assert math.isnan(m.history_["test_rmse"][-1])  # no test data given


def test_fit_is_atomic_on_interrupt(toy):
    m = kw.MLP([2, 8, 1], seed=0).fit(toy, steps=2, progress=False)
    before = [p.detach().clone() for p in m.parameters()]
    log = {k: list(v) for k, v in m.history_.items()}

    def stop(info):
        if info["step"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        m.fit(toy, steps=5, progress=False, callback=stop)
    assert all(torch.equal(p, q) for p, q in zip(m.parameters(), before))
    assert m.history_ == log


def test_a_diverging_step_is_undone_with_a_warning(toy):
    m = kw.MLP([2, 8, 1], seed=0)
    before = [p.detach().clone() for p in m.parameters()]
    with pytest.warns(kw.FitDivergedWarning, match="diverged at step 0"):
        m.fit(toy, steps=3, progress=False, loss_fn=lambda p, t: (p - t).sum() * float("nan"))
    assert all(torch.equal(p, q) for p, q in zip(m.parameters(), before))
    assert m.history_["step"] == []


@pytest.mark.parametrize("kwargs,err,match", [
    (dict(width=[2]), ValueError, "at least an input"),
    (dict(width=[2, 3, 1], activation="swish"), ValueError, "unknown activation"),
    (dict(width=[2, 3, 1], dtype=torch.int64), TypeError, "floating dtype"),
])
def test_bad_construction(kwargs, err, match):
    with pytest.raises(err, match=match):
        kw.MLP(**kwargs)


def test_bad_fit_arguments(toy):
    m = kw.MLP([2, 4, 1])
    with pytest.raises(ValueError, match="unknown optimizer"):
        m.fit(toy, steps=1, opt="SGD", progress=False)
    with pytest.raises(ValueError, match="columns|shape|expects"):
        m.fit(toy.X_train[:, :1], toy.y_train, steps=1, progress=False)
    with pytest.raises(TypeError, match="loss_fn"):
        m.fit(toy, steps=1, loss_fn="mse", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.fit(toy, steps=0, progress=False)  # zero steps: nothing happens, no warning
    assert m.history_["step"] == []
