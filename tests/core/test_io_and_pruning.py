import torch

from kan_widgets import KAN, EdgeId


def assert_same(a, b):
    assert a.width == b.width and a.config == b.config
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        if k.endswith("_extra_state"):  # symbolic function names
            assert sa[k] == sb[k], k
            continue
        assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), k
    for la, lb in zip(a.layers, b.layers):
        assert la.sym_names == lb.sym_names and la._uniform == lb._uniform
    assert a.history_ == b.history_
    assert a.variables_ == b.variables_


def test_save_load_exact_round_trip(toy, tmp_path):
    model = KAN([2, 3, 1], seed=0, dtype=torch.float64).fit(toy, steps=3, progress=False)
    model.refine(8).prune_edge((0, 1, 2))
    path = model.save(tmp_path / "m.kan.pt")
    loaded = KAN.load(path)
    assert_same(model, loaded)
    x = toy.X_test.double()
    assert torch.equal(model.predict(x), loaded.predict(x))
    assert torch.equal(loaded.X_fit_, model.X_fit_)
    assert list(tmp_path.iterdir()) == [tmp_path / "m.kan.pt"]  # no temp file left


def test_copy_is_independent():
    a = KAN([2, 2, 1])
    b = a.copy()
    b.prune_edge((0, 0, 0))
    assert a.edge_mode((0, 0, 0)) == "spline" and b.edge_mode((0, 0, 0)) == "pruned"


def test_prune_masks_and_unprune_restores(toy):
    model = KAN([2, 5, 1], seed=0).fit(toy, steps=20, lamb=1e-2, progress=False)
    x = toy.X_test
    before = model.predict(x)
    preview = model.preview_prune(edge_th=3e-2)
    assert model.edges("pruned") == [] and model.edge_scores_ is None  # nothing written
    model.prune()
    pruned = model.edges("pruned")
    assert pruned and preview == pruned  # exact: what prune masks, in edges() order
    model.unprune()
    assert model.edges("pruned") == [] and torch.equal(model.predict(x), before)


def test_prune_node_input_and_attribution_scores(toy):
    model = KAN([2, 3, 1], seed=0).fit(toy, steps=5, progress=False)
    model.attribute()
    assert [s.shape for s in model.edge_scores_] == [(2, 3), (3, 1)]
    assert [s.shape for s in model.node_scores_] == [(2,), (3,), (1,)]
    assert (model.node_scores_[0] > 0).all()
    model.prune_input("y")
    assert all(model.edge_mode((0, 1, j)) == "pruned" for j in range(3))
    model.prune_node(1, 0)
    assert model.edge_mode((1, 0, 0)) == "pruned" and model.edge_mode((0, 0, 0)) == "pruned"


def test_irrelevant_input_scores_low():
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(500, 3, generator=gen) * 2 - 1
    y = torch.sin(2 * X[:, :1])  # input 1 and 2 carry nothing
    model = KAN([3, 2, 1], seed=0).fit(X, y, steps=20, lamb=1e-2, progress=False).attribute()
    s = model.node_scores_[0]
    assert s[0] > 10 * s[1] and s[0] > 10 * s[2]


def test_compact_is_exact_and_smaller(toy):
    model = KAN([2, 4, 1], seed=0, dtype=torch.float64).fit(toy, steps=3, progress=False)
    model.prune_node(1, 1)  # all edges in and out
    model.layers[0].mask[:, 3] = 0  # node 3: no inputs, feeds a constant
    x = toy.X_test.double()
    small = model.compact()
    assert small.width == [2, 2, 1] and model.width == [2, 4, 1]
    assert torch.allclose(small.predict(x), model.predict(x), atol=1e-12)
    assert small.edges("pruned") == []
    assert EdgeId(0, 0, 1) in small.edges()
