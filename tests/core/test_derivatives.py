"""Exact derivatives of any order through the layer's fast path, for every edge kind.

Reference: the same network evaluated with the dense Cox-de Boor basis composed with plain
torch ops (autograd differentiates it exactly). Finite differences check both."""

import pytest
import torch
from torch.func import functional_call, hessian, jacfwd, jacrev, vmap

from kan_widgets import KAN
from kan_widgets.core.bspline import bspline_basis
from kan_widgets.core.layer import BASE_FUNCTIONS

DT = torch.float64
KINDS = ["spline", "identity", "zero", "symbolic", "pruned", "uneven"]


def make_model(kind, width=(2, 3, 2), seed=0):
    """A float64 model whose edges are of ``kind`` (symbolic and pruned: a mix with splines)."""
    base = kind if kind in ("identity", "zero") else "silu"
    model = KAN(list(width), grid=4, seed=seed, base_fun=base, affine_trainable=True, dtype=DT)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():  # generic values: no derivative vanishes by symmetry
            p.add_(0.3 * torch.randn(p.shape, generator=gen, dtype=DT))
    if kind == "symbolic":
        model.layers[0].set_symbolic(0, 1, "sin", affine=[1.3, 0.2, 0.8, -0.1])
        model.layers[0].set_symbolic(1, 2, "x^2", affine=[0.7, -0.3, 1.1, 0.4])
        model.layers[1].set_symbolic(2, 0, "sin", affine=[2.0, 0.5, 0.6, 0.0])
    if kind == "pruned":
        model.layers[0].mask[1, 0] = 0
        model.layers[1].mask[0, 1] = 0
    if kind == "uneven":
        model.update_grid(torch.rand(200, width[0], generator=gen, dtype=DT) ** 3 * 1.6 - 0.8)
        assert all(layer._tables.uniform is None for layer in model.layers)
    return model


def inputs(n=5, n_in=2, seed=1, lo=-1.4, hi=1.4):
    """Samples inside and outside the grid ([-1, 1], or the uneven grid's range)."""
    return torch.rand(n, n_in, generator=torch.Generator().manual_seed(seed), dtype=DT) * (hi - lo) + lo


def reference_forward(model, x):
    """The network with every layer's features from the dense Cox-de Boor reference."""
    for layer in model.layers:
        dense = bspline_basis(x, layer.knots, layer.k)  # (B, n_in, K)
        feats = torch.cat([BASE_FUNCTIONS[layer.base_fun](x).unsqueeze(-1), dense], -1)
        x = layer.node_affine(layer.edge_sum(x, feats))
    return x


def as_function(model):
    """``f(x, *params)``: the model with its trainable parameters as explicit inputs."""
    names = [n for n, p in model.named_parameters() if p.requires_grad]

    def f(x, *params):
        return functional_call(model, dict(zip(names, params)), (x,))

    return f, [p.detach().clone().requires_grad_() for n, p in model.named_parameters()
               if p.requires_grad]


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_and_gradgradcheck_of_the_whole_model(kind):
    model = make_model(kind)
    f, params = as_function(model)
    x = inputs().requires_grad_()
    assert torch.autograd.gradcheck(f, (x, *params))
    assert torch.autograd.gradgradcheck(f, (x, *params))


