import numpy as np
import pandas as pd
import pytest
import torch

from kan_widgets import KAN, datasets


def test_from_function_seeded_and_shaped():
    f = lambda X: X[:, 0] * X[:, 1]  # noqa: E731
    a = datasets.from_function(f, n_var=2, ranges=[(0, 1), (-2, 2)], n_train=50, n_test=20, seed=3)
    b = datasets.from_function(f, n_var=2, ranges=[(0, 1), (-2, 2)], n_train=50, n_test=20, seed=3)
    assert a.X_train.shape == (50, 2) and a.y_train.shape == (50, 1) and a.X_test.shape == (20, 2)
    assert torch.equal(a.X_train, b.X_train)
    assert a.X_train[:, 0].min() >= 0 and a.X_train[:, 1].max() <= 2
    assert a.variables == ["x_1", "x_2"]
    assert torch.allclose(a.y_train[:, 0], f(a.X_train))


def test_from_formula_reads_variables():
    ds = datasets.from_formula("exp(sin(pi*x) + y^2)", n_train=100, n_test=10)
    assert ds.variables == ["x", "y"]
    x, y = ds.X_train[:, 0], ds.X_train[:, 1]
    assert torch.allclose(ds.y_train[:, 0], torch.exp(torch.sin(torch.pi * x) + y**2), atol=1e-5)
    with pytest.raises(ValueError, match="cannot read formula"):
        datasets.from_formula("exp(")


def test_from_formula_refuses_what_is_not_a_real_finite_formula():
    with pytest.raises(ValueError, match="division by zero"):
        datasets.from_formula("x/0")
    with pytest.raises(ValueError, match="imaginary"):
        datasets.from_formula("x + sqrt(-2)")
    with pytest.raises(ValueError, match=r"\['x'\] more than once"):
        datasets.from_formula("x + y", variables=["x", "x", "y"])
    with pytest.raises(TypeError, match="from_function"):
        datasets.from_formula(lambda X: X)
    ds = datasets.from_formula("y - x", variables=["y", "x"], n_train=5, n_test=2)
    assert ds.variables == ["y", "x"]
    assert torch.allclose(ds.y_train[:, 0], ds.X_train[:, 0] - ds.X_train[:, 1])


def test_from_dataframe_keeps_names_and_model_learns_them():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"mass": rng.uniform(1, 2, 300), "speed": rng.uniform(0, 1, 300)})
    df["energy"] = 0.5 * df.mass * df.speed**2
    ds = datasets.from_dataframe(df, target="energy")
    assert ds.variables == ["mass", "speed"] and ds.outputs == ["energy"]
    assert len(ds.X_train) == 240 and len(ds.X_test) == 60
    model = KAN([2, 1]).fit(ds, steps=2, progress=False)
    assert model.variables_ == ["mass", "speed"] and model.output_names_ == ["energy"]
    with pytest.raises(KeyError, match="not in the DataFrame"):
        datasets.from_dataframe(df, target="power")


def test_from_arrays_and_errors():
    ds = datasets.from_arrays(np.ones((10, 2)), np.ones(10), test_size=0.3)
    assert len(ds.X_test) == 3
    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
        datasets.from_arrays(np.ones((10, 2)), np.ones(9))
    with pytest.raises(ValueError, match="NaN or inf"):
        datasets.from_function(lambda X: torch.log(X[:, 0]), n_var=1, ranges=(-1, 1))
    assert datasets.from_arrays(np.ones((10, 2)), np.ones(10)).as_dict()["train_input"].shape == (8, 2)
