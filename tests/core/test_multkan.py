"""Multiplication nodes (pykan's MultKAN): structure, exact products, every verb."""

import pytest
import sympy as sp
import torch
from tests_bitwise import assert_same, full_state

from kan_widgets import KAN
from kan_widgets.symbolic.formula import formula, snap_constants

DT = torch.float64


def identity_product(width=(2, [0, 1], 1), mult_arity=2):
    """A float64 MultKAN whose live edges are fixed identities: it computes products exactly."""
    model = KAN(list(width), mult_arity=mult_arity, grid=3, seed=0, dtype=DT)
    with torch.no_grad():
        for layer in model.layers:
            layer.mask.zero_()
    return model


def xy_model():
    """[2, [0, 1], 1] with x -> sub-node 0, y -> sub-node 1, product -> output."""
    model = identity_product()
    for e in [(0, 0, 0), (0, 1, 1), (1, 0, 0)]:
        model.unprune(e)
        model.fix_symbolic(e, "x", fit=False)
    return model


def generic(width, mult_arity=2, seed=0):
    model = KAN(width, mult_arity=mult_arity, grid=4, seed=seed, affine_trainable=True,
                dtype=DT)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=gen, dtype=DT))
    return model


def test_structure_and_widths():
    model = KAN([3, [1, 2], [2, 1], 2], mult_arity=[0, [2, 3], 2, 0])
    assert model.width == [3, 3, 3, 2]
    assert model.width_out == [3, 6, 4, 2]
    assert model.width_spec == [3, [1, 2], [2, 1], 2]
    assert model.mult_arity == [[], [2, 3], [2], []]
    assert [(lay.n_in, lay.n_out) for lay in model.layers] == [(3, 6), (3, 4), (3, 2)]
    assert model(torch.rand(4, 3)).shape == (4, 2)
    assert model.has_mult and not KAN([2, 3, 1]).has_mult
    plain = KAN([2, 3, 1])
    assert plain.width == plain.width_out == plain.width_spec == [2, 3, 1]
    assert "mult_arity" not in plain.config
    assert "KAN(width=[3, [1, 2], [2, 1], 2], mult_arity=" in repr(model)


@pytest.mark.parametrize("width, arity, match", [
    ([[1, 1], 2, 1], 2, "inputs cannot be multiplication"),
    ([2, 2, [0, 1]], 2, "outputs cannot be multiplication"),
    ([2, [1, 2, 3], 1], 2, r"\[n_sum, n_mult\], two ints"),
    ([2, [0, 0], 1], 2, "at least one node"),
    ([2, [0, 1], 1], 1, "mult_arity = 1 must be >= 2"),
    ([2, [0, 2], 1], [0, [2], 0], "give 2 arities"),
    ([2, [0, 1], 1], [2, 2], "one entry per layer"),
])
def test_bad_widths_say_what_to_fix(width, arity, match):
    with pytest.raises((ValueError, TypeError), match=match):
        KAN(width, mult_arity=arity)


def test_identity_edges_multiply_exactly():
    model = xy_model()
    x = torch.randn(50, 2, dtype=DT)
    assert torch.equal(model(x)[:, 0], x[:, 0] * x[:, 1])
    # three factors, mixed arities in one layer: [x0*x1*x2, x0*x1]
    model = identity_product((3, [0, 2], 2), mult_arity=[0, [3, 2], 0])
    for e in [(0, 0, 0), (0, 1, 1), (0, 2, 2), (0, 0, 3), (0, 1, 4), (1, 0, 0), (1, 1, 1)]:
        model.unprune(e)
        model.fix_symbolic(e, "x", fit=False)
    x = torch.randn(30, 3, dtype=DT)
    out = model(x)
    assert torch.equal(out[:, 0], x[:, 0] * x[:, 1] * x[:, 2])
    assert torch.equal(out[:, 1], x[:, 0] * x[:, 1])


def test_derivatives_of_any_order():
    model = generic([2, [1, 2], 1], mult_arity=[0, [2, 3], 0])
    x = (torch.rand(6, 2, dtype=DT) * 2 - 1).requires_grad_(True)
    f = lambda t: model(t)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x,))
    assert torch.autograd.gradgradcheck(f, (x,))
    # parameters too: the product's backward reaches every sub-node's edges
    loss = model(x.detach()).pow(2).sum()
    grads = torch.autograd.grad(loss, [model.layers[0].coef])
    assert grads[0][:, 1:].abs().sum() > 0


def test_fit_update_grid_attribution():
    torch.manual_seed(0)
    X = torch.rand(200, 2, dtype=DT) * 2 - 1
    y = (X[:, 0] * X[:, 1])[:, None]
    model = KAN([2, [0, 1], 1], grid=5, seed=0, dtype=DT)
    before = model.score(X, y)
    model.fit(X, y, steps=30, progress=False)
    assert model.score(X, y) < 0.05 * before
    edges, nodes = model.attribution(X)
    assert [tuple(e.shape) for e in edges] == [(2, 2), (1, 1)]
    assert [tuple(n.shape) for n in nodes] == [(2,), (1,), (1,)]
    assert (nodes[0] > 0.1).all()  # both inputs matter through the product


def test_attribution_follows_pykan_rule():
    model = generic([2, [1, 1], 1])
    X = torch.rand(100, 2, dtype=DT) * 2 - 1
    from kan_widgets.core.attribution import edge_spreads
    edge_std, node_std = edge_spreads(model, X)
    edges, nodes = model.attribution(X)
    # sub-nodes 1 and 2 both carry node 1's score; sub-node 0 carries node 0's
    sub = nodes[1][torch.tensor([0, 1, 1])]
    assert torch.allclose(edges[0], edge_std[0] * (sub / (node_std[0] + 1e-4))[None, :])


