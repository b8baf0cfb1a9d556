import pytest
import torch

from kan_widgets import KAN, EdgeId


def test_width_list_is_not_mutated_and_shapes():
    width = [3, 4, 2]
    model = KAN(width, grid=5, k=3)
    width.append(9)
    assert model.width == [3, 4, 2]
    x = torch.rand(17, 3)
    assert model(x).shape == (17, 2)
    assert [a.shape for a in model.activations(x)] == [(17, 4, 3), (17, 2, 4)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fast_path_equals_inspect_path(dtype):
    model = KAN([3, 4, 2], grid=7, k=3, seed=1, dtype=dtype)
    x = torch.rand(64, 3, dtype=dtype) * 2 - 1
    model.update_grid(x)  # non-uniform grids exercise the general path
    model.prune_edge((0, 1, 2))
    xs = model.layer_inputs(x)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    for l, layer in enumerate(model.layers):
        acts = model.activations(x, layer=l)
        summed = layer.node_scale * acts.sum(-1) + layer.node_bias
        assert torch.allclose(summed, xs[l + 1], atol=tol)
    assert model.activations(x, layer=0)[:, 2, 1].abs().max() == 0


def test_same_seed_same_model_different_seed_differs():
    a, b, c = KAN([2, 3, 1], seed=3), KAN([2, 3, 1], seed=3), KAN([2, 3, 1], seed=4)
    for (n, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q) if torch.is_tensor(p) else p == q, n
    assert not torch.equal(a.layers[0].coef, c.layers[0].coef)


def test_edges_and_modes():
    model = KAN([2, 2, 1])
    assert len(model.edges()) == 6
    model.prune_edge(EdgeId(0, 1, 0))
    assert model.edge_mode((0, 1, 0)) == "pruned"
    assert model.edges("pruned") == [EdgeId(0, 1, 0)]
    assert "pruned" in repr(model) and "0,1,0" in repr(model)


def test_gradients_reach_every_trainable_parameter():
    model = KAN([2, 3, 1], affine_trainable=True)
    x = torch.rand(32, 2) * 2 - 1
    model(x).pow(2).mean().backward()
    for name, p in model.named_parameters():
        if p.requires_grad and "sym_affine" not in name:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_input_gradient_matches_finite_difference():
    model = KAN([2, 3, 1], grid=4, seed=2, dtype=torch.float64)
    x = (torch.rand(8, 2, dtype=torch.float64) * 1.6 - 0.8).requires_grad_()
    model.update_grid(x.detach())
    assert torch.autograd.gradcheck(lambda v: model(v), (x,), eps=1e-6, atol=1e-6)
