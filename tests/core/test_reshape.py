"""expand_width, expand_depth and perturb: the function is kept, edges move with their nodes,
the result trains, saves, loads and undoes."""

import pytest
import torch
from tests_bitwise import assert_same, full_state  # noqa: E402  (tests/core/conftest.py)

from kan_widgets import KAN, EdgeId
from kan_widgets.core.reshape import IDENTITY_TOL

D64 = torch.float64


@pytest.fixture
def X():
    g = torch.Generator().manual_seed(1)
    return torch.rand(300, 2, generator=g, dtype=D64) * 2 - 1


@pytest.fixture
def mult_model():
    m = KAN([2, [2, 1], 1], grid=5, seed=0, dtype=D64)
    m.fix_symbolic((0, 1, 2), "sin", fit=False)  # into the multiplication node's 1st factor
    m.fix_symbolic((1, 2, 0), "x^2", fit=False)  # out of the multiplication node
    return m


def test_expand_width_sum_keeps_function_and_moves_edges(mult_model, X):
    m = mult_model
    y0, v0 = m.predict(X), m.version
    m.expand_width(1, n=2, kind="sum")
    assert m.width_spec == [2, [4, 1], 1] and m.width_out == [2, 6, 1]
    assert m.version > v0
    assert torch.allclose(m.predict(X), y0, rtol=0, atol=1e-12)
    # the multiplication node moved from node 2 to node 4, its sub-nodes from 2, 3 to 4, 5
    assert set(m.symbolic_fits_) == {EdgeId(0, 1, 4), EdgeId(1, 4, 0)}
    assert m.edge_mode((0, 1, 4)) == "symbolic" and m.edge_mode((1, 4, 0)) == "symbolic"
    assert m.layers[0].sym_names == {(1, 4): "sin"}
    # the new nodes: incoming edges initialised (not zero), outgoing edges output 0
    with torch.no_grad():
        assert float(m.activations(X, layer=0)[:, 2:4, :].abs().max()) > 1e-3
        assert float(m.activations(X, layer=1)[:, :, 2:4].abs().max()) == 0.0


def test_expand_width_mult_appends_a_product(mult_model, X):
    m = mult_model
    y0 = m.predict(X)
    m.expand_width(1, kind="mult", arity=3, init="zero")
    assert m.width_spec == [2, [2, 2], 1] and m.mult_arity[1] == [2, 3]
    assert m.config["mult_arity"][1] == [2, 3]
    assert torch.allclose(m.predict(X), y0, rtol=0, atol=1e-12)
    assert set(m.symbolic_fits_) == {EdgeId(0, 1, 2), EdgeId(1, 2, 0)}  # nothing shifted
    with torch.no_grad():  # init="zero"
        assert float(m.activations(X, layer=0)[:, 4:7, :].abs().max()) == 0.0


def test_expanded_node_learns(X):
    y = (X[:, :1] * X[:, 1:]).clone()
    m = KAN([2, [1, 0], 1], grid=5, seed=0, dtype=D64)
    m.fit(X, y, steps=5, progress=False)
    before = m.score(X, y)
    plain = m.copy().fit(X, y, steps=30, progress=False).score(X, y)  # measured 0.128
    m.expand_width(1, kind="mult")
    assert abs(m.score(X, y) - before) < 1e-12
    m.fit(X, y, steps=30, progress=False)  # measured 0.024: the product is what x*y needed
    assert m.score(X, y) < 0.3 * plain
    with torch.no_grad():
        assert float(m.activations(X, layer=1)[:, 0, 1].std()) > 0.1


