"""``core.lbfgs.LBFGS`` on its own: convergence, agreement with torch's L-BFGS, the flat
buffer's views, snapshot/restore and release."""

import pytest
import torch

from kan_widgets.core.lbfgs import LBFGS


def _rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _closure(opt, fn, *params):
    def closure():
        opt.zero_grad()
        loss = fn(*params)
        loss.backward()
        return loss
    return closure


def test_minimises_rosenbrock_to_the_known_minimum():
    p = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    opt = LBFGS([p], lr=1.0, max_iter=200)
    for _ in range(5):
        opt.step(_closure(opt, _rosenbrock, p))
    opt.release()
    assert torch.allclose(p.detach(), torch.tensor([1.0, 1.0], dtype=torch.float64), atol=1e-8)


def test_least_squares_matches_torch_lbfgs_and_the_exact_solution():
    gen = torch.Generator().manual_seed(0)
    A = torch.randn(40, 6, generator=gen, dtype=torch.float64)
    b = torch.randn(40, generator=gen, dtype=torch.float64)
    exact = torch.linalg.lstsq(A, b[:, None], driver="gelsd").solution[:, 0]

    def loss(w):
        return ((A @ w - b) ** 2).sum()

    ours = torch.zeros(6, dtype=torch.float64, requires_grad=True)
    opt = LBFGS([ours], max_iter=50)
    opt.step(_closure(opt, loss, ours))
    opt.release()
    ref = torch.zeros(6, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.LBFGS([ref], max_iter=50, line_search_fn="strong_wolfe",
                             tolerance_grad=1e-32, tolerance_change=1e-32)
    topt.step(_closure(topt, loss, ref))
    assert torch.allclose(ours.detach(), exact, atol=1e-9)
    assert torch.allclose(ours.detach(), ref.detach(), atol=1e-9)


def test_parameters_are_views_of_one_buffer_until_release():
    a = torch.ones(2, 3, requires_grad=True)
    b = torch.zeros(4, requires_grad=True)
    opt = LBFGS([a, b])
    assert a.data_ptr() != b.data_ptr()
    assert a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()  # one flat buffer
    assert a.shape == (2, 3) and b.shape == (4,)
    assert torch.equal(a.detach(), torch.ones(2, 3)) and torch.equal(b.detach(), torch.zeros(4))
    opt.release()
    assert a.untyped_storage().data_ptr() != b.untyped_storage().data_ptr()
    assert a.grad is None and b.grad is None


def test_snapshot_restore_and_finiteness():
    p = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = LBFGS([p])
    snap = opt.snapshot()
    with torch.no_grad():
        p.add_(float("nan"))
    assert not opt.params_finite()
    opt.restore(snap)
    assert opt.params_finite()
    assert torch.equal(p.detach(), torch.tensor([1.0, 2.0]))
    opt.release()


def test_keeps_curvature_pairs_below_torchs_fixed_threshold():
    # an objective whose curvature pairs have y.s far below 1e-10: with torch's threshold the
    # memory would stay empty; ours keeps them and still converges
    scale = 1e-6
    p = torch.tensor([3.0, -2.0], dtype=torch.float64, requires_grad=True)
    target = torch.tensor([1e-3, 2e-3], dtype=torch.float64)

    def loss(q):
        return scale * ((q - target) ** 2 * torch.tensor([1.0, 10.0], dtype=torch.float64)).sum()

    opt = LBFGS([p], max_iter=100)
    opt.step(_closure(opt, loss, p))
    assert opt.state.get("old_dirs"), "no curvature pair entered the memory"
    opt.release()
    assert torch.allclose(p.detach(), target, atol=1e-9)


def test_refuses_bad_parameter_sets():
    with pytest.raises(ValueError, match="no parameters"):
        LBFGS([])
    with pytest.raises(ValueError, match="one dtype"):
        LBFGS([torch.zeros(2, requires_grad=True),
               torch.zeros(2, dtype=torch.float64, requires_grad=True)])
