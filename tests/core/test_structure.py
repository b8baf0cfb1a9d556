"""Structure tests (separability, symmetry) and the structure tree, on known functions and on
trained models."""

import numpy as np
import pytest
import torch

import kan_widgets as kw
from kan_widgets import KAN, datasets
from kan_widgets.core.structure import StructureTest


@pytest.fixture(scope="module")
def X():
    g = torch.Generator().manual_seed(0)
    return torch.rand(300, 4, generator=g, dtype=torch.float64) * 4 - 2


def f_add(X):
    return X[:, 0] + X[:, 1] ** 2


def f_mul(X):
    return X[:, 0] * X[:, 1]


def f_exp(X):
    return torch.exp(X[:, 0] + X[:, 1])


def f_sin(X):
    return torch.sin(X[:, 0] * X[:, 1])


@pytest.mark.parametrize("f, add, mul, gen", [
    (f_add, True, False, True),
    (f_mul, False, True, True),
    (f_exp, False, True, True),
    (f_sin, False, False, True),  # sin(xy) = F(log|x| + log|y|)
    (lambda X: X[:, 0] + X[:, 1] + X[:, 0] * X[:, 1] ** 2, False, False, False),
])
def test_separability_of_known_functions(X, f, add, mul, gen):
    a = kw.separability(f, X[:, :2], [[0], [1]], mode="add")
    m = kw.separability(f, X[:, :2], [[0], [1]], mode="mul")
    g = kw.generalized_separability(f, X[:, :2], [[0], [1]])
    assert (bool(a), bool(m), bool(g)) == (add, mul, gen)
    for r in (a, m, g):  # the verdict is the statistic against the tolerance
        assert r.passed == (r.statistic <= r.tol)
        # clear verdicts: exact structure is at rounding level, its absence far above tol
        assert r.statistic < 1e-9 if r.passed else r.statistic > 0.05


def test_statistics_are_scale_free(X):
    a = kw.separability(lambda X: 1000 * f_sin(X), X[:, :2], [[0]])
    b = kw.separability(f_sin, X[:, :2], [[0]])
    assert a.statistic == pytest.approx(b.statistic, rel=1e-9)
    m = kw.separability(lambda X: 1e-3 * f_sin(X), X[:, :2], [[0]], mode="mul")
    assert m.statistic == pytest.approx(
        kw.separability(f_sin, X[:, :2], [[0]], mode="mul").statistic, rel=1e-9)


def test_multiplicative_bias_and_groups_against_the_rest(X):
    f = lambda X: X[:, 0] ** 2 * (X[:, 1] + X[:, 2]) - 3  # noqa: E731
    assert not kw.separability(f, X[:, :3], [[0]], mode="mul")
    r = kw.separability(f, X[:, :3], [[0]], mode="mul", bias=3.0)
    assert r and r.groups == ((0,), (1, 2))  # the unlisted inputs form the second group
    assert not kw.separability(f, X[:, :3], [[0]], mode="add")
    # pykan's examples of test_separability
    g = lambda X: X[:, 0] ** 2 * (X[:, 1] + X[:, 2])  # noqa: E731
    assert kw.separability(g, X[:, :3], [[0], [1, 2]], mode="mul")
    assert not kw.separability(g, X[:, :3], [[0], [1, 2]], mode="add")


def test_detect_separability_finds_the_groups(X):
    f = lambda X: X[:, 0] * X[:, 1] + torch.sin(X[:, 2]) + X[:, 3] ** 3  # noqa: E731
    r = kw.detect_separability(f, X)
    assert r.passed and r.groups == ((0, 1), (2,), (3,))
    assert r.pairs.shape == (4, 4) and r.pairs[0, 1] > 0.1 and r.pairs[0, 2] == 0
    r = kw.detect_separability(f_sin, X[:, :2])
    assert not r.passed and r.groups == ((0, 1),) and "none found" in repr(r)
    r = kw.detect_separability(lambda X: X[:, 0] * torch.exp(X[:, 1]) * X[:, 2], X[:, :3],
                               mode="mul")
    assert r.groups == ((0,), (1,), (2,))