def test_expand_depth_symbolic_is_exact(mult_model, X):
    m = mult_model
    y0 = m.predict(X)
    m.expand_depth()
    assert m.width_spec == [2, [2, 1], 1, 1] and m.depth == 3
    assert torch.equal(m.predict(X), y0)
    assert m.edge_mode((2, 0, 0)) == "symbolic"
    m.expand_depth(at=1)  # between the inputs' layer and the multiplication node's reader
    assert m.width_spec == [2, [2, 1], 3, 1, 1]
    assert torch.equal(m.predict(X), y0)
    assert set(m.symbolic_fits_) == {EdgeId(0, 1, 2), EdgeId(2, 2, 0)}
    assert m.edge_mode((1, 0, 1)) == "spline"  # off-diagonal: a zero spline, trainable
    m.expand_depth(at=0)
    assert m.width_spec == [2, 2, [2, 1], 3, 1, 1] and torch.equal(m.predict(X), y0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_expand_depth_spline_identity_within_tolerance(dtype):
    g = torch.Generator().manual_seed(2)
    X = (torch.rand(400, 2, generator=g, dtype=torch.float64) * 4 - 2).to(dtype)
    m = KAN([2, 3, 1], grid=5, seed=0, dtype=dtype)
    y0 = m.predict(X)
    m.expand_depth(at=1, kind="spline", X=X)
    assert all(m.edge_mode(e) == "spline" for e in m.edges())
    scale = float(m.layer_input(X, 1).abs().max())
    err = float((m.layer_input(X, 2) - m.layer_input(X, 1)).abs().max())
    assert err <= IDENTITY_TOL[dtype] * scale
    assert float((m.predict(X) - y0).abs().max()) <= 100 * IDENTITY_TOL[dtype] * scale


def test_bad_arguments_say_what_to_do(mult_model):
    m = mult_model
    before = full_state(m)
    with pytest.raises(ValueError, match="hidden node-layer"):
        m.expand_width(0)
    with pytest.raises(ValueError, match="hidden node-layer"):
        m.expand_width(2)
    with pytest.raises(ValueError, match="kind must be"):
        m.expand_width(1, kind="max")
    with pytest.raises(ValueError, match="n must be"):
        m.expand_width(1, n=0)
    with pytest.raises(ValueError, match="arity must be"):
        m.expand_width(1, kind="mult", arity=1)
    with pytest.raises(ValueError, match="no hidden layer; add one with expand_depth"):
        KAN([2, 1]).expand_width(1)
    with pytest.raises(ValueError, match="node-layers are 0..2"):
        m.expand_depth(at=3)
    with pytest.raises(ValueError, match="mode must be"):
        m.perturb(mode="all")
    with pytest.raises(ValueError, match="magnitude"):
        m.perturb(-1)
    assert_same(before, full_state(m))


def test_perturb_spline_turns_symbolic_edges_into_noisy_splines(mult_model, X):
    m = mult_model
    y0 = m.predict(X)
    exact = m.copy().perturb(0.0)
    assert exact.edges("symbolic") == [] and exact.symbolic_fits_ == {}
    # with no noise the splines equal the functions up to the spline fit (grid 5, cubic)
    assert float((exact.predict(X) - y0).abs().max()) < 1e-2 * float(y0.abs().max())
    a, b = m.copy().perturb(0.1, seed=3), m.copy().perturb(0.1, seed=3)
    assert torch.equal(a.predict(X), b.predict(X))
    c = m.copy().perturb(0.1, seed=4)
    assert not torch.equal(a.predict(X), c.predict(X))
    dev = float((a.predict(X) - exact.predict(X)).std())
    assert 1e-3 < dev < 1.0


def test_perturb_affine_keeps_edges_symbolic(mult_model, X):
    m = mult_model
    aff = m.layers[0].sym_affine.detach().clone()
    m.perturb(0.05, seed=1, mode="affine")
    assert m.edge_mode((0, 1, 2)) == "symbolic"
    moved = m.layers[0].sym_affine[1, 2] - aff[1, 2]
    assert 0 < float(moved.abs().max()) < 0.5
    assert torch.equal(m.layers[0].sym_affine[0, 0], aff[0, 0])  # spline edges' affine kept


def test_perturb_wakes_zero_edges(X):
    m = KAN([2, 2, 1], grid=5, seed=0, dtype=D64).expand_width(1, init="zero")
    assert float(m.activations(X, layer=1)[:, 0, 2].abs().max()) == 0.0
    m.perturb(0.1, seed=0, X=X)
    assert float(m.activations(X, layer=1)[:, 0, 2].std()) > 0
    assert float(m.activations(X, layer=0)[:, 2, :].std()) > 0


def test_save_load_round_trip_after_reshaping(mult_model, X, tmp_path):
    m = mult_model.expand_width(1, kind="mult").expand_depth(at=1).perturb(0.1, mode="affine")
    back = KAN.load(m.save(tmp_path / "m.kan"))
    assert back.width_spec == m.width_spec and back.mult_arity == m.mult_arity
    assert torch.equal(back.predict(X), m.predict(X))
    assert {e: f.name for e, f in back.symbolic_fits_.items()} == {
        e: f.name for e, f in m.symbolic_fits_.items()}


def test_load_state_undoes_a_shape_change(mult_model, X):
    m = mult_model
    st, y0 = m.state(), m.predict(X)
    m.expand_width(1, n=2).expand_depth()
    params = {id(p) for p in m.parameters()}
    m.load_state(st)  # what the Explorer's undo does
    assert m.width_spec == [2, [2, 1], 1] and torch.equal(m.predict(X), y0)
    assert {id(p) for p in m.parameters()}.isdisjoint(params)
    assert set(m.symbolic_fits_) == {EdgeId(0, 1, 2), EdgeId(1, 2, 0)}


def test_session_undo_of_a_shape_change_made_outside(fitted, toy):
    from kan_widgets.explore import Session

    s = Session(fitted.copy(), toy)
    m = s.model
    y0 = m.predict(toy.X_test)
    m.expand_width(1, n=2).expand_depth()
    assert s.poll()
    s.undo()
    assert m.width_spec == fitted.width_spec
    assert torch.equal(m.predict(toy.X_test), y0)


@pytest.mark.parametrize("verb", ["expand_width", "expand_depth", "perturb"])
def test_interrupted_reshape_leaves_the_model_bitwise(mult_model, verb, monkeypatch):
    m = mult_model
    before = full_state(m)

    def boom():
        raise KeyboardInterrupt

    monkeypatch.setattr(m, "mark_changed", boom)
    with pytest.raises(KeyboardInterrupt):
        {"expand_width": lambda: m.expand_width(1, kind="mult"),
         "expand_depth": lambda: m.expand_depth(at=1, kind="spline"),
         "perturb": lambda: m.perturb(0.1)}[verb]()
    monkeypatch.undo()
    assert_same(before, full_state(m))
    assert m.width_spec == [2, [2, 1], 1] and len(m.layers) == 2
