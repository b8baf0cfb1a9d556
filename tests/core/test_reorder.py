"""sparse_init, swap, auto_swap and the connection cost."""

import itertools

import numpy as np
import pytest
import torch
from tests_bitwise import assert_same, full_state  # noqa: E402  (tests/core/conftest.py)

from kan_widgets import KAN
from kan_widgets.core.layer import sparse_mask
from kan_widgets.core.structure import reorder
from kan_widgets.core.structure.reorder import assignment


@pytest.fixture(scope="module")
def X():
    return torch.rand(200, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 - 1


def _model():
    """A float64 model with everything a reorder must carry: multiplication nodes of two
    arities, a pruned edge, a symbolic edge with its fit, a frozen edge."""
    f = lambda X: X[:, 0] * X[:, 1] + torch.sin(X[:, 2])  # noqa: E731
    Xt = torch.rand(200, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    m = KAN([3, [3, 2], 2], seed=0, dtype=torch.float64, mult_arity=[0, [2, 3], 0])
    m.fit(Xt, torch.stack([f(Xt), f(Xt) ** 2], 1), steps=3, progress=False)
    m.prune_edge((1, 2, 0))
    m.fix_symbolic((0, 2, 1), "sin")
    m.freeze((0, 0, 3))
    return m


def test_sparse_mask_is_pykans():
    m = sparse_mask(4, 6)
    # pykan's sparse_mask(4, 6): each input to its nearest output and back, ties to the lower
    expected = torch.zeros(4, 6)
    expected[[0, 0, 1, 2, 2, 3], [0, 1, 2, 3, 4, 5]] = 1
    assert torch.equal(m, expected)
    assert torch.equal(sparse_mask(3, 3), torch.eye(3))
    assert bool((sparse_mask(7, 2).sum(1) >= 1).all()) and bool((sparse_mask(2, 7).sum(0) >= 1).all())


def test_sparse_init(X):
    dense, sparse = KAN([3, 6, 2], seed=0), KAN([3, 6, 2], seed=0, sparse_init=True)
    for d, s in zip(dense.layers, sparse.layers):
        assert torch.equal(s.mask, sparse_mask(d.n_in, d.n_out))
        assert torch.equal(s.coef, d.coef)  # the same random draws, only masked
    assert sparse.edge_mode((0, 0, 5)) == "pruned" and sparse.edge_mode((0, 0, 0)) == "spline"
    assert sparse.config["sparse_init"] is True and "sparse_init" not in dense.config
    mult = KAN([3, [1, 2], 1], sparse_init=True)
    assert mult.layers[0].mask.shape == (3, 5) and bool((mult.layers[0].mask.sum(0) == 1).all())
    copy = sparse.copy()  # the config rebuilds the model; masks travel in the state
    assert torch.equal(copy.layers[0].mask, sparse.layers[0].mask)
    with pytest.raises(TypeError, match="sparse_init must be True or False"):
        KAN([2, 2, 1], sparse_init="yes")


def test_sparse_init_save_load(tmp_path):
    m = KAN([3, 4, 1], sparse_init=True, seed=0)
    m.save(tmp_path / "s.kan.pt")
    back = KAN.load(tmp_path / "s.kan.pt")
    assert back.config["sparse_init"] is True
    assert torch.equal(back.layers[0].mask, m.layers[0].mask)


def test_swap_keeps_the_function(X):
    m = _model()
    y0, v0 = m.predict(X), m.version
    m.attribute(X)
    scores = [s.clone() for s in m.edge_scores_]
    m.swap(1, 0, 2)  # two sum nodes
    assert m.version > v0
    assert float((m.predict(X) - y0).abs().max()) < 1e-12
    # edges moved with their nodes: the pruned edge (1, 2, 0) is now (1, 0, 0); the symbolic
    # edge (0, 2, 1) stays (node 1 did not move), its fit with it
    assert m.edge_mode((1, 0, 0)) == "pruned" and m.edge_mode((1, 2, 0)) == "spline"
    assert m.edge_mode((0, 2, 1)) == "symbolic" and (0, 2, 1) in m.symbolic_fits_
    assert torch.equal(m.edge_scores_[1][0], scores[1][2])  # stored scores moved too
    assert torch.equal(m.edge_scores_[0][:, [2, 1, 0, 3, 4, 5, 6, 7]], scores[0])
    m.swap(1, 3, 4)  # two multiplication nodes of arities 2 and 3
    assert m.mult_arity[1] == [3, 2]
    # sub-nodes [3, 4 | 5, 6, 7] became [5, 6, 7 | 3, 4]: the frozen edge (0, 0, 3) is at 6
    assert bool(m.layers[0].frozen[:, 0, 6].all()) and not m.layers[0].frozen[:, 0, 3].any()
    assert float((m.predict(X) - y0).abs().max()) < 1e-12
    m.swap(1, 4, 3).swap(1, 2, 0)  # back
    fresh = _model()
    fresh.attribute(X)
    a, b = full_state(m), full_state(fresh)
    a.pop("version"), b.pop("version")
    a["fitted"].pop("edge_scores_"), b["fitted"].pop("edge_scores_")
    assert_same(a, b)


def test_swap_moves_the_symbolic_fit():
    m = _model()
    fit = m.symbolic_fits_[(0, 2, 1)]
    m.swap(1, 1, 2)  # node 1 has the symbolic edge into sub-node 1
    assert (0, 2, 2) in m.symbolic_fits_ and m.symbolic_fits_[(0, 2, 2)] == fit
    assert (0, 2, 1) not in m.symbolic_fits_ and m.edge_mode((0, 2, 2)) == "symbolic"


@pytest.mark.parametrize("args, err, msg", [
    ((0, 0, 1), ValueError, "not a hidden layer"),
    ((2, 0, 1), ValueError, "not a hidden layer"),
    ((1, 0, 5), ValueError, "is not a node of layer 1"),
    ((1, -1, 0), ValueError, "is not a node of layer 1"),
    ((1, 0, 3), ValueError, "a sum node and a multiplication node"),
    ((1.0, 0, 1), TypeError, "layer must be an int"),
])
def test_swap_bad_arguments(args, err, msg):
    m = _model()
    before = full_state(m)
    with pytest.raises(err, match=msg):
        m.swap(*args)
    assert_same(full_state(m), before)


def test_swap_is_atomic(monkeypatch):
    m = _model()
    before = full_state(m)
    def fail(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(reorder, "_remap_fits", fail, raising=False)
    import kan_widgets.core.pruning as pruning
    monkeypatch.setattr(pruning, "_remap_fits", fail)  # fails after the layers were sliced
    with pytest.raises(RuntimeError, match="boom"):
        m.swap(1, 0, 2)
    assert_same(full_state(m), before)


def test_assignment_is_optimal():
    rng = np.random.default_rng(0)
    for n in range(1, 7):
        for _ in range(10):
            C = rng.random((n, n))
            best = min(sum(C[r, p[r]] for r in range(n)) for p in itertools.permutations(range(n)))
            assert C[np.arange(n), assignment(C)].sum() == pytest.approx(best, abs=1e-12)


def _scrambled():
    """[4, 4, 4] of four independent chains, input i -> hidden node p[i] -> output i, with the
    hidden nodes scrambled: the links cross the picture; in order they are straight."""
    m = KAN([4, 4, 4], seed=0, dtype=torch.float64)
    perm_in = perm_out = [2, 0, 3, 1]
    with torch.no_grad():
        m.layers[0].mask.zero_()
        m.layers[0].mask[torch.arange(4), torch.tensor(perm_in)] = 1
        m.layers[1].mask.zero_()
        m.layers[1].mask[torch.tensor(perm_out), torch.arange(4)] = 1
    return m.mark_changed()


def test_auto_swap_lowers_the_cost_and_keeps_the_function(X):
    m = _scrambled()
    X4 = torch.rand(300, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 2 - 1
    y0, cost0, v0 = m.predict(X4), m.connection_cost(X4), m.version
    m.auto_swap(X4)
    report = m.auto_swap_report_
    assert report["cost_before"] == pytest.approx(cost0, rel=1e-12)
    assert m.connection_cost(X4) == pytest.approx(report["cost_after"], rel=1e-9)
    assert cost0 > 0.5 and report["cost_after"] == pytest.approx(0, abs=1e-12)  # all straight
    assert float((m.predict(X4) - y0).abs().max()) < 1e-12 and m.version > v0
    # a second call finds nothing to do and leaves the version alone
    v1 = m.version
    m.auto_swap(X4)
    assert m.auto_swap_report_["orders"] == {} and m.version == v1


def test_auto_swap_reaches_the_best_order_of_one_hidden_layer():
    """With one hidden layer the assignment is the global optimum: none of the 720 orders of
    six nodes costs less (scores move with the nodes, so each order's cost is exact)."""
    m = KAN([3, 6, 2], seed=3, dtype=torch.float64)
    X3 = torch.rand(200, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 2 - 1
    edges = m.attribution(X3)[0]
    costs = [reorder.connection_cost(m, [edges[0][:, list(p)], edges[1][list(p)]])
             for p in itertools.permutations(range(6))]
    m.auto_swap(X3)
    assert m.auto_swap_report_["cost_before"] == pytest.approx(costs[0], rel=1e-12)
    assert m.auto_swap_report_["cost_after"] == pytest.approx(min(costs), rel=1e-12)
    assert min(costs) < costs[0]


def test_auto_swap_on_a_multiplication_model(X):
    m = _model()
    y0 = m.predict(X)
    m.attribute(X)
    m.auto_swap()  # the stored scores, kept (moved) afterwards
    assert m.auto_swap_report_["cost_after"] <= m.auto_swap_report_["cost_before"]
    assert m.edge_scores_ is not None
    assert m.connection_cost() == pytest.approx(m.auto_swap_report_["cost_after"], rel=1e-12)
    assert float((m.predict(X) - y0).abs().max()) < 1e-12
    assert m.mult_layout(1).n_sum == 3  # sum nodes stayed first


def test_auto_swap_bad_arguments():
    m = KAN([2, 3, 1])
    with pytest.raises(RuntimeError, match="needs input samples"):
        m.auto_swap()
    with pytest.raises(ValueError, match="max_sweeps"):
        m.auto_swap(torch.rand(10, 2), max_sweeps=0)
    shallow = KAN([2, 1])
    shallow.auto_swap(torch.rand(10, 2))  # no hidden layer: nothing to reorder
    assert shallow.auto_swap_report_["orders"] == {}
