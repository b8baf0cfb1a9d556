"""The model on a CUDA device: forward, fit, refine, symbolic fixing, save/load across devices.

Skipped without a CUDA device. Each test builds a CPU twin and compares: the same seed gives
the same initial parameters on both devices (they are drawn on the CPU), so the results may
differ only by float32 rounding of different kernels.
"""

import pytest
import torch

from kan_widgets import KAN

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture
def data():
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(400, 2, generator=gen) * 2 - 1
    y = torch.sin(torch.pi * X[:, :1]) + X[:, 1:] ** 2
    return X, y


def on_device(model, device):
    kinds = {p.device.type for p in model.parameters()} | {b.device.type for b in model.buffers()}
    return kinds == {torch.device(device).type}


def test_forward_matches_cpu(data):
    X, _ = data
    gpu, cpu = KAN([2, 5, 1], seed=0, device="cuda"), KAN([2, 5, 1], seed=0)
    assert on_device(gpu, "cuda") and gpu.device.type == "cuda"
    out = gpu(X.cuda())
    assert out.device.type == "cuda" and out.shape == (400, 1)
    torch.testing.assert_close(out.cpu(), cpu(X), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gpu.predict(X).cpu(), cpu.predict(X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opt,lr,batch", [("LBFGS", 1.0, -1), ("Adam", 1e-2, 100)])
def test_fit_on_cuda(data, opt, lr, batch):
    X, y = data
    gpu = KAN([2, 5, 1], seed=0, device="cuda")
    gpu.fit(X.cuda(), y.cuda(), steps=10, opt=opt, lr=lr, batch=batch, lamb=1e-3,
            X_test=X.cuda(), y_test=y.cuda(), progress=False)
    assert on_device(gpu, "cuda") and gpu.X_fit_.device.type == "cuda"
    hist = gpu.history_["train_rmse"]
    assert len(hist) == 10 and all(isinstance(v, float) for v in hist)
    assert hist[-1] < hist[0]
    # CPU data are accepted too and moved to the model
    gpu.fit(X, y, steps=2, opt=opt, lr=lr, progress=False)
    assert gpu.X_fit_.device.type == "cuda"
    if opt == "LBFGS":
        cpu = KAN([2, 5, 1], seed=0).fit(X, y, steps=10, lamb=1e-3, X_test=X, y_test=y,
                                         progress=False)
        assert abs(hist[1] - cpu.history_["train_rmse"][1]) < 1e-3


def test_refine_and_update_grid_on_cuda(data):
    X, y = data
    gpu = KAN([2, 5, 1], seed=0, device="cuda").fit(X, y, steps=10, progress=False)
    before = gpu.predict(X)
    gpu.refine(12)
    assert gpu.grid == 12 and on_device(gpu, "cuda")
    assert float((gpu.predict(X) - before).abs().max()) < 0.05 * float(before.abs().max())
    gpu.update_grid().fit(X, y, steps=3, progress=False)
    assert on_device(gpu, "cuda")


def test_fix_symbolic_on_cuda_matches_cpu(data):
    X, y = data
    gpu = KAN([2, 5, 1], seed=0, device="cuda").fit(X, y, steps=20, progress=False)
    cpu = gpu.copy().to("cpu")
    ranked_gpu = gpu.suggest_symbolic((0, 0, 0), topk=3)
    ranked_cpu = cpu.suggest_symbolic((0, 0, 0), topk=3)
    assert [f.name for f in ranked_gpu] == [f.name for f in ranked_cpu]
    name = ranked_gpu[0].name
    gpu.fix_symbolic((0, 0, 0), name)
    cpu.fix_symbolic((0, 0, 0), name)
    assert gpu.edge_mode((0, 0, 0)) == "symbolic" and on_device(gpu, "cuda")
    torch.testing.assert_close(gpu.predict(X).cpu(), cpu.predict(X), rtol=1e-4, atol=1e-4)
    gpu.auto_symbolic(r2_threshold=0.0).fit(X, y, steps=2, progress=False)
    assert on_device(gpu, "cuda")
    gpu.prune()
    assert on_device(gpu, "cuda")


def test_save_load_across_devices(data, tmp_path):
    X, y = data
    gpu = KAN([2, 5, 1], seed=0, device="cuda").fit(X, y, steps=5, progress=False)
    gpu.fix_symbolic((0, 1, 0), "x^2")
    path = gpu.save(tmp_path / "gpu.kan.pt")

    same = KAN.load(path)  # where it was saved
    assert on_device(same, "cuda") and same.X_fit_.device.type == "cuda"
    on_cpu = KAN.load(path, map_location="cpu")
    assert on_device(on_cpu, "cpu") and on_cpu.X_fit_.device.type == "cpu"
    for (k, a), b in zip(gpu.state_dict().items(), on_cpu.state_dict().values(), strict=True):
        assert torch.equal(a.cpu(), b) if isinstance(a, torch.Tensor) else a == b, k
    assert on_cpu.symbolic_fits_ == gpu.symbolic_fits_
    torch.testing.assert_close(on_cpu.predict(X), gpu.predict(X).cpu(), rtol=1e-5, atol=1e-5)
    on_cpu.refine(7)  # X_fit_ came along on the right device

    path = on_cpu.save(tmp_path / "cpu.kan.pt")
    back = KAN.load(path, map_location="cuda")
    assert on_device(back, "cuda") and back.X_fit_.device.type == "cuda"
    back.refine(9).fit(X, y, steps=2, progress=False)

    moved = on_cpu.copy().to("cuda")  # a fitted model moved by hand
    moved.refine(9)  # uses X_fit_, moved to the model's device on the way
    assert on_device(moved, "cuda")
