"""Resources: construction memory and time linear in the grid size, and sizes that cannot fit
refused up front with the estimate."""

import subprocess
import sys

import pytest
import torch

import kan_widgets.core.grid as grid_mod
from kan_widgets import KAN
from kan_widgets.core.bspline import bspline_basis, uniform_grid
from kan_widgets.core.resources import ModelTooLargeError, model_bytes


def test_window_basis_is_the_dense_basis_columns_bitwise():
    torch.manual_seed(0)
    knots = uniform_grid(3, 17, (-1, 1), 3, dtype=torch.float64)
    knots[1] = torch.sort(torch.rand(knots.shape[1], dtype=torch.float64) * 3 - 1.5).values
    x = torch.rand(300, 3, dtype=torch.float64) * 3 - 1.5
    start = grid_mod._window_start(x, knots, 3)
    dense = bspline_basis(x, knots, 3)
    want = dense.gather(2, start[..., None] + torch.arange(4))
    assert torch.equal(grid_mod.window_basis(x, knots, 3, start), want)
    cols = start[..., None] + torch.arange(4)
    assert float(dense.scatter(2, cols, 0.0).abs().max()) == 0.0  # nothing outside the window


@pytest.mark.parametrize("G, k", [(5, 3), (40, 2), (130, 3), (70, 1)])
def test_banded_least_squares_equals_the_dense_one(G, k, monkeypatch):
    torch.manual_seed(1)
    knots = uniform_grid(2, G, (-1, 1), k, dtype=torch.float64)
    x = torch.rand(3 * G + 20, 2, dtype=torch.float64) * 2.4 - 1.2
    y = torch.randn(x.shape[0], 2, 3, dtype=torch.float64)
    monkeypatch.setattr(grid_mod, "BANDED_FROM", 10**9)
    dense = grid_mod.fit_coef(x, y, knots, k)
    monkeypatch.setattr(grid_mod, "BANDED_FROM", 1)
    banded = grid_mod.fit_coef(x, y, knots, k)
    torch.testing.assert_close(banded, dense, rtol=1e-9, atol=1e-9 * float(dense.abs().max()))


_PEAK = """
import resource, sys, time, torch
from kan_widgets import KAN
KAN([2, 1], grid=5)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
m = KAN([2, 1], grid=int(sys.argv[1]))
dt = time.perf_counter() - t
x = torch.linspace(-1, 1, 1000)[:, None].repeat(1, 2)
assert bool(torch.isfinite(m(x)).all())
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024, dt)
"""


def _peak(grid):
    out = subprocess.run([sys.executable, "-c", _PEAK, str(grid)], capture_output=True,
                         text=True, check=True)
    extra, seconds = out.stdout.split()
    return int(extra), float(seconds)


def test_construction_memory_grows_linearly_with_the_grid():
    # the dense least squares and span tables took 1.75 GB at grid=2000 (G^2); in band
    # storage a [2, 1] model needs a few MB per thousand grid intervals
    extra, seconds = _peak(3000)
    assert extra < 150 * 2**20, f"{extra / 2**20:.0f} MB above the import for grid=3000"
    assert seconds < 20


def test_sizes_that_cannot_fit_are_refused_with_the_estimate(monkeypatch):
    with pytest.raises(MemoryError, match=r"needs about .*TB.* for its parameters"):
        KAN([1000, 1000, 1000], grid=10**6)
    monkeypatch.setenv("KW_MAX_MODEL_BYTES", str(10**6))
    need = model_bytes([10, 10], 1000, 3)
    with pytest.raises(ModelTooLargeError, match="only 977 KB is available"):
        KAN([10, 10], grid=1000)
    assert need > 10**6 / 4
    m = KAN([2, 1], grid=5)
    with pytest.raises(ValueError, match="needs about"):  # also a ValueError
        m.refine(10**6, X=torch.zeros(4, 2))
    assert m.grid == 5
