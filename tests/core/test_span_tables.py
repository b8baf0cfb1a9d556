"""The one fast B-spline path (per-span tables, with the uniform closed form) against the
Cox-de Boor reference: values and derivatives of any order, uniform and uneven grids, samples
inside and outside the grid."""

import pytest
import torch

from kan_widgets.core import span_tables
from kan_widgets.core.bspline import bspline_basis, extend_grid, uniform_grid
from kan_widgets.core.span_tables import build_span_tables, local_values, scatter_features


def _dense(x, knots, tables, order=0, closed_form=True):
    """Scatter the fast path's local values into a dense (B, n_in, K) basis."""
    values, slots, _ = local_values(x, knots, tables, order, closed_form=closed_form)
    return scatter_features(values, slots, knots.shape[1] - values.shape[0] + 1)[..., 1:]


def _knots(spread, k, n_in=3, G=7, dtype=torch.float64):
    gen = torch.Generator().manual_seed(k + 10 * spread)
    g = torch.sort(torch.rand(n_in, G + 1, dtype=torch.float64, generator=gen) ** spread, 1)[0]
    return extend_grid(g * 2 - 1, k).to(dtype)


def _reference_derivative(x, knots, k, order):
    """d^order/dx^order of the dense Cox-de Boor basis by autograd (float64)."""
    x = x.detach().double().requires_grad_()
    out = bspline_basis(x, knots.double(), k)  # (B, n_in, K)
    rows = []
    for c in range(out.shape[-1]):
        v = out[..., c]
        for _ in range(order):
            if not v.requires_grad:  # piecewise constant already: the next derivative is zero
                v = torch.zeros_like(v)
                break
            (v,) = torch.autograd.grad(v.sum(), x, create_graph=True)
        rows.append(v.detach())
    return torch.stack(rows, -1)


@pytest.mark.parametrize("lattice", [True, False])
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-11), (torch.float32, 3e-6)])
@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
def test_values_match_cox_de_boor_on_uneven_grids(k, dtype, tol, lattice, monkeypatch):
    if not lattice:
        monkeypatch.setattr(span_tables, "_LATTICE_MAX_CELLS", 0)
    knots = _knots(3, k, dtype=dtype)  # strongly uneven spans, knots shared by both paths
    tables = build_span_tables(knots, k)
    assert (tables.lattice is not None) == lattice and tables.uniform is None
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(4000, 3, dtype=torch.float64, generator=gen) * 3 - 1.5).to(dtype)
    x[:5] = knots[:, :5].T  # samples exactly on knots
    got = _dense(x, knots, tables)
    ref = bspline_basis(x.double(), knots.double(), k)
    torch.testing.assert_close(got.double(), ref, atol=tol, rtol=0)


@pytest.mark.parametrize("inside", [True, False])
@pytest.mark.parametrize("closed_form", [True, False])
@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
def test_uniform_grid_closed_form_and_tables_match_cox_de_boor(k, closed_form, inside):
    """Inside the grid points a uniform grid takes the closed form; outside, the tables."""
    knots = uniform_grid(3, 7, (-1, 1), k, dtype=torch.float64)
    tables = build_span_tables(knots, k)
    assert tables.uniform is not None
    gen = torch.Generator().manual_seed(k)
    x = torch.rand(3000, 3, dtype=torch.float64, generator=gen) * (1.998 if inside else 4) - (
        0.999 if inside else 2)
    assert span_tables._inside_grid(x, knots, k) == inside
    got = _dense(x, knots, tables, closed_form=closed_form)
    torch.testing.assert_close(got, bspline_basis(x, knots, k), atol=1e-12, rtol=0)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("grid", ["uniform", "uneven"])
