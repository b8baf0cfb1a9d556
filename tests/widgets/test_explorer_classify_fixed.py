"""The Explorer's panels on a classifier (accuracy in the train panel, its status line and
the data view; training with cross-entropy) and on an edge already fixed to a function (its
own function's number is the loss now, labelled as such; Fix of the same function is off)."""

from __future__ import annotations

import math
import re

import pytest
import torch

from kan_widgets import KAN
from kan_widgets.widgets import Explorer


@pytest.fixture
def classifier():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(400, 2, generator=g) * 2 - 1
    lab = (X[:, 0] ** 2 + X[:, 1] ** 2 < 0.5).long()
    data = {"train_input": X[:300], "train_label": lab[:300], "test_input": X[300:],
            "test_label": lab[300:]}
    m = KAN([2, 3, 2], seed=0).fit(data, loss="cross_entropy", steps=3, progress=False)
    return Explorer(m, data)


def test_classifier_panels_show_accuracy_and_train_with_cross_entropy(classifier):
    ex = classifier
    tp, dp, ep = ex.train_panel, ex.data_panel, ex.edge_panel
    test_acc, train_acc = ex.session.accuracies()
    assert f"train acc {train_acc:.1%} · test acc {test_acc:.1%}" in tp.status.value
    assert tp.loss_figure.layout.yaxis.title.text == "cross-entropy"
    h = ex.model.history_
    assert list(tp.loss_figure.data[0].y) == pytest.approx(h["train_loss"])
    assert list(tp.loss_figure.data[1].y) == pytest.approx(h["test_loss"])
    assert dp.info.value.startswith(f"accuracy {test_acc:.1%} · cross-entropy")
    p = torch.softmax(ex.model(ex.session.X_test), 1).gather(
        1, ex.session.y_test[:, None])[:, 0].detach().double()
    assert list(dp.figure.data[0].y) == pytest.approx(p.tolist())
    assert "test cross-entropy if fixed" in ep.header.value
    tp.steps.value = 2
    tp.train(wait=True)
    assert ex.session.wait(60)
    assert all(not math.isnan(v) for v in ex.model.history_["train_acc"][-2:])
    assert "accuracy train" in ex.session.message
    test_acc, train_acc = ex.session.accuracies()
    assert tp.status.value.startswith("done") and f"test acc {test_acc:.1%}" in tp.status.value
    assert dp.info.value.startswith(f"accuracy {test_acc:.1%}")


def test_a_fixed_edge_shows_the_loss_now_for_its_own_function(fitted, toy):
    ex = Explorer(fitted.copy(), toy)
    ep, e = ex.edge_panel, (0, 0, 0)
    assert "test RMSE if fixed" in ep.header.value and "loss if fixed" not in ep.header.value
    ex.fix_symbolic(e, "sin")
    ex.train(steps=2)  # the fixed function's own parameters move with training
    ex.select(e)
    now = ex.session.losses()[0]
    opts = dict((v, t) for t, v in ep.suggestions.options)
    assert opts["sin"].endswith(f"{now:.3g} (now)")
    refit = ex.session.model.copy().fix_symbolic(e, "cos")
    assert re.search(r"\s([0-9.e+-]+)$", opts["cos"]).group(1) == f"{refit.score(toy.X_test, toy.y_test):.3g}"
    assert ep.choice != "sin"  # the first suggestion other than the edge's own function
    ep.pick("sin")
    assert f"the edge is sin now · <span class='kw-nowrap'>test RMSE now {now:.3g}</span>" \
        in ep.pick_info.value
    assert ep.fix_button.disabled and "the edge is sin already" in ep.fix_button.tooltip
    assert len(ep.figure.data[3].x) == 0  # no candidate curve over the edge's own
    ep.pick("cos")
    assert not ep.fix_button.disabled and "test RMSE if fixed →" in ep.pick_info.value
