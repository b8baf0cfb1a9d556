"""What a node computes over the data (``Session.node_activation``): against the input for one
input, over the plane for two, against the samples sorted by the output for more; the
factors of a multiplication node; selecting a node changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kan_widgets import KAN
from kan_widgets.explore import Session


def _np(t):
    return t.detach().double().numpy()


def test_one_input_node_values_against_the_input():
    X = torch.linspace(-1, 1, 50)[:, None]
    m = KAN([1, 3, 1], seed=1).fit(X, torch.sin(3 * X), steps=3, progress=False)
    s = Session(m, {"train_input": X, "train_label": torch.sin(3 * X)})
    s.select((0, 0, 1))
    s.select_node(1, 1)
    assert s.selected is None and s.selected_node == (1, 1)
    a = s.node_activation()
    assert a.kind == "sum" and a.against == "input" and a.live_in == 1
    assert a.x == pytest.approx(_np(X[:, 0])) and a.x_label == "x_1"
    assert a.values == pytest.approx(_np(m.layer_input(X, 1)[:, 1]))
    out = s.node_activation(2, 0)
    assert out.kind == "output" and out.values == pytest.approx(_np(m(X)[:, 0]))
    assert out.describe() == "output: sum of 3 live edges"
    assert f"{out.values.min():.3g}" in out.summary() and "50 samples" in out.summary()
    assert s.node_activation(0, 0).values == pytest.approx(_np(X[:, 0]))


def test_many_inputs_values_against_samples_sorted_by_the_output():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(300, 3, generator=g) * 2 - 1
    y = (X[:, :1] * X[:, 1:2] + X[:, 2:]).reshape(-1, 1)
    m = KAN([3, 4, 1], seed=0).fit(X, y, steps=3, progress=False)
    s = Session(m, {"train_input": X, "train_label": y})
    a = s.node_activation(1, 2)
    assert a.against == "rank" and a.x_label == "samples, sorted by y"
    assert a.x.tolist() == list(range(300)) and len(a.x2) == 0
    order = torch.argsort(m(X)[:, 0].detach(), stable=True)
    assert a.values == pytest.approx(_np(m.layer_input(X, 1)[order, 2]))
    # the output node against its own rank rises
    out = s.node_activation(2, 0)
    assert np.all(np.diff(out.values) >= 0)
    with pytest.raises(IndexError):
        s.node_activation(1, 4)


def test_multiplication_node_is_the_product_of_its_factors():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(200, 2, generator=g) * 2 - 1
    y = (X[:, 0] * X[:, 1])[:, None]
    m = KAN([2, [1, 1], 1], seed=0).fit(X, y, steps=5, progress=False)
    s = Session(m, {"train_input": X, "train_label": y})
    rev, n = s.revision, len(s.undo_history)
    s.select_node(1, 1)
    a = s.node_activation()
    assert a.kind == "mult" and a.arity == 2 and a.live_in == 4 and a.against == "inputs"
    assert a.describe().startswith("multiplication node: product of 2 sub-nodes")
    assert a.factors.shape == (200, 2)
    assert a.values == pytest.approx(a.factors[:, 0] * a.factors[:, 1])
    assert a.values == pytest.approx(_np(m.layer_input(X, 1)[:, 1]))
    assert a.x2 == pytest.approx(_np(X[:, 1])) and a.x2_label == "x_2"
    assert s.node_activation(1, 0).kind == "sum"
    assert s.revision == rev and len(s.undo_history) == n  # looking changes nothing


def test_without_samples_the_node_says_so():
    s = Session(KAN([2, 2, 1]))
    a = s.node_activation(1, 0)
    assert len(a.values) == 0 and "no samples" in a.summary()
    assert all(np.isnan(v).all() for v in s.node_summaries())
