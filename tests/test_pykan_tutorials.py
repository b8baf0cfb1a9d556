"""pykan 0.2.8's tutorials (tutorials/ of KindXiaoming/pykan), each tutorial's core workload
ported to kan_widgets in small (few steps, few samples): one test per tutorial where a port
exists, asserting what the tutorial shows (a loss reached, a formula recovered, a shape).
The table of all tutorials, with what is missing, is docs/PYKAN_TUTORIALS.md.
"""

from __future__ import annotations

import math

import pytest
import sympy as sp
import torch

import kan_widgets as kw
from kan_widgets import KAN, MLP

PI = math.pi


def toy_fn(x):
    """pykan's running example exp(sin(pi x) + y^2)."""
    return torch.exp(torch.sin(PI * x[:, [0]]) + x[:, [1]] ** 2)


@pytest.fixture(scope="module")
def toy():
    return kw.datasets.from_function(toy_fn, n_var=2, n_train=300, n_test=300, seed=0)


def deep_fn(x):
    s = torch.sin(PI * (x[:, [0]] ** 2 + x[:, [1]] ** 2)) + torch.sin(PI * (x[:, [2]] ** 2 + x[:, [3]] ** 2))
    return torch.exp(s / 2)


def moons(n, seed):
    """sklearn's make_moons(noise=0.1) without sklearn: (n, 2) points, (n,) labels 0/1."""
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=g) * PI
    lab = torch.arange(n) % 2
    x = torch.where(lab == 0, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(lab == 0, torch.sin(t), 0.5 - torch.sin(t))
    X = torch.stack([x, y], 1) + 0.1 * torch.randn(n, 2, generator=g)
    return X, lab


def rmse(model, X, y):
    return model.score(X, y)


# ---------------------------------------------------------------------------- API demos
def test_api_1_indexing():
    model = KAN([2, 3, 2, 1], noise_scale=0.3, seed=0)
    X = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
    model.fix_symbolic(0, 0, 1, "sin", X=X)             # pykan's (l, i, j) spelling
    assert model.edge_mode((0, 0, 1)) == "symbolic" and model.edge_mode((0, 0, 0)) == "spline"
    model.unfix_symbolic((0, 0, 1))
    assert model.edge_mode((0, 0, 1)) == "spline"
    model.prune_node(1, 0)                               # pykan's remove_node(1, 0)
    assert all(model.edge_mode(e) == "pruned" for e in [(0, 0, 0), (0, 1, 0), (1, 0, 0), (1, 0, 1)])
    assert [(l.coef.shape) for l in model.layers] == [(2, 3, 8), (3, 2, 8), (2, 1, 8)]
    with pytest.raises(AttributeError, match="prune_node"):
        model.remove_node(1, 0)


def test_api_2_plotting(toy):
    model = KAN([2, 5, 1], grid=3, seed=1).fit(toy, steps=5, lamb=0.01, progress=False)
    fig = model.plot(color="score")
    assert len(fig.data) > 10 and fig.layout.width == 640
    with pytest.raises(TypeError, match="pykan"):
        model.plot(beta=100)


def test_api_3_extract_activations():
    model = KAN([2, 5, 1], grid=3, seed=1)
    X = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
    acts = model.activations(X, layer=0)                  # pykan's get_fun(l, i, j) per edge
    assert acts.shape == (100, 5, 2)
    first = model.layer_input(X, 1)
    assert torch.allclose(acts.sum(-1), first, atol=1e-5)  # the edges of a node sum to it
    lo, hi = float(acts[:, 3, 0].min()), float(acts[:, 3, 0].max())  # get_range(0, 0, 3)
    assert lo < hi


def test_api_4_initialization():
    X = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
    lin = KAN([2, 5, 1], base_fun="identity", noise_scale=0.0, seed=0)
    h = torch.tensor([[1e-2, 0.0]])
    d2 = lin(X + h) - 2 * lin(X) + lin(X - h)
    assert float(d2.abs().max()) < 1e-5                   # exactly linear in each input
    big = KAN([2, 5, 1], scale_base_mu=5, scale_base_sigma=0, seed=0)
    # pykan's scale: mu / sqrt(fan_in), as there
    assert torch.allclose(big.layers[0].scale_base, torch.full((2, 5), 5 / math.sqrt(2)))
    noisy = KAN([2, 5, 1], noise_scale=10.0, seed=0)
    quiet = KAN([2, 5, 1], noise_scale=0.1, seed=0)
    assert noisy.layers[0].coef.std() > 20 * quiet.layers[0].coef.std()


def test_api_5_grid():
    G, k = 5, 3
    x = torch.linspace(-1, 1, 1001)
    model = KAN([1, 1], grid=G, k=k, seed=0)
    layer = model.layers[0]
    assert layer.coef.shape[-1] == G + k
    spline = layer.spline_values(x[:, None])[:, 0, 0]      # sum_c coef_c B_c(x)
    base = torch.nn.functional.silu(x)
    expect = layer.scale_base[0, 0] * base + layer.scale_sp[0, 0] * spline
    assert torch.allclose(model(x[:, None])[:, 0], expect, atol=1e-5)
    model.update_grid(torch.linspace(-10, 10, 1001)[:, None])   # update_grid_from_samples
    assert float(model.layers[0].knots[0, k]) == pytest.approx(-10, abs=0.05)
    assert float(model.layers[0].knots[0, -k - 1]) == pytest.approx(10, abs=0.05)
    adaptive = KAN([1, 1], grid=G, k=k, grid_eps=0.0, seed=0)
    adaptive.update_grid(torch.randn(1000, 1, generator=torch.Generator().manual_seed(0)))
    inner = adaptive.layers[0].knots[0, k:-k]
    widths = inner.diff()
    assert widths[0] > 1.5 * widths[G // 2]               # quantile grid: wider in the tails


def test_api_6_training_hyperparameters(toy):
    plain = KAN([2, 5, 1], grid=5, seed=1).fit(toy, steps=10, lamb=0.0, progress=False)
    sparse = KAN([2, 5, 1], grid=5, seed=1).fit(toy, steps=10, lamb=0.01, lamb_entropy=10.0,
                                               progress=False)
    assert rmse(plain, toy.X_test, toy.y_test) < 0.02
    assert sparse.history_["reg"][-1] < sparse.history_["reg"][0]
    # the penalty makes fewer strong edges: the spread of edge scores grows
    s_plain = plain.attribution()[0][0]
    s_sparse = sparse.attribution()[0][0]
    assert (s_sparse > 0.05 * s_sparse.max()).sum() < (s_plain > 0.05 * s_plain.max()).sum()


def test_api_7_pruning(toy):
    model = KAN([2, 5, 1], grid=5, seed=1).fit(toy, steps=15, lamb=0.01, progress=False)
    model.prune()
    small = model.compact()
    assert small.width[1] < 5
    small.fit(toy, steps=10, progress=False)
    assert rmse(small, toy.X_test, toy.y_test) < 0.05


def test_api_8_regularization(toy):
    model = KAN([2, 5, 1], grid=3, seed=1).fit(toy, steps=10, lamb=0.01, progress=False)
    h = model.history_
    assert len(h["reg"]) == 10 and h["reg"][-1] < h["reg"][0]
    with pytest.raises(TypeError):
        model.fit(toy, steps=1, lamb=0.01, reg_metric="edge_backward", progress=False)


def test_api_9_video_frames(toy):
    # pykan's save_fig=True writes one image per step; here a callback draws a frame per step
    frames = []
    model = KAN([4, 2, 1, 1], grid=3, seed=1)
    data = kw.datasets.from_function(deep_fn, n_var=4, n_train=200, n_test=50, seed=0)
    model.fit(data, steps=3, lamb=1e-3, progress=False,
              callback=lambda info: frames.append(info["model"].plot()) and None)
    assert len(frames) == 3 and all(len(f.data) > 5 for f in frames)


def test_api_10_device():
    data = kw.datasets.from_function(deep_fn, n_var=4, n_train=200, n_test=50, seed=0)
    model = KAN([4, 10, 10, 10, 1], grid=3, seed=0, device="cpu")
    model.fit(data, opt="Adam", lr=1e-3, steps=10, lamb=1e-3, lamb_entropy=5.0,
              update_grid=False, progress=False)
    assert model.device.type == "cpu"
    assert model.history_["train_loss"][-1] < model.history_["train_loss"][0]


def test_api_11_create_dataset():
    d = kw.datasets.from_function(lambda x: x[:, [0]] * x[:, [1]], n_var=2, n_train=50, seed=0)
    lazy = kw.datasets.from_function(lambda x: x[:, 0] * x[:, 1], n_var=2, n_train=50, seed=0)
    assert d.y_train.shape == lazy.y_train.shape == (50, 1)
    assert torch.equal(d.y_train, lazy.y_train)
    X, y = torch.rand(100, 2), torch.rand(100, 1)
    split = kw.datasets.from_arrays(X, y, seed=0)          # create_dataset_from_data
    assert split.X_train.shape[0] + split.X_test.shape[0] == 100


def test_api_12_checkpoints(toy, tmp_path):
    model = KAN([2, 5, 1], grid=5, seed=1).fit(toy, steps=5, lamb=0.01, progress=False)
    kept = model.state()                                   # pykan's automatic version 0.1
    before = model(toy.X_test)
    model.prune()
    model.load_state(kept)                                 # model.rewind('0.1')
    assert torch.equal(model(toy.X_test), before)
    path = model.save(tmp_path / "m.kan.pt")               # saveckpt / loadckpt
    assert torch.equal(KAN.load(path)(toy.X_test), before)
    with pytest.raises(AttributeError, match="load_state"):
        model.rewind("0.1")


# ---------------------------------------------------------------------------- Examples
def test_example_1_function_fitting(toy):
    # seed 1 (the tutorial's) stalls near RMSE 0.6 in pykan as here; seeds 0 and 2 do not
    model = KAN([2, 1, 1], grid=3, k=3, seed=0).fit(toy, steps=20, progress=False)
    coarse = rmse(model, toy.X_test, toy.y_test)
    model.refine(10).fit(toy, steps=20, progress=False)
    fine = rmse(model, toy.X_test, toy.y_test)
    assert fine < 0.3 * coarse and fine < 5e-3


def test_example_3_deep_formula():
    data = kw.datasets.from_function(deep_fn, n_var=4, n_train=500, n_test=300, seed=0)
    model = KAN([4, 2, 1, 1], grid=3, k=3, seed=1)
    start = rmse(model, data.X_test, data.y_test)
    model.fit(data, steps=15, lamb=0.002, lamb_entropy=2.0, progress=False)
    assert rmse(model, data.X_test, data.y_test) < 0.5 * start


def test_example_4_classification():
    X, lab = moons(600, 0)
    Xt, labt = moons(600, 1)
    reg = KAN([2, 1], grid=3, seed=0).fit(X, lab[:, None].float(), steps=10, progress=False)
    assert float((reg(Xt).round()[:, 0] == labt).float().mean()) > 0.9
    clf = KAN([2, 2], grid=3, seed=2024)
    clf.fit(X, lab, loss_fn=torch.nn.CrossEntropyLoss(), steps=10, X_test=Xt, y_test=labt,
            progress=False)
    assert clf.history_["test_acc"][-1] > 0.95
    clf.auto_symbolic(lib=["x", "x^2", "x^3", "x^4", "exp", "log", "sqrt", "tanh", "sin", "abs"])
    f1, f2 = kw.formula(clf, variables=["x1", "x2"])
    logits = kw.to_callable([f1, f2], variables=["x1", "x2"], backend="torch")(Xt)
    assert float((logits.argmax(1) == labt).float().mean()) > 0.9


def test_example_5_special_functions():
    J0 = torch.special.bessel_j0
    data = kw.datasets.from_function(lambda x: torch.exp(J0(20 * x[:, [0]]) + x[:, [1]] ** 2),
                                     n_var=2, n_train=1000, n_test=200, seed=0)
    model = KAN([2, 1, 1], grid=3, seed=2).fit(data, steps=20, progress=False)
    model.refine(20).fit(data, steps=20, progress=False)
    kw.register_function("J0", J0, sympy_fn=lambda x: sp.besselj(0, x), complexity=1)
    try:
        best = model.suggest_symbolic((0, 0, 0), lib=["J0", "x^2", "sin"], a_range=(-40, 40),
                                      min_r2=0.0)[0]
    finally:
        from kan_widgets.core.functions import unregister_function

        unregister_function("J0")
    assert best.name == "J0" and best.r2 > 0.9  # pykan: 0.9989 on its G=20 fit


# Examples 6 and 7 (the Poisson PDE): tests/core/test_objectives.py, notebook 07 (nbval),
# benchmarks/pde.py.


def test_example_8_continual_learning():
    centers = [-0.8, -0.4, 0.0, 0.4, 0.8]
    peaks = lambda x: sum(torch.exp(-300 * (x - c) ** 2) for c in centers)  # noqa: E731
    model = KAN([1, 1], grid=200, k=3, noise_scale=0.1, sp_trainable=False, sb_trainable=False,
                base_fun="zero", seed=0)
    for c in centers:
        x = torch.linspace(c - 0.2, c + 0.2, 100)[:, None]
        model.fit(x, peaks(x), steps=10, update_grid=False, progress=False)
    first = torch.linspace(-1.0, -0.6, 100)[:, None]     # the first phase's samples
    assert model.score(first, peaks(first)) < 0.02


def test_example_9_singularity():
    f = lambda x: torch.sin(2 * (torch.log(x[:, [0]]) + torch.log(x[:, [1]])))  # noqa: E731
    data = kw.datasets.from_function(f, n_var=2, ranges=(0.2, 5), n_train=300, n_test=200, seed=0)
    model = KAN([2, 1, 1], grid=5, seed=2).fit(data, steps=10, progress=False)
    model.fix_symbolic(0, 0, 0, "log")
    model.fix_symbolic(0, 1, 0, "log")
    model.fix_symbolic(1, 0, 0, "sin")
    model.fit(data, steps=20, progress=False)
    assert rmse(model, data.X_test, data.y_test) < 1e-4
    # sqrt(x^2 + y^2): the singularity at 0 is met by the safe variant, no NaN in Adam
    g = lambda x: torch.sqrt(x[:, [0]] ** 2 + x[:, [1]] ** 2)  # noqa: E731
    d2 = kw.datasets.from_function(g, n_var=2, n_train=300, n_test=100, seed=0)
    m2 = KAN([2, 1, 1], grid=5, seed=0).fit(d2, steps=10, progress=False)
    m2.fix_symbolic(0, 0, 0, "x^2").fix_symbolic(0, 1, 0, "x^2").fix_symbolic(1, 0, 0, "sqrt")
    m2.fit(d2, opt="Adam", lr=1e-3, steps=20, update_grid=False, progress=False)
    assert math.isfinite(m2.history_["train_loss"][-1])
    assert rmse(m2, d2.X_test, d2.y_test) < 0.05


def test_example_10_relativity_addition():
    f = lambda x: (x[:, [0]] + x[:, [1]]) / (1 + x[:, [0]] * x[:, [1]])  # noqa: E731
    data = kw.datasets.from_function(f, n_var=2, ranges=(-0.9, 0.9), n_train=500, n_test=200,
                                     seed=0)
    model = KAN([2, 1, 1], grid=10, seed=0).fit(data, steps=20, progress=False)
    names = [s.name for s in model.suggest_symbolic(0, 1, 0, weight_simple=0.0)[:3]]
    assert "arctanh" in names
    model.fix_symbolic(0, 0, 0, "arctanh").fix_symbolic(0, 1, 0, "arctanh")
    model.fit(data, steps=10, update_grid=False, progress=False)
    model.fix_symbolic(1, 0, 0, "tanh")
    model.fit(data, steps=20, update_grid=False, progress=False)
    assert rmse(model, data.X_test, data.y_test) < 1e-4


def test_example_11_encouraging_linearity():
    data = kw.datasets.from_function(lambda x: torch.sin(PI * x[:, [0]]), n_var=1, n_train=200,
                                     n_test=100, seed=0)
    model = KAN([1, 1, 1, 1], grid=5, seed=0, base_fun="identity", noise_scale=0.1)
    model.fit(data, steps=10, lamb=1e-4, lamb_coef=10.0, progress=False)
    assert rmse(model, data.X_test, data.y_test) < 0.05


def _contrastive(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 6, generator=g) * 2 - 1
    x[:, 2] = torch.exp(torch.sin(PI * x[:, 0]) + x[:, 1] ** 2)
    x[:, 3] = x[:, 4] ** 3
    neg = torch.stack([col[torch.randperm(n, generator=g)] for col in x.T], 1)
    return torch.cat([x, neg]), torch.cat([torch.ones(n, 1), torch.zeros(n, 1)])


def test_example_12_unsupervised_learning():
    X, y = _contrastive(200, 0)
    model = KAN([6, 1, 1], grid=3, seed=1)
    model.fix_symbolic(1, 0, 0, "gaussian", fit=False)     # pykan's fit_params_bool=False
    # pykan's lamb_entropy=10, lamb_coef=1 stall at chance (accuracy 0.5) here: default entropy
    model.fit(X, y, steps=10, lamb=0.002, progress=False)
    acc = float(((model(X) > 0.5).float() == y).float().mean())
    assert acc > 0.8
    scores = model.attribution(X)[1][0]                    # inputs' scores
    assert scores[[2, 3, 4]].max() > 2 * scores[5]         # x6 is independent of the rest


def test_example_13_phase_transition():
    g = lambda x: torch.sin(PI * x[:, [0]]) + torch.cos(PI * x[:, [1]]) + torch.tan(PI / 2 * x[:, [2]])  # noqa: E731
    data = kw.datasets.from_function(lambda x: (g(x) > 0).float(), n_var=3, n_train=500,
                                     n_test=300, seed=0)
    model = KAN([3, 1, 1], grid=3, seed=0)
    model.fix_symbolic(1, 0, 0, "tanh", fit=False)
    model.fit(data, steps=20, progress=False)
    acc = float(((model(data.X_test) > 0.5).float() == data.y_test).float().mean())
    assert acc > 0.9


def _knot_like(n, seed):
    """A stand-in for DeepMind's knot table (not shipped): 17 features, the class a
    function of two of them, as the signature is mostly of two invariants."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 17, generator=g)
    label = ((X[:, 5] + 0.5 * X[:, 9] ** 2).clamp(-1.9, 1.9) + 2).long()  # classes 0..3
    return X, label


def test_example_14_knot_supervised():
    X, lab = _knot_like(600, 0)
    Xt, labt = _knot_like(500, 1)
    model = KAN([17, 1, 4], grid=5, seed=42)
    model.fit(X, lab, loss_fn=torch.nn.CrossEntropyLoss(), lamb=0.005, batch=1024, steps=10,
              X_test=Xt, y_test=labt, progress=False)
    assert model.history_["test_acc"][-1] > 0.8
    feature_score = model.attribution(X)[1][0]            # pykan's model.feature_score
    assert set(feature_score.topk(2).indices.tolist()) == {5, 9}


# ---------------------------------------------------------------------------- Interp
def test_interp_1_hello_multkan():
    torch.manual_seed(0)
    data = kw.datasets.from_function(lambda x: x[:, 0] * x[:, 1], n_var=2, n_train=200,
                                     n_test=100, seed=0, dtype=torch.float64)
    model = KAN([2, [5, 2], 1], base_fun="identity", seed=0, dtype=torch.float64)
    model.fit(data, steps=10, lamb=0.01, lamb_coef=1.0, progress=False)
    model.prune()
    model.fit(data, steps=10, progress=False)
    model.auto_symbolic()
    model.fit(data, steps=10, progress=False)
    x1, x2 = sp.symbols("x_1 x_2")
    f = kw.formula(model, variables=["x_1", "x_2"], digits=3)[0]
    assert sp.simplify(sp.nsimplify(f) - x1 * x2) == 0


def test_interp_2_advanced_multkan():
    x = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
    for arity, n_sub in [(2, 7), (3, 9), (4, 11)]:
        model = KAN([2, [3, 2], 1], mult_arity=arity, seed=0)
        assert model.width == [2, 5, 1] and model.width_out[1] == n_sub
        assert model(x).shape == (100, 1)
    mixed = KAN([2, [3, 2], 1], mult_arity=[[], [2, 3], []], seed=0)
    assert mixed.width_out == [2, 8, 1]
    deep = KAN([2, [2, 2], [1, 3], [3, 2], 2], mult_arity=2, seed=0)  # pykan ends [1, 1]
    assert deep.width == [2, 4, 4, 5, 2] and deep(x).shape == (100, 2)
    with pytest.raises(ValueError, match="outputs cannot be multiplication nodes"):
        KAN([2, [3, 2], [1, 1]])


def test_interp_4_feature_attribution():
    f = lambda x: x[:, [0]] ** 2 + 0.3 * x[:, [1]] + 0.1 * x[:, [2]] ** 3 + 0.0 * x[:, [3]]  # noqa: E731
    data = kw.datasets.from_function(f, n_var=4, n_train=300, n_test=100, seed=0)
    model = KAN([4, 5, 1], seed=0).fit(data, steps=20, lamb=0.001, progress=False)
    model.attribute()
    feature_score = model.node_scores_[0]                 # pykan's model.feature_score
    assert feature_score.argsort().tolist()[:2] == [3, 2]
    assert feature_score[3] < 0.1 * feature_score[0]
    model.prune_input(3)
    assert all(model.edge_mode((0, 3, j)) == "pruned" for j in range(5))
    assert rmse(model, data.X_test, data.y_test) < 0.1


def test_interp_8_auxiliary_variables():
    torch.manual_seed(1)
    f = lambda m0, v, c: m0 / torch.sqrt(1 - v ** 2 / c ** 2)  # noqa: E731
    g = torch.Generator().manual_seed(1)
    m0, v, c = torch.rand(400, generator=g), torch.rand(400, generator=g) * 0.9, \
        1.1 + 0.9 * torch.rand(400, generator=g)
    beta = v / c
    gamma = 1 / torch.sqrt(1 - beta ** 2)                  # pykan's augment_input, by hand
    X = torch.stack([beta, gamma, m0, v, c], 1).double()
    y = f(m0, v, c)[:, None].double()
    # pykan's [5, [0, 1]] (a product as the output) is refused; a product in a hidden layer
    model = KAN([5, [0, 1], 1], grid=3, seed=1, dtype=torch.float64)
    model.fit(X, y, steps=15, lamb=1e-5, lamb_coef=1.0, progress=False)
    assert model.score(X, y) < 0.02


def test_interp_9_plotting_metrics(toy):
    model = KAN([2, 5, 1], seed=0).fit(toy, steps=10, lamb=1e-3, progress=False)
    by_score = model.plot(color="score")
    by_mode = model.plot(color="mode")
    assert len(by_score.data) > 5 and len(by_mode.data) > 5
    with pytest.raises(TypeError, match="attribute"):
        model.plot(metric="forward_u")


def test_interp_10_hessian():
    data = kw.datasets.from_function(lambda x: x[:, [0]] ** 2, n_var=1, n_train=100, seed=0,
                                     dtype=torch.float64)
    model = KAN([1, 3, 1], seed=0, dtype=torch.float64)
    model.fit(data, steps=10, progress=False)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = {n: p.detach() for n, p in model.named_parameters() if n in names}
    X, y = data.X_train, data.y_train

    def loss(flat):
        parts, i = {}, 0
        for n in names:
            numel = params[n].numel()
            parts[n] = flat[i:i + numel].view_as(params[n])
            i += numel
        pred = torch.func.functional_call(model, parts, (X,))
        return (pred - y).pow(2).mean()

    flat = torch.cat([params[n].reshape(-1) for n in names])
    hess = torch.autograd.functional.hessian(loss, flat)
    assert hess.shape == (flat.numel(),) * 2
    assert torch.allclose(hess, hess.T, atol=1e-8)
    eig = torch.linalg.eigvalsh(hess)
    assert (eig.abs() > 1e-4 * eig.max()).sum() > 5        # many non-flat directions


def test_interp_10a_swap_mlp_side():
    # the KAN half needs auto_swap; the MLP half runs: majority of majorities on 9 bits
    bits = ((torch.arange(512)[:, None] >> torch.arange(8, -1, -1)) & 1).float()
    mid = (bits.view(512, 3, 3).sum(-1) > 1.5).float()
    y = (mid.sum(-1, keepdim=True) > 1.5).float()
    mlp = MLP([9, 20, 20, 1], seed=5).fit(bits, y, steps=30, progress=False)
    assert float(((mlp.predict(bits) > 0.5).float() == y).float().mean()) > 0.95


def test_community_1_physics_informed_navier_stokes():
    x = torch.linspace(0, 10, 10)
    yy = torch.linspace(0, 2, 4)
    X, Y = torch.meshgrid(x, yy, indexing="ij")
    pts = torch.stack([X.flatten(), Y.flatten()], 1)
    no_slip = (pts[:, 1] == 0) | (pts[:, 1] == 2)
    inlet, outlet = pts[:, 0] == 0, pts[:, 0] == 10

    def residual(model, c):
        c = c.detach().requires_grad_()
        out = model(c)
        u, v, p = out[:, 0], out[:, 1], out[:, 2]
        gu, = torch.autograd.grad(u.sum(), c, create_graph=True)
        gv, = torch.autograd.grad(v.sum(), c, create_graph=True)
        gp, = torch.autograd.grad(p.sum(), c, create_graph=True)
        lap = lambda g: sum(torch.autograd.grad(g[:, d].sum(), c, create_graph=True)[0][:, d]  # noqa: E731
                            for d in range(2))
        cont = gu[:, 0] + gv[:, 1] + 1e-8 * p
        mx = u * gu[:, 0] + v * gu[:, 1] + gp[:, 0] - 0.01 * lap(gu)
        my = u * gv[:, 0] + v * gv[:, 1] + gp[:, 1] - 0.01 * lap(gv)
        bc = (u[no_slip] ** 2 + v[no_slip] ** 2).mean() + ((u[inlet] - 1) ** 2).mean() + \
            (p[outlet] ** 2).mean()
        return (cont ** 2 + mx ** 2 + my ** 2).mean() + bc

    model = KAN([2, 3, 3, 3], grid=5, k=10, grid_eps=1.0, seed=0)
    model.fit(pts, objective=residual, steps=3, progress=False)
    h = model.history_["train_loss"]
    assert len(h) == 3 and h[-1] < 0.8 * h[0]


def test_community_2_protein_sequences():
    aa = "ARNDCQEGHILKMFPSTWYVX"
    g = torch.Generator().manual_seed(0)
    n = 40
    labels = torch.arange(n) % 2
    idx = torch.randint(0, 21, (n, 5), generator=g)
    idx[:, 2] = torch.where(labels == 1, aa.index("K"), aa.index("S"))
    X = torch.nn.functional.one_hot(idx, 21).reshape(n, 105).float()
    model = KAN([105, 3, 2], grid=3, k=2, seed=0)
    model.fit(X[:20], labels[:20], loss="cross_entropy", steps=5, X_test=X[20:],
              y_test=labels[20:], progress=False)
    assert model.history_["test_acc"][-1] == 1.0
    model.auto_symbolic(lib=["x", "x^2"], r2_threshold=0.0)  # pykan fixes every edge
    assert len(kw.formula(model)) == 2


def test_interp_5_test_symmetry():
    from kan_widgets.core.structure import detect_separability, separability, symmetry

    X = torch.rand(100, 6, generator=torch.Generator().manual_seed(0)) * 2 - 1
    add = lambda x: x[:, [0]] * x[:, [1]] + x[:, [2]] * x[:, [3]] + x[:, [4]] * x[:, [5]]  # noqa: E731
    found = detect_separability(add, X, "add")
    assert found.passed and sorted(found.groups) == [(0, 1), (2, 3), (4, 5)]
    mul = lambda x: (x[:, [0]] + x[:, [1]]) * (x[:, [2]] + x[:, [3]]) * (x[:, [4]] + x[:, [5]])  # noqa: E731
    assert separability(mul, X, [[0, 1], [2, 3], [4, 5]], "mul").passed
    assert not separability(mul, X, [[0, 1], [2, 4], [3, 5]], "mul").passed
    assert symmetry(mul, X, [0, 1]).passed and not symmetry(mul, X, [0, 2]).passed


def test_interp_6_tree_of_a_trained_kan():
    f = lambda x: (x[:, [0]] ** 2 + x[:, [1]] ** 2) ** 2 + (x[:, [2]] ** 2 + x[:, [3]] ** 2) ** 2  # noqa: E731
    data = kw.datasets.from_function(f, n_var=4, n_train=300, n_test=100, seed=0)
    model = KAN([4, 5, 5, 1], seed=0).fit(data, steps=15, progress=False)
    tree = model.tree(tol=5e-2)
    assert "(" in tree.text() and len(tree.text()) > 0
    from kan_widgets.core.structure import detect_separability

    # the function itself (pykan's plot_tree(f, x)): two additive groups
    assert sorted(detect_separability(f, data.X_train, "add").groups) == [(0, 1), (2, 3)]
    # the 15-step KAN is close to it but not within 1e-2 (pykan's tutorial trains 100 steps)


def test_interp_10b_swap():
    f = lambda x: torch.cat([x[:, [2 * i]] + x[:, [2 * i + 1]] for i in range(5)], 1)  # noqa: E731
    data = kw.datasets.from_function(f, n_var=10, n_train=300, n_test=100, seed=0)
    model = KAN([10, 10, 5], seed=1).fit(data, steps=10, lamb=1e-2, progress=False)
    before = model(data.X_test)
    cost = model.connection_cost()
    model.auto_swap()
    assert torch.allclose(model(data.X_test), before, atol=1e-5)
    assert model.connection_cost() <= cost


def test_interp_11_sparse_init():
    dense = KAN([5, 5, 5, 1], seed=0)
    sparse = KAN([5, 5, 5, 1], sparse_init=True, seed=0)
    n_dense = sum(e.layer >= 0 for e in dense.edges() if dense.edge_mode(e) != "pruned")
    n_sparse = sum(e.layer >= 0 for e in sparse.edges() if sparse.edge_mode(e) != "pruned")
    assert n_sparse < n_dense == 55


def test_interp_3_kan_compiler():
    # kanpiler: a formula compiled to a KAN, then expand_depth, expand_width (sum and
    # multiplication nodes), perturb, and fine-tuning on data
    data = kw.datasets.from_function(toy_fn, n_var=2, n_train=200, n_test=100, seed=0,
                                     dtype=torch.float64)
    model = kw.compile_formula("exp(sin(pi*x) + y**2)", ["x", "y"])
    assert model.width == [2, 1, 1]
    assert rmse(model, data.X_test, data.y_test) < 1e-12
    model.expand_depth()
    model.expand_width(1, 2)
    model.expand_width(2, 2, kind="mult", arity=3)
    assert model.width == [2, 3, 3, 1]
    assert rmse(model, data.X_test, data.y_test) < 1e-10   # the function is kept
    model.perturb(0.1, X=data.X_train)
    moved = rmse(model, data.X_test, data.y_test)
    assert 1e-6 < moved
    model.fit(data, steps=5, progress=False)
    assert rmse(model, data.X_test, data.y_test) < moved
