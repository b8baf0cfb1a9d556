"""The Cox-de Boor reference (``bspline_basis``) against a textbook scalar recursion, and the
knot-vector helpers. The fast path is compared with this reference in test_span_tables.py."""

import pytest
import torch

from kan_widgets.core.bspline import bspline_basis, extend_grid, is_uniform, uniform_grid


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
def test_reference_matches_scalar_cox_de_boor(k, uniform):
    gen = torch.Generator().manual_seed(k)
    G = 7
    knots = uniform_grid(2, G, (-1, 1), k, dtype=torch.float64) if uniform else random_knots(2, G, k, gen)
    x = torch.rand(200, 2, generator=gen, dtype=torch.float64) * 3 - 1.5  # also outside the grid
    dense = bspline_basis(x, knots, k)
    assert dense.shape == (200, 2, G + k)
    for i in range(2):
        assert torch.allclose(dense[:, i], reference_basis(x[:, i], knots[i], k), atol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("G", [1, 5, 20])
def test_partition_of_unity_and_non_negative(k, G):
    knots = uniform_grid(3, G, (-2, 3), k, dtype=torch.float64)
    x = torch.linspace(-2, 3 - 1e-9, 401, dtype=torch.float64)[:, None].expand(-1, 3)
    B = bspline_basis(x, knots, k)
    assert (B >= -1e-15).all()
    assert torch.allclose(B.sum(-1), torch.ones_like(x), atol=1e-12)
    # each point touches exactly k + 1 non-zero functions at most
    assert ((B > 0).sum(-1) <= k + 1).all()


def test_zero_outside_extended_grid():
    knots = uniform_grid(1, 5, (-1, 1), 3)
    x = torch.tensor([[-5.0], [5.0]])
    assert bspline_basis(x, knots, 3).abs().max() == 0


def test_extend_grid_repeats_the_end_intervals_and_is_uniform_detects_spacing():
    g = torch.tensor([[0.0, 1.0, 3.0, 6.0]], dtype=torch.float64)
    t = extend_grid(g, 2)
    assert t.tolist() == [[-2.0, -1.0, 0.0, 1.0, 3.0, 6.0, 9.0, 12.0]]
    assert not is_uniform(t)
    assert is_uniform(uniform_grid(3, 10, (-1, 2), 3))
