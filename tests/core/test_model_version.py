"""``KAN.version``: every mutating verb bumps it, queries leave it, hand edits are noticed."""

import pytest
import torch

from kan_widgets import formula


@pytest.fixture
def model(fitted):
    return fitted.copy()


def test_copy_keeps_the_version_and_reading_twice_changes_nothing(fitted, model):
    assert model.version == fitted.version
    v = model.version
    assert model.version == v and not model.changed_since(v)


VERBS = {
    "fit": lambda m, d: m.fit(d, steps=1, progress=False),
    "update_grid": lambda m, d: m.update_grid(),
    "refine": lambda m, d: m.refine(7),
    "prune": lambda m, d: m.prune(),
    "prune_edge": lambda m, d: m.prune_edge((0, 1, 2)),
    "prune_node": lambda m, d: m.prune_node(1, 0),
    "prune_input": lambda m, d: m.prune_input(0),
    "unprune": lambda m, d: m.unprune(),
    "fix_symbolic": lambda m, d: m.fix_symbolic((0, 1, 0), "x^2"),
    "unfix_symbolic": lambda m, d: m.unfix_symbolic((0, 1, 0)),
    "auto_symbolic": lambda m, d: m.auto_symbolic(lib=["x", "x^2"], r2_threshold=0.0),
    "load_state": lambda m, d: m.load_state(m.state()),
    "mark_changed": lambda m, d: m.mark_changed(),
}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_bumps_the_version(model, toy, verb):
    v = model.version
    VERBS[verb](model, toy)
    assert model.version > v and model.changed_since(v)


def test_compact_returns_a_model_with_its_own_version(model, toy):
    model.prune_node(1, 0)
    v = model.version
    small = model.compact()
    assert model.version == v  # compact makes a new model; this one is unchanged
    assert small.width == [2, 4, 1]


def test_queries_leave_the_version(model, toy):
    model.fix_symbolic((0, 1, 0), "sin")
    v = model.version
    X = toy.X_test
    model.predict(X)
    model(X)
    model.activations(X)
    model.layer_inputs(X)
    model.layer_input(X, 1)
    model.suggest_symbolic((0, 0, 1))
    model.attribution()
    model.edge_score((0, 0, 0))
    model.preview_prune(edge_th=0.1)
    model.score(X, toy.y_test)
    model.state()
    model.copy()
    repr(model)
    assert model.version == v and model.edge_scores_ is None


def test_formula_is_a_query(model):
    model.auto_symbolic(lib=["x", "x^2", "sin", "exp"], r2_threshold=0.0)
    v = model.version
    assert len(formula(model, digits=3)) == 1
    assert model.version == v


def test_hand_edits_are_noticed(model):
    layer = model.layers[0]
    v = model.version
    with torch.no_grad():
        layer.coef[0, 0, 0] += 1  # in place: the tensor's version counter moves
    v1 = model.version
    assert v1 > v
    layer.scale_sp.data = layer.scale_sp.data * 2  # a new storage
    v2 = model.version
    assert v2 > v1
    layer.mask[0, 0] = 0  # a buffer
    assert model.version > v2


def test_load_state_dict_is_noticed(model, fitted):
    v = model.version
    model.load_state_dict(fitted.state_dict())
    assert model.version > v
