"""Freezing: sb_trainable / sp_trainable, per-edge and per-layer freeze with gradient masks
(frozen entries bitwise equal through LBFGS and Adam), and update_grid=False in every fit."""

import pytest
import torch

from kan_widgets import KAN


def data(n=80, seed=0):
    X = torch.rand(n, 2, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return X, torch.sin(2 * X[:, :1]) * X[:, 1:]


def params(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_sb_sp_trainable_at_construction_survive_fit_and_save(tmp_path):
    X, y = data()
    m = KAN([2, 3, 1], seed=0, sb_trainable=False, sp_trainable=False)
    before = params(m)
    m.fit(X, y, steps=3, progress=False)
    after = params(m)
    for name in before:
        same = torch.equal(before[name], after[name])
        assert same == (name.endswith(("scale_base", "scale_sp", "node_scale", "node_bias",
                                       "sym_affine"))), name
    loaded = KAN.load(m.save(tmp_path / "m.kan.pt"))
    assert not loaded.layers[0].scale_base.requires_grad
    assert not loaded.layers[1].scale_sp.requires_grad
    assert loaded.layers[0].coef.requires_grad


@pytest.mark.parametrize("opt, lr", [("LBFGS", 1.0), ("Adam", 0.05)])
def test_frozen_edges_stay_bitwise_equal(opt, lr):
    X, y = data()
    m = KAN([2, 3, 1], seed=0)
    m.fix_symbolic((1, 2, 0), "sin", X=X)
    frozen = [(0, 0, 1), (0, 1, 2), (1, 2, 0)]
    m.freeze(frozen)
    assert set(m.frozen_edges("coef")) == set(frozen)
    before = params(m)
    m.fit(X, y, steps=4, opt=opt, lr=lr, progress=False)
    for l, i, j in frozen:
        layer, old = m.layers[l], f"layers.{l}."
        for name in ("coef", "scale_base", "scale_sp", "sym_affine"):
            assert torch.equal(getattr(layer, name)[i, j], before[old + name][i, j]), (l, i, j, name)
    # the other edges trained, and the symbolic edge's affine stayed with it
    assert not torch.equal(m.layers[0].coef[0, 0], before["layers.0.coef"][0, 0])
    assert m.history_["train_rmse"][-1] < m.history_["train_rmse"][0]
    # no gradient hooks are left behind
    assert all(not p._backward_hooks for p in m.parameters())


def test_freeze_layers_and_kinds_and_unfreeze():
    X, y = data()
    m = KAN([2, 3, 1], seed=0)
    m.freeze(layers=0, what="scale_base")
    before = params(m)
    m.fit(X, y, steps=2, progress=False)
    assert torch.equal(m.layers[0].scale_base, before["layers.0.scale_base"])
    assert not torch.equal(m.layers[0].coef, before["layers.0.coef"])
    assert not torch.equal(m.layers[1].scale_base, before["layers.1.scale_base"])
    m.unfreeze()
    assert not any(bool(layer.frozen.any()) for layer in m.layers)
    m.fit(X, y, steps=2, progress=False)
    assert not torch.equal(m.layers[0].scale_base, before["layers.0.scale_base"])


def test_frozen_state_follows_copy_and_compact():
    m = KAN([2, 3, 1], seed=0)
    m.freeze([(0, 0, 2), (1, 2, 0)], what=("coef",))
    c = m.copy()
    assert torch.equal(c.layers[0].frozen, m.layers[0].frozen)
    m.layers[0].mask[:, 1] = 0  # hidden node 1 dead: compact drops it
    m.layers[1].mask[1, :] = 0
    small = m.compact()
    assert small.width == [2, 2, 1]
    assert set(small.frozen_edges("coef")) == {(0, 0, 1), (1, 1, 0)}


def test_update_grid_false_is_respected_by_every_fit_and_frozen_coef_keeps_grids():
    X, y = data()
    for kw in (dict(), dict(loss="cross_entropy"), dict(batch=20, opt="Adam", lr=0.01)):
        m = KAN([2, 2], seed=0) if kw.get("loss") else KAN([2, 3, 1], seed=0)
        knots = [layer.knots.clone() for layer in m.layers]
        target = (y[:, 0] > 0).long() if kw.get("loss") else y
        m.fit(X * 0.5, target, steps=3, update_grid=False, progress=False, **kw)
        assert all(torch.equal(a, layer.knots) for a, layer in zip(knots, m.layers)), kw
    m = KAN([2, 3, 1], seed=0).freeze([(0, 0, 0)], what="coef")
    knots = m.layers[0].knots.clone()
    m.fit(X * 0.5, y, steps=2, progress=False)  # update_grid=True, but a coef is frozen
    assert torch.equal(m.layers[0].knots, knots)


@pytest.mark.parametrize("kw, match", [
    (dict(what="spline"), "what must name"),
    (dict(edges=[(0, 5, 0)]), "out of range|does not exist|no edge|index"),
    (dict(layers=7), "layer 7"),
    (dict(edges=[(0, 0, 0)], layers=0), "not both"),
])
def test_bad_freeze_arguments(kw, match):
    m = KAN([2, 3, 1], seed=0)
    v = m.version
    with pytest.raises((ValueError, IndexError, TypeError), match=match):
        m.freeze(**kw)
    assert m.version == v and not any(bool(layer.frozen.any()) for layer in m.layers)


def test_everything_frozen_says_so():
    X, y = data()
    m = KAN([2, 1], seed=0).freeze()
    with pytest.raises(ValueError, match="nothing to train"):
        m.fit(X, y, steps=1, progress=False)
