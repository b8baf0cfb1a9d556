"""Classification: integer labels with cross-entropy, probabilities, accuracy in history_."""

import math

import pytest
import torch

from kan_widgets import KAN


def moons(n, seed, noise=0.1):
    """Two interleaved half-circles, labels 0 and 1."""
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=g) * math.pi
    y = torch.arange(n) % 2
    upper = torch.stack([torch.cos(t), torch.sin(t)], 1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    X = torch.where(y[:, None] == 1, lower, upper)
    return X + noise * torch.randn(n, 2, generator=g), y


@pytest.mark.parametrize("width", [[2, 2], [2, 1]])
def test_two_moons_reach_high_accuracy(width):
    X, y = moons(300, 0)
    Xt, yt = moons(300, 1)
    model = KAN(width, grid=5, seed=0).fit(X, y, loss="cross_entropy", steps=15, X_test=Xt,
                                           y_test=yt, progress=False)
    h = model.history_
    assert h["test_acc"][-1] > 0.95 and h["train_acc"][-1] > 0.95
    assert model.accuracy(Xt, yt) == pytest.approx(h["test_acc"][-1])
    assert len(h["train_acc"]) == len(h["step"]) == 15
    assert all(math.isnan(v) for v in h["train_rmse"] + h["test_rmse"])
    proba = model.predict_proba(Xt)
    assert proba.shape == (300, 2) and torch.allclose(proba.sum(1), torch.ones(300))
    classes = model.predict_classes(Xt)
    assert classes.dtype == torch.long and torch.equal(classes, proba.argmax(1))
    # the recorded test loss is the cross-entropy of the probabilities
    ce = -torch.log(proba[torch.arange(300), yt]).mean()
    assert h["test_loss"][-1] == pytest.approx(float(ce), rel=1e-3, abs=1e-6)


def test_three_classes_numpy_labels_and_pykans_spelling():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.5]])
    y = torch.arange(240) % 3
    X = centres[y] + 0.3 * torch.randn(240, 2, generator=g)
    m = KAN([2, 3], seed=0).fit(X.numpy(), y.numpy(), loss="cross_entropy", steps=10,
                                progress=False)
    assert m.accuracy(X, y) > 0.95
    p = KAN([2, 3], seed=0).fit(X, y, loss_fn=torch.nn.CrossEntropyLoss(), steps=10,
                                progress=False)
    assert torch.equal(p.predict(X), m.predict(X))  # the same loss under pykan's name
    # labels given as floats 0.0 / 1.0 / 2.0 are labels too
    f = KAN([2, 3], seed=0).fit(X, y.double(), loss="cross_entropy", steps=10, progress=False)
    assert torch.equal(f.predict(X), m.predict(X))


def test_regression_then_classification_keeps_history_aligned():
    X, y = moons(100, 0)
    m = KAN([2, 1], seed=0).fit(X, y.double(), steps=2, progress=False)  # regression on 0/1
    m.fit(X, y, loss="cross_entropy", steps=3, progress=False)
    h = m.history_
    assert all(len(v) == 5 for v in h.values())
    assert all(math.isnan(v) for v in h["train_acc"][:2])
    assert all(not math.isnan(v) for v in h["train_acc"][2:])


@pytest.mark.parametrize("width, y, kw, match", [
    ([2, 2], torch.arange(10) % 2, {}, "integers \\(class labels\\?\\).*loss='cross_entropy'"),
    ([2, 2], torch.arange(10) % 3, dict(loss="cross_entropy"), "width\\[-1\\] = 3"),
    ([2, 2], torch.arange(10) % 2 - 1, dict(loss="cross_entropy"), "number the classes from 0"),
    ([2, 2], torch.rand(10), dict(loss="cross_entropy"), "non-integer"),
    ([2, 2], torch.zeros(10, 2), dict(loss="cross_entropy"), "one-hot"),
    ([2, 1], torch.arange(10) % 3, dict(loss="cross_entropy"), "classes 0..1"),
])
def test_bad_labels_say_what_to_do(width, y, kw, match):
    X = torch.rand(10, 2)
    m = KAN(width, seed=0)
    before = m.state_dict()
    with pytest.raises(ValueError, match=match):
        m.fit(X, y, steps=1, progress=False, **kw)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in before.items()
               if isinstance(v, torch.Tensor))


def test_accuracy_refuses_labels_out_of_range():
    m = KAN([2, 2], seed=0)
    with pytest.raises(ValueError, match="width\\[-1\\] = 5"):
        m.accuracy(torch.rand(4, 2), [0, 1, 4, 1])
