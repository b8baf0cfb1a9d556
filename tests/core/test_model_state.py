"""The model owns its insides: ``load_state`` in place, symbolic names in ``state_dict``,
``layer.subset``, and the shared helpers on ``KAN``."""

import pytest
import torch

from kan_widgets import KAN
from kan_widgets.core.symbolic_edges import SymbolicFit


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k, v in sa.items():
        if torch.is_tensor(v):
            assert v.dtype == sb[k].dtype and torch.equal(v, sb[k]), k
        else:
            assert v == sb[k], k
    assert [lay.G for lay in a.layers] == [lay.G for lay in b.layers]
    assert [lay.sym_names for lay in a.layers] == [lay.sym_names for lay in b.layers]
    assert a.symbolic_fits_ == b.symbolic_fits_ and a.history_ == b.history_


def test_state_dict_round_trip_keeps_symbolic_names(fitted, toy):
    a = fitted.copy().fix_symbolic((0, 1, 0), "sin").fix_symbolic((1, 2, 0), "x^2")
    b = KAN([2, 5, 1], seed=1)
    b.load_state_dict(a.state_dict())
    assert b.layers[0].sym_names == {(1, 0): "sin"} and b.layers[1].sym_names == {(2, 0): "x^2"}
    assert torch.equal(a.predict(toy.X_test), b.predict(toy.X_test))
    # the extra state is plain lists: a weights-only torch.load reads it
    assert a.state_dict()["layers.0._extra_state"] == {"sym_names": [[1, 0, "sin"]]}


def test_unknown_function_name_in_a_state_dict_is_refused(fitted):
    sd = fitted.state_dict()
    sd["layers.0._extra_state"] = {"sym_names": [[0, 0, "no_such_fn"]]}
    with pytest.raises(KeyError, match="no_such_fn"):
        KAN([2, 5, 1]).load_state_dict(sd)


def test_load_state_is_in_place_and_bitwise_across_grid_sizes(fitted, toy):
    model = fitted.copy()
    snap = model.state()
    ref = KAN.from_state(snap)
    layers, coef = model.layers, model.layers[0].coef
    model.refine(9).fix_symbolic((0, 0, 1), "sin").prune_edge((1, 3, 0))
    model.layers[1].knots = model.layers[1].knots.clone()  # refined separately by hand
    assert model.layers[0].G == 9
    out = model.load_state(snap)
    assert out is model and model.layers is layers and model.layers[0].coef is coef
    _same(model, ref)
    assert torch.equal(model.predict(toy.X_test), ref.predict(toy.X_test))


def test_load_state_takes_other_hidden_layers_but_not_other_inputs(fitted, toy):
    m = KAN([2, [1, 1], 3, 1], seed=4)
    m.load_state(fitted.state())  # hidden layers differ: the model takes the state's shape
    assert m.width_spec == fitted.width_spec
    assert torch.equal(m.predict(toy.X_test), fitted.predict(toy.X_test))
    for other in ([3, 5, 1], [2, 5, 2]):
        k = KAN(other)
        with pytest.raises(ValueError, match="inputs and .* outputs.*KAN.from_state"):
            k.load_state(fitted.state())
        assert k.width_spec == other


def test_old_files_with_sym_names_still_load(fitted):
    a = fitted.copy().fix_symbolic((0, 1, 0), "sin")
    st = a.state()
    sd = {k: v for k, v in st["state_dict"].items() if not k.endswith("_extra_state")}
    st = {**st, "state_dict": sd, "sym_names": [[[1, 0, "sin"]], []]}  # the first format
    _same(KAN.from_state(st), a)


def test_layer_subset_slices_every_tensor_and_renumbers_symbolic_edges(fitted, toy):
    model = fitted.copy().fix_symbolic((1, 3, 0), "x^2").fix_symbolic((0, 1, 4), "sin")
    layer = model.layers[0]
    x = model.layer_input(toy.X_test[:50], 0)
    full = layer.activations(x)  # (B, 5, 2)
    out = layer.subset([1], [4, 0])
    assert out is layer and (layer.n_in, layer.n_out) == (1, 2)
    assert layer.coef.shape == (1, 2, layer.G + layer.k) and layer.knots.shape[0] == 1
    assert layer.sym_names == {(0, 0): "sin"}
    assert layer.symbolic_groups()["sin"][0].tolist() == [0]
    got = layer.activations(x[:, [1]])  # (B, 2, 1)
    torch.testing.assert_close(got[:, :, 0], full[:, [4, 0], 1], rtol=1e-6, atol=1e-6)


def test_layer_input_and_check_input_are_public(fitted, toy):
    X = toy.X_test[:20]
    xs = fitted.layer_inputs(X)
    for l in range(len(fitted.width)):
        assert torch.equal(fitted.layer_input(X, l), xs[l])
    with pytest.raises(IndexError):
        fitted.layer_input(X, 5)
    assert fitted.check_input(X) is X
    with pytest.raises(ValueError, match="column"):
        fitted.check_input(torch.zeros(3, 4))


def test_score_is_the_rmse_of_predict(fitted, toy):
    X, y = toy.X_test, toy.y_test
    want = float(((fitted.predict(X) - y) ** 2).mean().sqrt())
    assert fitted.score(X, y) == pytest.approx(want, rel=1e-12)
    assert fitted.score(X, y[:, 0]) == pytest.approx(want, rel=1e-12)  # a 1-D target
    with pytest.raises(ValueError, match="samples"):
        fitted.score(X, y[:10])


def test_symbolic_fit_evaluate():
    fit = SymbolicFit("sin", 1.0, 2, 2.0, 0.5, 3.0, -1.0)
    x = torch.linspace(-1, 1, 11, dtype=torch.float64)
    torch.testing.assert_close(fit.evaluate(x), 3 * torch.sin(2 * x + 0.5) - 1)
    log = SymbolicFit("log", 1.0, 2, 1.0, 0.0, 1.0, 0.0)
    z = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    assert torch.isnan(log.evaluate(z, safe=False)[0])  # exact: outside the domain
    assert torch.isfinite(log.evaluate(z)).all()  # what the model computes