def test_symmetry(X):
    # f(x^2 + y^2, z): symmetric in [x, y] only
    f = lambda X: torch.sin(X[:, 0] ** 2 + X[:, 1] ** 2) * X[:, 2] + X[:, 2] ** 2  # noqa: E731
    yes = kw.symmetry(f, X[:, :3], [0, 1])
    assert yes and yes.statistic < 1e-9
    for g in ([0, 2], [1, 2]):
        r = kw.symmetry(f, X[:, :3], g)
        assert not r and r.statistic > 0.1
    # pykan's example: x0^2 * (x1 + x2) is symmetric in [1, 2], not in [0, 2]
    h = lambda X: X[:, 0] ** 2 * (X[:, 1] + X[:, 2])  # noqa: E731
    assert kw.symmetry(h, X[:, :3], [1, 2]) and not kw.symmetry(h, X[:, :3], [0, 2])
    # trivial groups
    assert kw.symmetry(f, X[:, :3], [0, 1, 2]).statistic == 0
    assert kw.symmetry(f, X[:, :3], [2]).statistic == 0


def test_generalized_separability_needs_the_ratio_free_of_third_groups(X):
    # x*y + z: f_x / f_z = y depends on the third input; not F(a(x) + b(y) + c(z))
    f = lambda X: X[:, 0] * X[:, 1] + X[:, 2]  # noqa: E731
    assert not kw.generalized_separability(f, X[:, :3], [[0], [1], [2]])
    assert kw.generalized_separability(f, X[:, :3], [[0, 1], [2]])
    # sin(x*y*z + w) = F(g(x, y, z) + w), but not F(a(x) + b(y, z, w)) although every ratio
    # f_x / f_b splits as a product: (y, z, w) does not enter through one combination
    s = lambda X: torch.sin(X[:, 0] * X[:, 1] * X[:, 2] + X[:, 3])  # noqa: E731
    assert kw.generalized_separability(s, X, [[0, 1, 2], [3]])
    r = kw.generalized_separability(s, X, [[0], [1, 2, 3]])
    assert not r and r.statistic > 0.05
    p = lambda X: X[:, 0] ** 2 * (X[:, 1] ** 2 + X[:, 2] ** 2) ** 2  # noqa: E731  (pykan's)
    assert kw.generalized_separability(p, X[:, :3], [[0], [1, 2]])
    assert not kw.generalized_separability(p, X[:, :3], [[1], [0, 2]])


def test_result_object(X):
    r = kw.separability(f_add, X[:, :2], [[0], [1]], names=["x", "y"])
    assert isinstance(r, StructureTest) and r.kind == "add" and r.tol == 1e-2
    assert r.group_names() == [["x"], ["y"]]
    assert repr(r).startswith("Additive separability of (x) | (y): yes (statistic")
    assert "<= tol 0.01" in repr(r)
    r = kw.separability(f_mul, X[:, :2], [[0], [1]], tol=0.5)
    assert repr(r).endswith("> tol 0.5)") and "no" in repr(r)
    assert isinstance(r.pairs, np.ndarray)


def test_float32_and_numpy_inputs(X):
    r64 = kw.separability(f_sin, X[:, :2], [[0]])
    r32 = kw.separability(f_sin, X[:, :2].float(), [[0]])
    rnp = kw.separability(f_sin, X[:, :2].numpy(), [[0]])  # numpy -> float64
    assert r32.statistic == pytest.approx(r64.statistic, rel=1e-4)
    assert rnp.statistic == r64.statistic


def test_outputs_of_several_columns(X):
    f = lambda X: torch.stack([X[:, 0] + X[:, 1], X[:, 0] * X[:, 1]], 1)  # noqa: E731
    assert kw.separability(f, X[:, :2], [[0]], output=0)
    assert not kw.separability(f, X[:, :2], [[0]], output=1)
    with pytest.raises(ValueError, match="output=0..1"):
        kw.separability(f, X[:, :2], [[0]])
    with pytest.raises(ValueError, match="out of range"):
        kw.separability(f, X[:, :2], [[0]], output=2)


