"""A classifier in the Explorer's model side: a model fitted with ``loss="cross_entropy"``
is measured by cross-entropy and accuracy, trained with its own loss, previewed with it, and
saved and reopened as a classifier."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from kan_widgets import KAN
from kan_widgets.explore import Session


@pytest.fixture(scope="module")
def circle():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(400, 2, generator=g) * 2 - 1
    lab = (X[:, 0] ** 2 + X[:, 1] ** 2 < 0.5).long()
    data = {"train_input": X[:300], "train_label": lab[:300], "test_input": X[300:],
            "test_label": lab[300:]}
    return KAN([2, 3, 2], seed=0).fit(data, loss="cross_entropy", steps=4, progress=False), data


def _acc(m, X, y):
    return float((m(X).argmax(1) == y).double().mean())


def test_classifier_is_measured_by_cross_entropy_and_accuracy(circle):
    m, data = circle
    s = Session(m.copy(), data)
    assert s.task == "classification" and s.y.dtype == torch.long
    Xt, yt = data["test_input"], data["test_label"]
    with torch.no_grad():
        ce = float(F.cross_entropy(s.model(Xt), yt))
    assert s.losses()[0] == pytest.approx(ce, rel=1e-6)
    assert s.accuracies() == pytest.approx((_acc(s.model, Xt, yt),
                                            _acc(s.model, data["train_input"],
                                                 data["train_label"])))
    assert s.undo_history.start.loss == pytest.approx(ce, rel=1e-6)
    st = s.train_status()
    assert "train acc" in st and "test acc" in st and "cross-entropy" in st
    # a regression session of the same data keeps the RMSE and no accuracy
    r = Session(KAN([2, 3, 1], seed=0), {"train_input": data["train_input"],
                                         "train_label": data["train_label"][:, None].double()})
    assert r.task == "regression" and all(math.isnan(v) for v in r.accuracies())


def test_training_from_the_session_uses_the_models_loss(circle):
    m, data = circle
    s = Session(m.copy(), data)
    n = len(s.model.history_["step"])
    s.train(steps=3)
    h = s.model.history_
    assert len(h["step"]) == n + 3
    # cross-entropy steps record accuracy and no RMSE (an MSE fit would do the opposite)
    assert all(not math.isnan(v) for v in h["train_acc"][-3:])
    assert all(math.isnan(v) for v in h["train_rmse"][-3:])
    test_acc, train_acc = s.accuracies()
    assert f"accuracy train {train_acc:.1%}, test {test_acc:.1%}" in s.message
    assert s.undo_history.done[-1].loss == pytest.approx(s.losses()[0])
    s.undo()
    assert len(s.model.history_["step"]) == n


def test_previews_of_a_classifier_are_its_loss(circle):
    m, data = circle
    s = Session(m.copy(), data)
    e = (0, 1, 2)
    fits = s.suggestions(e)[:2]
    for fit, loss in zip(fits, s.previews(e, fits)):
        c = s.model.copy().fix_symbolic(e, fit.name)
        with torch.no_grad():
            ce = float(F.cross_entropy(c(data["test_input"]), data["test_label"]))
        assert loss == pytest.approx(ce, rel=1e-5)
    p = s.preview_prune_node(1, 0)
    c = s.model.copy().prune_node(1, 0)
    with torch.no_grad():
        assert p.loss_after == pytest.approx(
            float(F.cross_entropy(c(data["test_input"]), data["test_label"])), rel=1e-6)


def test_task_detection_explicit_loss_and_reopen(circle, tmp_path):
    m, data = circle
    fresh = KAN([2, 3, 2], seed=0)  # never fitted: integer labels and 2 outputs say it
    assert Session(fresh, data).task == "classification"
    assert Session(KAN([2, 3, 1], seed=0), data, loss="cross_entropy").task == "classification"
    with pytest.raises(ValueError, match="loss must be 'mse' or 'cross_entropy'"):
        Session(fresh, data, loss="hinge")
    with pytest.raises(ValueError, match=r"class labels 1..2 but the model has 2 output\(s\)"):
        Session(fresh, {"train_input": data["train_input"],
                        "train_label": data["train_label"] + 1})
    s = Session(m.copy(), data)
    s2 = Session.load(s.save(tmp_path / "cls"))
    assert s2.task == "classification" and s2.losses() == pytest.approx(s.losses())