def test_save_load_round_trip_bitwise(tmp_path):
    model = generic([3, [1, 2], 1], mult_arity=[0, [2, 3], 0])
    X = torch.rand(50, 3, dtype=DT)
    model.fit(X, X[:, :1] * X[:, 1:2], steps=2, progress=False)
    model.fix_symbolic((0, 0, 1), "sin")
    back = KAN.load(model.save(tmp_path / "m.pt"))
    assert back.width_spec == model.width_spec and back.mult_arity == model.mult_arity
    a, b = full_state(model), full_state(back)
    a.pop("version"), b.pop("version"), a.pop("report"), b.pop("report")
    assert_same(a, b)
    assert torch.equal(back(X), model(X))
    assert torch.equal(model.copy()(X), model(X))
    other = KAN([3, 3, 1], dtype=DT).load_state(model.state())  # other hidden layers: its shape
    assert other.mult_arity == model.mult_arity and torch.equal(other(X), model(X))


def test_old_sum_only_state_still_loads():
    model = KAN([2, 3, 1], seed=1)
    st = model.state()
    assert st["width"] == [2, 3, 1] and "mult_arity" not in st["config"]
    X = torch.rand(10, 2)
    assert torch.equal(KAN.from_state(st)(X), model(X))


def test_prune_node_masks_every_sub_node():
    model = generic([2, [1, 1], 1])
    model.prune_node(1, 1)
    assert model.layers[0].mask[:, 1:].sum() == 0 and model.layers[1].mask[1].sum() == 0
    assert model.dead_nodes() == [(1, 1)]


def test_sub_node_losing_inputs_takes_the_node():
    model = generic([2, [1, 1], 1])
    X = torch.rand(100, 2, dtype=DT)
    with torch.no_grad():  # sub-node 2 is weak: its edges vanish, so prune masks them
        model.layers[0].coef[:, 2] = 0
        model.layers[0].scale_base[:, 2] = 0
    model.prune(node_th=0.0, edge_th=1e-3, X=X)
    assert model.layers[0].mask[:, 1:].sum() == 0  # both sub-nodes of the product went
    assert model.layers[1].mask[1].sum() == 0


def test_compact_keeps_outputs():
    model = generic([3, [2, 2], 2], mult_arity=[0, [2, 3], 0])
    X = torch.rand(40, 3, dtype=DT) * 2 - 1
    model.fix_symbolic((0, 1, 3), "sin", fit=False)
    model.prune_node(1, 2)  # the first multiplication node: sub-nodes 2, 3
    with torch.no_grad():  # the second sum node gets no input: a constant, folded
        model.layers[0].mask[:, 1] = 0
    small = model.compact()
    assert small.width_spec == [3, [1, 1], 2] and small.mult_arity == [[], [3], []]
    assert [(lay.n_in, lay.n_out) for lay in small.layers] == [(3, 4), (2, 2)]
    assert torch.allclose(small(X), model(X), atol=1e-12)
    assert small.symbolic_fits_ == {}  # the fitted edge went with its node
    # a fixed edge on a kept sub-node is renumbered
    model2 = generic([2, [1, 1], 1])
    model2.fix_symbolic((0, 0, 2), "x", fit=False)
    model2.prune_node(1, 0)
    small2 = model2.compact()
    assert small2.width_spec == [2, [0, 1], 1]
    assert small2.edge_mode((0, 0, 1)) == "symbolic" and (0, 0, 1) in small2.symbolic_fits_
    X2 = X[:, :2]
    assert torch.allclose(small2(X2), model2(X2), atol=1e-12)


def test_preview_prune_equals_prune():
    model = generic([2, [1, 1], 1])
    X = torch.rand(80, 2, dtype=DT)
    preview = model.preview_prune(node_th=0.05, edge_th=0.3, X=X)
    pruned = model.copy().prune(node_th=0.05, edge_th=0.3, X=X)
    assert preview == [e for e in model.edges() if pruned.edge_mode(e) == "pruned"]


def test_formula_shows_the_product():
    x1, x2 = sp.symbols("x_1 x_2")
    assert formula(xy_model()) == [x1 * x2]
    model = identity_product((4, [0, 2], 1))
    for e in [(0, 0, 0), (0, 1, 1), (0, 2, 2), (0, 3, 3), (1, 0, 0), (1, 1, 0)]:
        model.unprune(e)
        model.fix_symbolic(e, "x", fit=False)
    x3, x4 = sp.symbols("x_3 x_4")
    assert formula(model) == [x1 * x2 + x3 * x4]
    X = torch.randn(20, 4, dtype=DT)
    assert torch.allclose(model(X)[:, 0], X[:, 0] * X[:, 1] + X[:, 2] * X[:, 3])


def test_recovers_xy():
    X = torch.rand(300, 2, dtype=DT) * 2 - 1
    y = (X[:, 0] * X[:, 1])[:, None]
    model = KAN([2, [0, 1], 1], grid=5, seed=0, dtype=DT)
    model.fit(X, y, steps=50, lamb=1e-3, progress=False)
    model.prune(X=X)  # each factor keeps the one input it multiplies
    assert model.edges("pruned") == [(0, 0, 1), (0, 1, 0)]
    model.fit(X, y, steps=50, progress=False)
    model.auto_symbolic(lib=["x", "x^2", "sin", "exp"])
    x1, x2 = sp.symbols("x_1 x_2")
    expr = snap_constants(formula(model, digits=4)[0])
    assert expr == x1 * x2, expr