@pytest.mark.parametrize("groups, err, msg", [
    ([[0], [0, 1]], ValueError, "overlap: input 0"),
    ([[0], [5]], ValueError, "out of range; f has 2 inputs"),
    ([[0, 1]], ValueError, "nothing to separate"),
    ([0, 1], TypeError, "list of lists"),
    ([[]], ValueError, "is empty"),
    ([[0.5]], TypeError, "not an input index"),
    ([[0, 0]], ValueError, "names an input twice"),
    ([["q"]], ValueError, "unknown input 'q'"),
    ("x", TypeError, "list of lists"),
])
def test_bad_groups(X, groups, err, msg):
    with pytest.raises(err, match=msg):
        kw.separability(f_add, X[:, :2], groups)


def test_bad_inputs(X):
    with pytest.raises(ValueError, match="at least 3"):
        kw.separability(f_add, X[:2, :2], [[0]])
    with pytest.raises(ValueError, match="must be 2-D"):
        kw.separability(f_add, X[:, :2].reshape(-1, 2, 2), [[0]])
    flat = X[:, :2].clone()
    flat[:, 1] = 1.0
    with pytest.raises(ValueError, match=r"column\(s\) \[1\] are constant"):
        kw.separability(f_add, flat, [[0]])
    with pytest.raises(TypeError, match="not differentiable"):
        kw.separability(lambda X: (X[:, 0] + X[:, 1]).detach(), X[:, :2], [[0]])
    w = torch.ones(1, dtype=torch.float64, requires_grad=True)
    with pytest.raises(TypeError, match="does not depend on X"):  # a gradient, not from X
        kw.separability(lambda X: X.detach()[:, 0] * w, X[:, :2], [[0]])
    with pytest.raises(TypeError, match="must return a torch tensor"):
        kw.separability(lambda X: np.sin(X.detach().numpy()[:, 0]), X[:, :2], [[0]])
    with pytest.raises(ValueError, match="one value per sample"):
        kw.separability(lambda X: X.sum(), X[:, :2], [[0]])
    with pytest.raises(ValueError, match="not finite"):
        kw.separability(lambda X: torch.log(X[:, 0]) + X[:, 1], X[:, :2], [[0]])
    with pytest.raises(TypeError, match="KAN or a function"):
        kw.separability(3.0, X[:, :2], [[0]])
    with pytest.raises(ValueError, match="tol must be a positive"):
        kw.separability(f_add, X[:, :2], [[0]], tol=0)
    with pytest.raises(ValueError, match="mode must be 'add' or 'mul'"):
        kw.separability(f_add, X[:, :2], [[0]], mode="sum")
    with pytest.raises(ValueError, match="2 labels"):
        kw.separability(f_add, X[:, :2], [[0]], names=["x"])


# ---------------------------------------------------------------- on trained models
@pytest.fixture(scope="module")
def separable_model():
    """A float64 [3, 5, 1] KAN trained on sin(2x) + y*z (additively separable: x | y, z)."""
    f = lambda X: torch.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]  # noqa: E731
    data = datasets.from_function(f, n_var=3, ranges=(-1, 1), n_train=400, n_test=200, seed=0,
                                  variables=["x", "y", "z"])
    model = KAN([3, 5, 1], grid=5, k=3, seed=0, dtype=torch.float64)
    return model.fit(data, steps=30, progress=False), data


def test_on_a_trained_model(separable_model):
    model, data = separable_model
    assert model.score(data.X_test, data.y_test) < 5e-3
    v0 = model.version
    add = kw.separability(model, data.X_test, [["x"]])  # names come from the fit's data
    assert add and add.statistic < 1e-2 and add.names == ("x", "y", "z")
    assert not kw.separability(model, data.X_test, [["x"], ["y"]])  # y and z are coupled
    assert not kw.separability(model, data.X_test, [["x"]], mode="mul")
    found = kw.detect_separability(model, data.X_test)
    assert found.groups == ((0,), (1, 2))
    assert model.version == v0  # a query


def test_an_mlp_takes_its_own_dtype(X):
    mlp = kw.MLP([2, 8, 1], seed=0)  # float32: float64 samples are converted, not detached
    r64 = kw.separability(mlp, X[:, :2], [[0]])
    r32 = kw.separability(mlp, X[:, :2].float(), [[0]])
    assert r64.statistic == r32.statistic > 0.01


