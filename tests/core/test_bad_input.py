"""Every bad input gets an error that names the problem and the fix, at the API boundary."""

import numpy as np
import pytest
import torch

from kan_widgets import KAN


@pytest.mark.parametrize("width, err, match", [
    ([], ValueError, "at least an input and an output"),
    ([3], ValueError, "at least an input and an output"),
    ([2, 0, 1], ValueError, r"width\[1\] = 0"),
    ([2, 2.5, 1], TypeError, r"width\[1\] = 2.5 is not an int"),
    ("21", TypeError, "list of layer sizes"),
    ([2, [3, 2, 1], 1], ValueError, r"\[n_sum, n_mult\]"),
    ([[1, 1], 2, 1], ValueError, "inputs cannot be multiplication nodes"),
])
def test_bad_widths(width, err, match):
    with pytest.raises(err, match=match):
        KAN(width)


@pytest.mark.parametrize("kw, match", [
    (dict(grid=0), "grid must be an int >= 1"),
    (dict(k=0), "k must be an int >= 1"),
    (dict(grid=2.0), "grid must be an int >= 1"),
    (dict(grid_range=(1, -1)), "low < high"),
    (dict(grid_eps=2), "grid_eps must be in"),
])
def test_bad_hyperparameters(kw, match):
    with pytest.raises(ValueError, match=match):
        KAN([2, 1], **kw)


@pytest.fixture
def model():
    return KAN([2, 3, 1])


def test_xy_mismatch(model):
    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
        model.fit(np.zeros((10, 2)), np.zeros((9, 1)), steps=1, progress=False)


def test_wrong_number_of_columns(model):
    with pytest.raises(ValueError, match="X has 3 input columns but the model expects 2"):
        model.fit(np.zeros((10, 3)), np.zeros((10, 1)), steps=1, progress=False)
    with pytest.raises(ValueError, match="expects 2"):
        model(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="y has 2 output columns but the model expects 1"):
        model.fit(np.zeros((10, 2)), np.zeros((10, 2)), steps=1, progress=False)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_data(model, bad):
    X = np.zeros((10, 2))
    X[3, 1] = bad
    with pytest.raises(ValueError, match=r"X contains (NaN|inf) values in 1 row\(s\) \(first: \[3\]\)"):
        model.fit(X, np.zeros(10), steps=1, progress=False)
    y = np.zeros(10)
    y[0] = bad
    with pytest.raises(ValueError, match="y contains"):
        model.fit(np.zeros((10, 2)), y, steps=1, progress=False)


def test_missing_y_and_bad_optimizer(model):
    with pytest.raises(TypeError, match="y is missing"):
        model.fit(np.zeros((10, 2)), steps=1)
    with pytest.raises(ValueError, match="unknown optimizer 'SGD'"):
        model.fit(np.zeros((10, 2)), np.zeros(10), opt="SGD")
    with pytest.raises(ValueError, match="steps must be an int"):
        model.fit(np.zeros((10, 2)), np.zeros(10), steps=-1)


@pytest.mark.parametrize("edge, match", [
    ((5, 0, 0), "layer must be in 0..1"),
    ((0, 2, 0), "layer 0 has inputs 0..1"),
    ((0, 0, 3), "layer 0 has outputs 0..2"),
    ((0, 0), "tuple of three ints"),
    ("0,0,0", "tuple of three ints"),
])
def test_edges_that_do_not_exist(model, edge, match):
    with pytest.raises((IndexError, ValueError), match=match):
        model.prune_edge(edge)


def test_nodes_that_do_not_exist(model):
    with pytest.raises(IndexError, match="node layers are 0..2"):
        model.prune_node(3, 0)
    with pytest.raises(IndexError, match="node layer 1 has nodes 0..2"):
        model.prune_node(1, 7)
    with pytest.raises(KeyError, match="no input named 'z'"):
        model.prune_input("z")


def test_verbs_needing_samples_before_any_fit(model):
    for verb in (model.prune, model.attribute, model.update_grid):
        with pytest.raises(RuntimeError, match="pass X=.*or call fit first"):
            verb()
    with pytest.raises(RuntimeError, match="refine needs input samples"):
        model.refine(10)
    # with samples given explicitly they work without any forward pass before
    X = torch.rand(50, 2)
    model.attribute(X).prune(X=X)


def test_load_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved model"):
        KAN.load(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="not a valid kan_widgets model file"):
        KAN.load(bad)
    other = tmp_path / "other.pt"
    torch.save({"a": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="not a valid kan_widgets model"):
        KAN.load(other)
