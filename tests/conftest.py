import pytest
import torch

from kan_widgets import KAN, datasets


@pytest.fixture(scope="session")
def toy():
    """The paper's toy f(x, y) = exp(sin(pi x) + y^2) on [-1, 1]^2."""
    f = lambda X: torch.exp(torch.sin(torch.pi * X[:, 0]) + X[:, 1] ** 2)  # noqa: E731
    return datasets.from_function(f, n_var=2, ranges=(-1, 1), n_train=1000, n_test=1000, seed=0,
                                  variables=["x", "y"])


@pytest.fixture(scope="module")
def fitted(toy):
    """A [2, 5, 1] KAN briefly trained on the toy (tests copy it before changing it)."""
    return KAN([2, 5, 1], grid=5, k=3, seed=0).fit(toy, steps=8, progress=False)


@pytest.fixture
def cleanup():
    """Names of user functions a test registers; they are unregistered after it."""
    import kan_widgets.core.functions as F

    names = []
    yield names
    for n in names:
        if n in F.LIBRARY:
            F.unregister_function(n)
