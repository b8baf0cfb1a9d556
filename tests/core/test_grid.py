import torch

from kan_widgets import KAN


def _curves(model, x):
    return [a.detach() for a in model.activations(x)]


def test_update_grid_preserves_curves(toy):
    model = KAN([2, 3, 1], grid=5, seed=0, dtype=torch.float64)
    model.fit(toy, steps=5, update_grid=False, progress=False)
    x = toy.X_train.double()
    before = model.predict(x)
    model.update_grid(x)
    assert model.layers[0]._tables.uniform is None  # the grid followed the samples: no closed form
    assert (model.predict(x) - before).abs().max() < 0.05 * before.std()


def test_refine_keeps_function_and_changes_grid(toy):
    model = KAN([2, 3, 1], grid=5, seed=0, dtype=torch.float64)
    model.fit(toy, steps=10, progress=False)
    x = toy.X_test.double()
    before = model.predict(x)
    out = model.refine(20)
    assert out is model and model.grid == 20
    assert model.layers[0].coef.shape[-1] == 23
    assert (model.predict(x) - before).abs().max() < 1e-2 * before.std()


def test_refine_beyond_sample_count_stays_finite():
    model = KAN([1, 1], grid=3, dtype=torch.float64)
    x = torch.linspace(-1, 1, 8, dtype=torch.float64)[:, None]
    model.refine(50, X=x)
    assert torch.isfinite(model.layers[0].coef).all()


def test_least_squares_is_deterministic(toy):
    a = KAN([2, 3, 1], seed=0).refine(12, X=toy.X_train)
    b = KAN([2, 3, 1], seed=0).refine(12, X=toy.X_train)
    for p, q in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(p, q) if torch.is_tensor(p) else p == q