@pytest.mark.parametrize("k", [1, 3])
def test_derivatives_of_any_order_match_autograd_of_the_reference(k, grid, order):
    knots = uniform_grid(3, 6, (-1, 1), k, dtype=torch.float64) if grid == "uniform" else _knots(2, k)
    tables = build_span_tables(knots, k)
    gen = torch.Generator().manual_seed(order)
    for x in (torch.rand(400, 3, dtype=torch.float64, generator=gen) * 1.6 - 0.8,  # closed form
              torch.rand(400, 3, dtype=torch.float64, generator=gen) * 4 - 2):  # tables, outside
        ref = _reference_derivative(x, knots, k, order)
        assert order > k or ref.abs().max() > 0.1  # the test sees non-zero derivatives
        for closed_form in (True, False):
            got = _dense(x, knots, tables, order, closed_form)
            torch.testing.assert_close(got, ref, atol=1e-8 * 10**order, rtol=1e-9)
        # with_next: the order + 1 values in the same pass
        v, slots, nxt = local_values(x, knots, tables, order, with_next=True)
        dense_next = scatter_features(nxt, slots, knots.shape[1] - k)[..., 1:]
        torch.testing.assert_close(dense_next, _dense(x, knots, tables, order + 1),
                                   atol=1e-9, rtol=1e-12)


def test_float32_precision_at_fine_grid():
    knots64 = uniform_grid(1, 50, (-1, 1), 3, dtype=torch.float64)
    x = torch.rand(1000, 1, dtype=torch.float64) * 2 - 1
    ref = bspline_basis(x, knots64, 3)
    for closed_form in (True, False):
        knots = knots64.float()
        got = _dense(x.float(), knots, build_span_tables(knots, 3), closed_form=closed_form)
        assert (got.double() - ref).abs().max() < 1e-5


def test_outside_the_knots_is_zero_and_nan_propagates():
    knots = _knots(1, 3)
    tables = build_span_tables(knots, 3)
    x = torch.tensor([[-50.0, 7.0, float("nan")], [1e30, -1e30, 0.0]], dtype=torch.float64)
    got = _dense(x, knots, tables)
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
    torch.testing.assert_close(_dense(x, knots, tables), bspline_basis(x, knots, 3), atol=1e-9,
                               rtol=0)


@pytest.mark.parametrize("inside", [True, False])
@pytest.mark.parametrize("adaptive", [False, True])
def test_layer_features_and_spline_values_equal_the_dense_reference(adaptive, inside):
    """``[silu(x), B_1(x) .. B_K(x)]`` from the closed form (uniform grid, samples inside) and
    from the tables (adaptive grid, or samples outside the grid points)."""
    from kan_widgets.core.grid import update_layer_grid
    from kan_widgets.core.layer import KANLayer

    layer = KANLayer(4, 3, grid=6, k=3, dtype=torch.float64)
    gen = torch.Generator().manual_seed(3)
    if adaptive:
        update_layer_grid(layer, torch.rand(300, 4, dtype=torch.float64, generator=gen) ** 2)
    assert (layer._tables.uniform is None) == adaptive
    x = torch.rand(500, 4, dtype=torch.float64, generator=gen) * (1.8 if inside else 3) - (
        0.9 if inside else 1.5)
    x = x.requires_grad_()
    feats = layer.features(x)
    dense = bspline_basis(x.detach(), layer.knots, 3)
    torch.testing.assert_close(feats[..., 0], torch.nn.functional.silu(x))
    torch.testing.assert_close(feats[..., 1:], dense, atol=1e-12, rtol=0)
    torch.testing.assert_close(layer.spline_values(x.detach()),
                               torch.einsum("bic,ioc->bio", dense, layer.coef.detach()),
                               atol=1e-12, rtol=0)
    w = torch.randn(feats.shape, dtype=torch.float64, generator=gen)
    (g,) = torch.autograd.grad((feats * w).sum(), x)
    eps = 1e-6
    with torch.no_grad():
        fd = ((layer.features(x + eps) - layer.features(x - eps)) * w).sum(-1) / (2 * eps)
    torch.testing.assert_close(g, fd, atol=1e-6, rtol=1e-6)
