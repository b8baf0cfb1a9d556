import math
import warnings

import pytest
import torch

from kan_widgets import KAN, FitDivergedWarning


def _tensors(model) -> dict:
    """The tensors of ``state_dict()`` (without the layers' extra state, symbolic names)."""
    return {k: v for k, v in model.state_dict().items() if torch.is_tensor(v)}

def test_fit_returns_self_and_records_history(toy):
    model = KAN([2, 3, 1], seed=0)
    out = model.fit(toy, steps=5, progress=False)
    assert out is model
    assert len(model.history_["train_rmse"]) == 5 and model.history_["step"] == [0, 1, 2, 3, 4]
    assert model.history_["test_rmse"][-1] < model.history_["test_rmse"][0]
    assert model.X_fit_.shape == (1000, 2)
    assert model.variables_ == ["x", "y"]
    model.fit(toy, steps=2, progress=False)
    assert model.history_["step"][-2:] == [5, 6]


def test_same_seed_same_data_bitwise_same(toy):
    runs = []
    for _ in range(2):
        m = KAN([2, 3, 1], seed=7).fit(toy, steps=4, lamb=1e-3, batch=200, progress=False)
        runs.append(m)
    a, b = runs
    assert a.history_ == b.history_
    for p, q in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(p, q) if torch.is_tensor(p) else p == q


def test_adam_and_minibatch_reduce_loss(toy):
    model = KAN([2, 3, 1], seed=0)
    model.fit(toy, steps=60, opt="Adam", lr=1e-2, batch=128, progress=False)
    h = model.history_["test_rmse"]
    assert h[-1] < 0.7 * h[0]


def test_regularisation_matches_activation_std(toy):
    """The covariance form of the sparsity term equals pykan's std of materialised activations."""
    from kan_widgets.core.regularizer import spline_edge_std

    model = KAN([2, 3, 1], seed=0, dtype=torch.float64)
    x = toy.X_train.double()
    layer = model.layers[0]
    got = spline_edge_std(layer.features(x), layer.packed_weight())  # (in, out)
    ref = layer.activations(x).std(0).T  # (in, out)
    assert torch.allclose(got, ref, atol=1e-10)


def _pykan_reg(model, x, lamb_l1, lamb_entropy):
    """pykan 0.2.8's regulariser written with materialised activations and plain autograd."""
    reg = 0.0
    for layer in model.layers:
        acts = layer.activations(x)  # (B, out, in)
        vec = acts.std(0) / (x.std(0) + 0.1)  # (out, in)
        p_row = vec / (vec.sum(1, keepdim=True) + 1)
        p_col = vec / (vec.sum(0, keepdim=True) + 1)
        ent_row = -(p_row * torch.log2(p_row + 1e-4)).sum(1).mean()
        ent_col = -(p_col * torch.log2(p_col + 1e-4)).sum(0).mean()
        reg = reg + lamb_l1 * vec.sum() + lamb_entropy * (ent_row + ent_col)
        x = layer(x)
    return reg


def test_regulariser_value_and_gradients_match_pykans_formula(toy):
    """The analytic backward passes give the gradients autograd gives on pykan's formula."""
    from kan_widgets.core.regularizer import regularization

    model = KAN([2, 3, 1], seed=0, dtype=torch.float64)
    model.fit(toy, steps=2, progress=False)  # non-uniform grids, trained weights
    x = toy.X_train.double()[:300]
    grads = []
    for fn in (lambda: regularization(model, x, 0.7, 1.9)[1], lambda: _pykan_reg(model, x, 0.7, 1.9)):
        model.zero_grad()
        value = fn()
        value.backward()
        got = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        grads.append((float(value.detach()), got))
    (ours, g_ours), (ref, g_ref) = grads
    assert ours == pytest.approx(ref, rel=1e-10)
    assert len(g_ours) == len(g_ref) >= 4
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