def test_model_with_several_outputs_needs_output():
    model = KAN([2, 3, 2], seed=0)
    X = torch.rand(50, 2) * 2 - 1
    with pytest.raises(ValueError, match="2 outputs: choose one with output=0..1"):
        kw.separability(model, X, [[0]])
    assert kw.separability(model, X, [[0]], output=1).kind == "add"
    with pytest.raises(ValueError, match="model expects 2"):
        kw.separability(model, torch.rand(50, 3), [[0]], output=0)


# ---------------------------------------------------------------- the structure tree
@pytest.mark.parametrize("f, d, shape", [
    (lambda X: X[:, 0] * X[:, 1] + torch.sin(X[:, 2]), 3,
     ("sum", (("product", ("x", "y")), "z"))),
    (lambda X: (X[:, 0] + X[:, 1]) * X[:, 2], 3, ("product", (("sum", ("x", "y")), "z"))),
    (lambda X: X[:, 0] * X[:, 1] + X[:, 2] * X[:, 3], 4,
     ("sum", (("product", ("x", "y")), ("product", ("z", "w"))))),
    (lambda X: torch.exp(torch.sin(X[:, 0]) + X[:, 1] ** 2), 2, ("product", ("x", "y"))),
    (lambda X: torch.sin(X[:, 0] * X[:, 1]) + X[:, 2], 3,
     ("sum", (("generalized", ("x", "y")), "z"))),
    # f(x^2 + y^2, z), neither a sum nor a product of its parts: a composition
    (lambda X: torch.sin(X[:, 0] ** 2 + X[:, 1] ** 2) * X[:, 2]
     + X[:, 2] ** 2 * (1 + X[:, 0] ** 2 + X[:, 1] ** 2), 3,
     ("composite", (("generalized", ("x", "y")), "z"))),
    (lambda X: X[:, 0] + X[:, 1] + X[:, 0] * X[:, 1] ** 2, 2, ("entangled", ("x", "y"))),
    (lambda X: torch.sin(X[:, 0] * X[:, 1] * X[:, 2] + X[:, 3]), 4,
     ("generalized", (("generalized", ("x", "y", "z")), "w"))),
])
def test_tree_shapes(X, f, d, shape):
    tree = kw.structure_tree(f, X[:, :d], names=["x", "y", "z", "w"][:d])
    assert tree.shape() == shape


def test_tree_text_repr_and_layout(X):
    tree = kw.structure_tree(lambda X: X[:, 0] * X[:, 1] + torch.sin(X[:, 2]), X[:, :3],
                             names=["x", "y", "z"])
    assert tree.text() == "x * y + z"
    assert repr(tree).splitlines()[:3] == ["StructureTree: x * y + z  (tol 0.01)",
                                           "  + sum  [statistic 0]", "    × product  [statistic 0]"]
    lay = tree.layout()
    kinds = [n[2] for n in lay["nodes"]]
    assert kinds == ["sum", "product", "variable", "variable", "variable"]
    xs = {n[3]: (n[0], n[1]) for n in lay["nodes"]}
    assert xs["x"] == (0.0, 0.0) and xs["y"] == (1.0, 0.0) and xs["z"] == (2.0, 0.0)
    assert xs["×"] == (0.5, 1.0) and xs["+"] == (1.25, 2.0)
    assert sorted(lay["edges"]) == [(1, 0), (2, 1), (3, 1), (4, 0)]


def test_tree_of_a_trained_model(separable_model):
    model, data = separable_model
    tree = model.tree(data.X_test, tol=0.05)
    assert tree.shape() == ("sum", ("x", ("product", ("y", "z"))))
    assert model.tree(tol=0.05).shape() == tree.shape()  # X=None: the fit's inputs
    with pytest.raises(RuntimeError, match="needs input samples"):
        KAN([2, 2, 1]).tree()


def test_tree_bad_arguments(X):
    with pytest.raises(ValueError, match="max_generalized"):
        kw.structure_tree(f_add, X[:, :2], max_generalized=-1)
    with pytest.raises(ValueError, match="tol must be"):
        kw.structure_tree(f_add, X[:, :2], tol=float("nan"))
