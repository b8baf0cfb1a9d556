"""``fit(metrics=...)``: named metrics recorded per step under train_/test_ keys."""

import math

import pytest
import torch

from kan_widgets import KAN


def data(n=60, seed=0):
    X = torch.rand(n, 2, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return X, torch.sin(2 * X[:, :1]) + X[:, 1:] ** 2


def test_metrics_are_recorded_for_train_and_test():
    X, y = data()
    Xt, yt = data(seed=1)
    mae = lambda p, t: float((p - t).abs().mean())  # noqa: E731
    maxerr = lambda p, t: (p - t).abs().max()  # noqa: E731  (a 0-d tensor is fine)
    m = KAN([2, 3, 1], seed=0).fit(X, y, steps=4, X_test=Xt, y_test=yt, progress=False,
                                   metrics={"mae": mae, "maxerr": maxerr})
    h = m.history_
    for key in ("train_mae", "test_mae", "train_maxerr", "test_maxerr"):
        assert len(h[key]) == 4 and all(math.isfinite(v) for v in h[key])
    # test metrics are those of the model after the step
    assert h["test_mae"][-1] == pytest.approx(mae(m.predict(Xt), yt), rel=1e-5)
    assert h["test_maxerr"][-1] >= h["test_mae"][-1]
    assert h["test_rmse"][-1] == pytest.approx(m.score(Xt, yt), rel=1e-5)
    # a later fit without the metric pads it with NaN: every list keeps its length
    m.fit(X, y, steps=2, progress=False)
    assert len(h["train_mae"]) == 6 and all(math.isnan(v) for v in h["train_mae"][4:])


def test_custom_loss_is_recorded_as_loss_not_as_rmse():
    X, y = data()
    l1 = lambda p, t: (p - t).abs().mean()  # noqa: E731
    m = KAN([2, 1], seed=0).fit(X, y, loss=l1, steps=3, progress=False)
    h = m.history_
    assert h["train_loss"][-1] != pytest.approx(h["train_rmse"][-1] ** 2)
    assert h["train_rmse"][-1] > 0 and math.isfinite(h["train_rmse"][-1])


def test_metrics_with_classification_get_labels():
    X = torch.rand(80, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1
    y = (X[:, 0] > X[:, 1]).long()
    got = []

    def recall(pred, labels):
        got.append((pred.shape, labels.dtype))
        hit = (pred[:, 0] > 0).long()
        return float((hit[labels == 1] == 1).double().mean())

    m = KAN([2, 1], seed=0).fit(X, y, loss="cross_entropy", metrics={"recall": recall},
                                steps=5, progress=False)
    assert got[0] == ((80, 1), torch.long)
    assert m.history_["train_recall"][-1] > 0.9


@pytest.mark.parametrize("metrics, match", [
    ([lambda p, t: 0.0], "must be a dict"),
    ({"rmse": lambda p, t: 0.0}, "is taken"),
    ({"my metric": lambda p, t: 0.0}, "plain name"),
    ({"m": 3}, "must be callable"),
    ({"m": lambda p, t: "x"}, "must return one number"),
    ({"m": lambda p, t: p}, "must return one number"),
])
def test_bad_metrics_are_refused_and_change_nothing(metrics, match):
    X, y = data()
    m = KAN([2, 1], seed=0)
    before = m.predict(X)
    with pytest.raises((TypeError, ValueError), match=match):
        m.fit(X, y, steps=2, metrics=metrics, progress=False)
    assert torch.equal(m.predict(X), before) and m.history_["step"] == []