def test_regulariser_backward_passes_pass_gradcheck():
    from kan_widgets.core.regularizer import edge_variance, sparsity_entropy

    gen = torch.Generator().manual_seed(0)
    feats = torch.rand(40, 3, 5, dtype=torch.float64, generator=gen).requires_grad_()
    weight = torch.randn(3, 5, 4, dtype=torch.float64, generator=gen).requires_grad_()
    assert torch.autograd.gradcheck(edge_variance, (feats, weight))
    var = (torch.rand(3, 4, dtype=torch.float64, generator=gen) + 0.1).requires_grad_()
    denom = (torch.rand(3, dtype=torch.float64, generator=gen) + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(lambda v, d: sparsity_entropy(v, d, 0.7, 1.9), (var, denom))


def test_callback_can_stop(toy):
    seen = []
    model = KAN([2, 2, 1]).fit(toy, steps=10, progress=False,
                               callback=lambda info: seen.append(info["step"]) or len(seen) >= 3)
    assert seen == [0, 1, 2] and len(model.history_["step"]) == 3


def test_diverging_fit_rolls_back_and_warns(toy):
    model = KAN([2, 3, 1], seed=0).fit(toy, steps=3, progress=False)
    good = {k: v.clone() for k, v in _tensors(model).items()}
    with pytest.warns(FitDivergedWarning, match="rolled back"):
        model.fit(toy, steps=5, opt="Adam", lr=1e4, progress=False,
                  loss_fn=lambda p, t: ((p - t) ** 2).mean() * float("inf"))
    for k, v in _tensors(model).items():
        assert torch.isfinite(v).all(), k
        assert torch.equal(v, good[k]) or "knots" in k or "coef" in k  # grid update may move
    assert len(model.history_["step"]) == 3


def test_diverging_parameters_never_left_behind(toy):
    model = KAN([2, 2, 1], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitDivergedWarning)
        model.fit(toy, steps=5, opt="Adam", lr=1e30, progress=False, update_grid=False)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_error_inside_a_step_restores_the_model(toy):
    model = KAN([2, 2, 1], seed=0).fit(toy, steps=1, progress=False)
    before = {k: v.clone() for k, v in _tensors(model).items()}

    def bad_loss(pred, target):
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError):
        model.fit(toy, steps=2, progress=False, update_grid=False, loss_fn=bad_loss)
    for k, v in _tensors(model).items():
        assert torch.equal(v, before[k]), k


@pytest.mark.slow
def test_paper_toy_reaches_1e_3(toy):
    """The paper's recipe: fit with sparsity, prune, refit, refine, refit."""
    model = KAN([2, 5, 1], grid=5, k=3, seed=0)
    model.fit(toy, steps=50, lamb=1e-3, progress=False)
    model.prune()
    assert model.width == [2, 5, 1] and len(model.dead_nodes()) >= 3
    model = model.compact()
    model.fit(toy, steps=50, progress=False)
    model.refine(20).fit(toy, steps=50, progress=False)
    rmse = model.history_["test_rmse"][-1]
    assert math.isfinite(rmse) and rmse < 1e-3


def test_bitwise_same_across_processes(tmp_path):
    """Two fresh interpreters, same seed and data: identical saved parameters and losses."""
    import subprocess
    import sys

    script = (
        "import sys, torch, hashlib\n"
        "from kan_widgets import KAN, datasets\n"
        "f = lambda X: torch.exp(torch.sin(torch.pi * X[:, 0]) + X[:, 1] ** 2)\n"
        "ds = datasets.from_function(f, n_var=2, n_train=300, n_test=100, seed=1)\n"
        "m = KAN([2, 3, 1], seed=5).fit(ds, steps=3, lamb=1e-3, progress=False).refine(8)\n"
        "h = hashlib.sha256()\n"
        "for v in m.state_dict().values(): h.update(v.numpy().tobytes() if torch.is_tensor(v)"
        " else repr(v).encode())\n"
        "h.update(repr(m.history_).encode())\n"
        "print(h.hexdigest())\n"
    )
    outs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True).stdout.strip() for _ in range(2)]
    assert outs[0] == outs[1] and len(outs[0]) == 64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_and_forward_on_cuda(toy):
    model = KAN([2, 3, 1], seed=0, device="cuda").fit(toy, steps=3, progress=False)
    assert model.device.type == "cuda"
    cpu = KAN([2, 3, 1], seed=0).fit(toy, steps=3, progress=False)
    assert abs(model.history_["test_rmse"][-1] - cpu.history_["test_rmse"][-1]) < 1e-3


