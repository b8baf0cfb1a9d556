import pytest
import torch

from kan_widgets import datasets


@pytest.fixture(scope="session")
def toy():
    """The paper's toy f(x, y) = exp(sin(pi x) + y^2) on [-1, 1]^2."""
    f = lambda X: torch.exp(torch.sin(torch.pi * X[:, 0]) + X[:, 1] ** 2)  # noqa: E731
    return datasets.from_function(f, n_var=2, ranges=(-1, 1), n_train=1000, n_test=1000, seed=0,
                                  variables=["x", "y"])
