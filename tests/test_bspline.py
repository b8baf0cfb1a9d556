import pytest
import torch

from kan_widgets.core.bspline import (
    basis,
    bspline_basis,
    dense_from_local,
    extend_grid,
    local_bspline,
    uniform_grid,
)


def reference_basis(x, knots, k):
    """Textbook scalar Cox-de Boor in float64, one value at a time."""
    t = knots.tolist()

    def B(c, p, v):
        if p == 0:
            return 1.0 if t[c] <= v < t[c + 1] else 0.0
        a = (v - t[c]) / (t[c + p] - t[c]) * B(c, p - 1, v)
        b = (t[c + p + 1] - v) / (t[c + p + 1] - t[c + 1]) * B(c + 1, p - 1, v)
        return a + b

    return torch.tensor([[B(c, k, v) for c in range(len(t) - k - 1)] for v in x.tolist()],
                        dtype=torch.float64)


def random_knots(n_in, G, k, gen):
    g = torch.sort(torch.rand(n_in, G + 1, generator=gen, dtype=torch.float64) * 2 - 1, dim=1)[0]
    return extend_grid(g, k)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("uniform", [True, False])
def test_fast_path_matches_float64_cox_de_boor(k, uniform):
    gen = torch.Generator().manual_seed(k)
    G = 7
    knots = uniform_grid(2, G, (-1, 1), k, dtype=torch.float64) if uniform else random_knots(2, G, k, gen)
    x = torch.rand(200, 2, generator=gen, dtype=torch.float64) * 3 - 1.5  # also outside the grid
    fast = basis(x, knots, k, uniform=uniform)
    assert fast.shape == (200, 2, G + k)
    for i in range(2):
        ref = reference_basis(x[:, i], knots[i], k)
        assert torch.allclose(fast[:, i], ref, atol=1e-12)
        assert torch.allclose(bspline_basis(x, knots, k)[:, i], ref, atol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("G", [1, 5, 20])
def test_partition_of_unity_and_non_negative(k, G):
    knots = uniform_grid(3, G, (-2, 3), k, dtype=torch.float64)
    x = torch.linspace(-2, 3 - 1e-9, 401, dtype=torch.float64)[:, None].expand(-1, 3)
    B = basis(x, knots, k)
    assert (B >= -1e-15).all()
    assert torch.allclose(B.sum(-1), torch.ones_like(x), atol=1e-12)
    # each point touches exactly k + 1 non-zero functions at most
    assert ((B > 0).sum(-1) <= k + 1).all()


def test_zero_outside_extended_grid():
    knots = uniform_grid(1, 5, (-1, 1), 3)
    x = torch.tensor([[-5.0], [5.0]])
    assert basis(x, knots, 3).abs().max() == 0


@pytest.mark.parametrize("uniform", [True, False])
def test_analytic_derivative_matches_autograd(uniform):
    gen = torch.Generator().manual_seed(1)
    k, G = 3, 6
    knots = uniform_grid(2, G, (-1, 1), k, dtype=torch.float64) if uniform else random_knots(2, G, k, gen)
    x = (torch.rand(300, 2, generator=gen, dtype=torch.float64) * 2.4 - 1.2).requires_grad_()
    values, span, dvalues = local_bspline(x, knots, k, uniform, derivative=True)
    w = torch.randn(values.shape, generator=gen, dtype=torch.float64)
    (values * w).sum().backward()
    assert torch.allclose((dvalues * w).sum(-1), x.grad, atol=1e-10)
    assert dense_from_local(values, span, G + k, k).shape == (300, 2, G + k)


def test_float32_precision_at_fine_grid():
    knots64 = uniform_grid(1, 50, (-1, 1), 3, dtype=torch.float64)
    x = torch.rand(1000, 1, dtype=torch.float64) * 2 - 1
    ref = basis(x, knots64, 3)
    got = basis(x.float(), knots64.float(), 3)
    assert (got.double() - ref).abs().max() < 1e-5
