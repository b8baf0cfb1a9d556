"""The layer's fast local B-splines (per-span tables) against the Cox-de Boor reference."""

import pytest
import torch

from kan_widgets.core import span_tables
from kan_widgets.core.bspline import bspline_basis, extend_grid
from kan_widgets.core.span_tables import build_span_tables, table_local_values


def _dense(x, knots, tables, derivative=False):
    """Scatter the table path's local values into a dense (B, n_in, K) basis."""
    K = knots.shape[1] - int(round((tables.rows.shape[0] - 2) ** 0.5))
    values, slots, dvalues = table_local_values(x, knots, tables, derivative)
    out = []
    for v in (values, dvalues) if derivative else (values,):
        f = torch.zeros(x.shape[0], x.shape[1], 1 + K, dtype=x.dtype)
        f.permute(2, 0, 1).scatter_(0, slots, v)
        out.append(f[..., 1:])
    return out


def _knots(spread, k, n_in=3, G=7, dtype=torch.float64):
    gen = torch.Generator().manual_seed(k + 10 * spread)
    g = torch.sort(torch.rand(n_in, G + 1, dtype=torch.float64, generator=gen) ** spread, 1)[0]
    return extend_grid(g * 2 - 1, k).to(dtype)


@pytest.mark.parametrize("lattice", [True, False])
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-11), (torch.float32, 3e-6)])
@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
def test_values_match_cox_de_boor_on_uneven_grids(k, dtype, tol, lattice, monkeypatch):
    if not lattice:
        monkeypatch.setattr(span_tables, "_LATTICE_MAX_CELLS", 0)
    knots = _knots(3, k, dtype=dtype)  # strongly uneven spans, knots shared by both paths
    tables = build_span_tables(knots, k)
    assert (tables.lattice is not None) == lattice
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(4000, 3, dtype=torch.float64, generator=gen) * 3 - 1.5).to(dtype)
    x[:5] = knots[:, :5].T  # samples exactly on knots
    (got,) = _dense(x, knots, tables)
    ref = bspline_basis(x.double(), knots.double(), k)
    torch.testing.assert_close(got.double(), ref, atol=tol, rtol=0)


@pytest.mark.parametrize("k", [1, 3])
def test_derivative_matches_finite_differences(k):
    knots = _knots(2, k)
    tables = build_span_tables(knots, k)
    x = torch.rand(500, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 1.6 - 0.8
    _, d = _dense(x, knots, tables, derivative=True)
    eps = 1e-6
    (hi,), (lo,) = _dense(x + eps, knots, tables), _dense(x - eps, knots, tables)
    torch.testing.assert_close(d, (hi - lo) / (2 * eps), atol=1e-6, rtol=1e-6)


def test_outside_the_knots_is_zero_and_nan_propagates():
    knots = _knots(1, 3)
    tables = build_span_tables(knots, 3)
    x = torch.tensor([[-50.0, 7.0, float("nan")], [1e30, -1e30, 0.0]], dtype=torch.float64)
    (got,) = _dense(x, knots, tables)
    assert torch.equal(got[0, :2], torch.zeros(2, got.shape[-1], dtype=torch.float64))
    assert torch.equal(got[1, :2], torch.zeros(2, got.shape[-1], dtype=torch.float64))
    assert torch.isnan(got[0, 2]).any()
    assert got[1, 2].sum().item() == pytest.approx(1.0)  # partition of unity inside


def test_repeated_samples_fall_back_to_binary_search():
    """A knot gap of ~1e-9 (repeated sample values) would need a huge lattice."""
    g = torch.tensor([[-1.0, -0.5, -0.5 + 1e-9, 0.0, 1.0]], dtype=torch.float64)
    knots = extend_grid(g, 3)
    tables = build_span_tables(knots, 3)
    assert tables.lattice is None
    x = torch.linspace(-1, 0.999, 101, dtype=torch.float64)[:, None]
    (got,) = _dense(x, knots, tables)
    torch.testing.assert_close(got, bspline_basis(x, knots, 3), atol=1e-9, rtol=0)


@pytest.mark.parametrize("inside", [True, False])
@pytest.mark.parametrize("adaptive", [False, True])
def test_layer_features_equal_the_dense_reference(adaptive, inside):
    """``[silu(x), B_1(x) .. B_K(x)]`` from the closed form (uniform grid, samples inside) and
    from the tables (adaptive grid, or samples outside the grid points)."""
    from kan_widgets.core.layer import KANLayer

    layer = KANLayer(4, 3, grid=6, k=3, dtype=torch.float64)
    gen = torch.Generator().manual_seed(3)
    if adaptive:
        from kan_widgets.core.grid import update_layer_grid

        update_layer_grid(layer, torch.rand(300, 4, dtype=torch.float64, generator=gen) ** 2)
    assert layer._uniform != adaptive
    x = torch.rand(500, 4, dtype=torch.float64, generator=gen) * (1.8 if inside else 3) - (
        0.9 if inside else 1.5)
    x = x.requires_grad_()
    feats = layer.features(x)
    torch.testing.assert_close(feats[..., 0], torch.nn.functional.silu(x))
    torch.testing.assert_close(feats[..., 1:], bspline_basis(x.detach(), layer.knots, 3),
                               atol=1e-12, rtol=0)
    w = torch.randn(feats.shape, dtype=torch.float64, generator=gen)
    (g,) = torch.autograd.grad((feats * w).sum(), x)
    eps = 1e-6
    with torch.no_grad():
        fd = ((layer.features(x + eps) - layer.features(x - eps)) * w).sum(-1) / (2 * eps)
    torch.testing.assert_close(g, fd, atol=1e-6, rtol=1e-6)