def test_cached_first_layer_gives_the_same_value_and_gradients(toy):
    """fit reuses the first layer's features within a step; the result must not change."""
    from kan_widgets.core.regularizer import first_layer_inputs, regularization

    model = KAN([2, 5, 1], seed=2, dtype=torch.float64).fit(toy, steps=3, lamb=1e-3, progress=False)
    x = toy.X_train.double()
    res = []
    for first in (None, first_layer_inputs(model.layers[0], x)):
        model.zero_grad()
        out, reg = regularization(model, x, first=first)
        (out.sum() + reg).backward()
        res.append((out.detach(), reg.detach(), [p.grad.clone() for p in model.parameters()
                                                 if p.grad is not None]))
    (out_a, reg_a, g_a), (out_b, reg_b, g_b) = res
    assert torch.equal(out_a, out_b) and float(reg_a) == pytest.approx(float(reg_b), rel=1e-12)
    for a, b in zip(g_a, g_b, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_parameters_own_their_storage_after_fit(toy):
    """L-BFGS trains on views of one flat buffer; fit hands every parameter its own back."""
    model = KAN([2, 3, 1], seed=0).fit(toy, steps=2, progress=False)
    for p in model.parameters():
        assert p.untyped_storage().nbytes() == p.numel() * p.element_size()
        assert p.grad is None or p.grad.untyped_storage().nbytes() == p.numel() * p.element_size()


def test_history_names_what_it_records(toy):
    """Default loss: train_loss is the MSE, train_rmse its root. A custom loss is recorded as
    train_loss / test_loss, and the RMSE keys still hold the RMSE."""
    model = KAN([2, 3, 1], seed=0).fit(toy, steps=3, progress=False)
    h = model.history_
    assert set(h) == {"step", "train_loss", "train_rmse", "test_loss", "test_rmse", "reg"}
    assert all(len(v) == 3 for v in h.values())
    for loss, rmse in zip(h["train_loss"], h["train_rmse"]):
        assert rmse == pytest.approx(math.sqrt(loss), rel=1e-12)
    assert h["test_rmse"][-1] == pytest.approx(model.score(toy.X_test, toy.y_test), rel=1e-5)

    mae = lambda p, t: (p - t).abs().mean()  # noqa: E731
    custom = KAN([2, 3, 1], seed=0).fit(toy, steps=3, progress=False, loss_fn=mae,
                                        update_grid=False)
    h = custom.history_
    with torch.no_grad():
        pred = custom.predict(toy.X_test)
    assert h["test_loss"][-1] == pytest.approx(float(mae(pred, toy.y_test)), rel=1e-5)
    assert h["test_rmse"][-1] == pytest.approx(custom.score(toy.X_test, toy.y_test), rel=1e-5)
    assert h["train_rmse"][-1] != pytest.approx(math.sqrt(h["train_loss"][-1]), rel=1e-3)


def test_fit_continues_a_log_loaded_without_the_newer_keys(toy):
    model = KAN([2, 3, 1], seed=0).fit(toy, steps=2, progress=False)
    for key in ("train_loss", "test_loss"):
        del model.history_[key]  # a model saved before these were recorded
    model.fit(toy, steps=1, progress=False)
    h = model.history_
    assert h["step"] == [0, 1, 2] and len(h["train_loss"]) == 3
    assert math.isnan(h["train_loss"][0]) and math.isfinite(h["train_loss"][2])