@pytest.mark.parametrize("kind", KINDS)
def test_fast_path_equals_the_reference_in_value_gradient_and_second_derivative(kind):
    model = make_model(kind)
    x = inputs(40).requires_grad_()
    out = []
    for forward in (model, lambda z: reference_forward(model, z)):
        y = forward(x)
        (g,) = torch.autograd.grad(y[:, 0].sum(), x, create_graph=True)
        (h,) = torch.autograd.grad(g[:, 1].sum(), x, create_graph=True)  # d2y0 / dx1 dx_j
        # second derivative with respect to the parameters too (first layer's coefficients)
        (hp,) = torch.autograd.grad(h.sum(), model.layers[0].coef)
        out.append((y, g, h, hp))
    for a, b in zip(*out):
        assert b.abs().max() > 1e-3  # nothing vanished in the reference
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("kind", ["spline", "symbolic", "uneven"])
def test_input_hessian_against_finite_differences(kind):
    model = make_model(kind)
    for x0 in inputs(3):
        f = lambda z: model(z[None])[0].sum()  # noqa: E731
        H = torch.autograd.functional.hessian(f, x0)
        e, h = torch.eye(2, dtype=DT), 1e-4
        fd = torch.stack([torch.stack([
            (f(x0 + h * e[i] + h * e[j]) - f(x0 + h * e[i] - h * e[j])
             - f(x0 - h * e[i] + h * e[j]) + f(x0 - h * e[i] - h * e[j])) / (4 * h * h)
            for j in range(2)]) for i in range(2)]).detach()
        assert H.abs().max() > 1e-2
        torch.testing.assert_close(H, fd, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("kind", ["spline", "symbolic", "pruned", "uneven"])
def test_torch_func_jacrev_hessian_vmap_agree_with_autograd(kind):
    model = make_model(kind)
    for p in model.parameters():
        p.requires_grad_(False)
    X = inputs(6)
    f = lambda z: model(z[None])[0, 0]  # noqa: E731
    H_ref = torch.stack([torch.autograd.functional.hessian(f, x) for x in X])
    J_ref = torch.stack([torch.autograd.functional.jacobian(f, x) for x in X])
    assert H_ref.abs().max() > 1e-2
    torch.testing.assert_close(vmap(jacrev(f))(X), J_ref, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(vmap(hessian(f))(X), H_ref, atol=1e-12, rtol=1e-10)
    for second in (jacfwd(jacfwd(f)), jacrev(jacrev(f)), jacrev(jacfwd(f))):
        torch.testing.assert_close(second(X[0]), H_ref[0], atol=1e-12, rtol=1e-10)
    # a batch Jacobian straight through the model (vmap over the batch, jacrev inside)
    J = jacrev(lambda Z: model(Z).sum(0))(X)  # (n_out, B, n_in)
    torch.testing.assert_close(J[0].detach(), J_ref, atol=1e-12, rtol=1e-10)
    # forward mode outside torch.func (the custom Function's own jvp)
    import torch.autograd.forward_ad as fwAD

    t = torch.randn(X.shape, dtype=DT, generator=torch.Generator().manual_seed(0))
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(model(fwAD.make_dual(X, t))).tangent
    torch.testing.assert_close(tangent[:, 0], (J_ref * t).sum(1), atol=1e-12, rtol=1e-10)


def test_the_reported_second_derivative_is_exact_not_an_error_or_zero():
    """The issue's repro: KAN([1, 1]) in the default dtype."""
    m = KAN([1, 1])
    x = torch.linspace(-0.9, 0.9, 5)[:, None].requires_grad_()
    (g,) = torch.autograd.grad(m(x).sum(), x, create_graph=True)
    (g2,) = torch.autograd.grad(g.sum(), x)
    H = torch.autograd.functional.hessian(lambda z: m(z).sum(), x.detach())
    assert g2.abs().min() > 0
    torch.testing.assert_close(H.reshape(5, 5).diagonal(), g2[:, 0])
    xr = x.detach().requires_grad_()
    (gr,) = torch.autograd.grad(reference_forward(m, xr).sum(), xr, create_graph=True)
    (g2r,) = torch.autograd.grad(gr.sum(), xr)
    torch.testing.assert_close(g2, g2r, atol=1e-5, rtol=1e-4)


def _derivative_loss(model, x):
    """Mean squared input gradient: the kind of loss a PDE residual is made of."""
    x = x.detach().requires_grad_()
    (g,) = torch.autograd.grad(model(x).sum(), x, create_graph=True)
    return (g**2).mean()


def test_parameter_gradient_of_a_derivative_loss_matches_finite_differences(toy):
    model = KAN([2, 3, 1], grid=5, seed=0, dtype=DT)
    model.fit(toy, steps=5, progress=False)  # trained: uneven grids, curved splines
    x = toy.X_train[:200].to(DT)
    loss = _derivative_loss(model, x)
    params = [model.layers[0].coef, model.layers[0].scale_base, model.layers[1].coef]
    grads = torch.autograd.grad(loss, params)
    gen = torch.Generator().manual_seed(0)
    for p, g in zip(params, grads):
        flat = p.data.view(-1)
        for idx in torch.randint(flat.numel(), (4,), generator=gen).tolist():
            old, eps = flat[idx].item(), 1e-6
            flat[idx] = old + eps
            hi = _derivative_loss(model, x).item()
            flat[idx] = old - eps
            lo = _derivative_loss(model, x).item()
            flat[idx] = old
            fd = (hi - lo) / (2 * eps)
            assert g.reshape(-1)[idx].item() == pytest.approx(fd, rel=1e-5, abs=1e-9)
    assert max(g.abs().max().item() for g in grads) > 1e-3


# ----------------------------------------------------------------------------- the regulariser
def test_regulariser_functions_have_exact_second_derivatives():
    from kan_widgets.core.regularizer import edge_variance, sparsity_entropy

    gen = torch.Generator().manual_seed(4)
    feats = torch.randn(7, 3, 4, dtype=DT, generator=gen).requires_grad_()
    weight = torch.randn(3, 4, 2, dtype=DT, generator=gen).requires_grad_()
    assert torch.autograd.gradcheck(edge_variance, (feats, weight))
    assert torch.autograd.gradgradcheck(edge_variance, (feats, weight))
    var = (torch.rand(3, 2, dtype=DT, generator=gen) + 0.1).requires_grad_()
    denom = (torch.rand(3, dtype=DT, generator=gen) + 0.5).requires_grad_()
    f = lambda v, d: sparsity_entropy(v, d, 0.7, 1.9)  # noqa: E731
    assert torch.autograd.gradcheck(f, (var, denom))
    assert torch.autograd.gradgradcheck(f, (var, denom))


class _Objective(torch.nn.Module):
    """The fit objective (squared output plus the regulariser) as a module, for functional_call."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        from kan_widgets.core.regularizer import regularization

        y, reg = regularization(self.model, x, lamb_l1=0.7, lamb_entropy=1.9)
        return y.pow(2).mean() + reg


def test_regularised_objective_has_exact_derivatives_through_autograd_and_torch_func():
    module = _Objective(make_model("symbolic"))
    objective, params = as_function(module)
    x = inputs(5).requires_grad_()
    assert torch.autograd.gradcheck(objective, (x, *params))
    assert torch.autograd.gradgradcheck(objective, (x, *params))
    # torch.func: gradient and Hessian in the input equal those of autograd
    f = lambda z: objective(z, *params)  # noqa: E731
    g_ref = torch.autograd.grad(f(x), x)[0]
    H_ref = torch.autograd.functional.hessian(f, x.detach())
    torch.testing.assert_close(jacrev(f)(x.detach()), g_ref, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(hessian(f)(x.detach()), H_ref, atol=1e-12, rtol=1e-10)
    assert H_ref.abs().max() > 1e-2
