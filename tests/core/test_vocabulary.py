"""One vocabulary across KAN, Session and Explorer; queries write no fitted state; the old
names still work with a DeprecationWarning."""

import pytest
import torch

from kan_widgets.explore import History, Session, UndoHistory, build_scene
from kan_widgets.explore.layout import NetworkLayout


@pytest.fixture
def session(fitted, toy):
    return Session(fitted.copy(), toy)


def test_thresholds_are_keyword_only_with_the_same_defaults(fitted, toy):
    import inspect

    from kan_widgets.widgets.explorer import Explorer

    for fn in (fitted.prune, fitted.preview_prune, Session.prune, Session.preview_prune,
               Explorer.prune, Explorer.preview_prune):
        params = inspect.signature(fn).parameters
        for name, default in (("node_th", 1e-2), ("edge_th", 3e-2)):
            assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, (fn, name)
            assert params[name].default == default, (fn, name)


@pytest.mark.parametrize("node_th, edge_th", [(1e-2, 3e-2), (0.3, 0.05), (0.0, 0.2)])
def test_preview_prune_answers_the_same_in_core_and_session(fitted, toy, node_th, edge_th):
    model = fitted.copy()
    core = model.preview_prune(node_th=node_th, edge_th=edge_th, X=toy.X_train)
    s = Session(fitted.copy(), toy)
    assert s.preview_prune(node_th=node_th, edge_th=edge_th) == core
    assert model.edges("pruned") == [] and model.edge_scores_ is None  # nothing written
    model.prune(node_th=node_th, edge_th=edge_th, X=toy.X_train)
    assert model.edges("pruned") == core  # exact


def test_positional_thresholds_are_deprecated_but_keep_their_old_order(fitted, toy):
    a, b = fitted.copy(), fitted.copy()
    with pytest.warns(DeprecationWarning, match="keyword"):
        a.prune(0.3, 0.05)  # KAN: node_th, edge_th
    b.prune(node_th=0.3, edge_th=0.05)
    assert a.edges("pruned") == b.edges("pruned")
    s = Session(fitted.copy(), toy)
    with pytest.warns(DeprecationWarning, match="keyword"):
        s.prune(0.05, 0.3)  # Session used to take edge_th, node_th
    assert s.model.edges("pruned") == b.edges("pruned")
    with pytest.raises(TypeError, match="keyword"):
        fitted.copy().prune(0.1, 0.1, 0.1)


def test_pruning_preview_is_a_deprecated_alias(fitted, toy):
    with pytest.warns(DeprecationWarning, match="preview_prune"):
        old = fitted.pruning_preview(edge_th=0.05)
    assert old == fitted.preview_prune(edge_th=0.05)


def test_queries_write_no_fitted_state(fitted, toy, session):
    model = fitted.copy()
    assert model.edge_scores_ is None
    score = model.edge_score((0, 1, 0))
    edges, nodes = model.attribution()
    assert score == float(edges[0][1, 0]) and len(nodes) == 3
    build_scene(model, NetworkLayout.from_width(model.width))
    assert model.edge_scores_ is None and model.node_scores_ is None
    session.scene()
    session.edge_detail((0, 1, 0))
    session.preview_prune(edge_th=0.05)
    assert session.model.edge_scores_ is None
    assert model.attribute() is model and model.edge_scores_ is not None  # the verb stores


def test_scene_and_detail_show_the_sessions_scores(session):
    scores = session.scores()
    sc = session.scene()
    want = torch.cat([s.flatten() for s in scores]).double().numpy()
    assert sc.scores == pytest.approx(want, rel=1e-12)
    assert session.edge_detail((0, 1, 2)).score == pytest.approx(float(scores[0][1, 2]))


def test_session_names_and_their_deprecated_aliases(session):
    e = (0, 1, 0)
    session.fix_symbolic(e, "sin")
    session.unfix_symbolic(e)
    assert session.model.edge_mode(e) == "spline"
    session.fix_symbolic(e, "sin")
    with pytest.warns(DeprecationWarning, match="unfix_symbolic"):
        session.unfix(e)
    assert session.model.edge_mode(e) == "spline"
    with pytest.warns(DeprecationWarning, match="undo_history"):
        assert session.history is session.undo_history
    assert History is UndoHistory


def test_explorer_names_and_their_deprecated_aliases(fitted, toy):
    from kan_widgets import Explorer

    ex = Explorer(fitted.copy(), toy)
    m = ex.model
    ex.fix_symbolic((0, 1, 0), "sin").unfix_symbolic((0, 1, 0))
    assert m.edge_mode((0, 1, 0)) == "spline"
    with pytest.warns(DeprecationWarning, match="fix_symbolic"):
        ex.fix((0, 1, 0), "sin")
    assert m.edge_mode((0, 1, 0)) == "symbolic"
    ex.prune_edge((0, 0, 0))
    assert m.edge_mode((0, 0, 0)) == "pruned"
    ex.unprune((0, 0, 0))
    with pytest.warns(DeprecationWarning, match="prune_edge"):
        ex.prune((0, 0, 1))
    assert m.edge_mode((0, 0, 1)) == "pruned"
    ex.restore((0, 0, 1)).restore((0, 1, 0))  # the Restore button: unprune, unfix
    assert m.edges("pruned") == [] and m.edges("symbolic") == []
    with pytest.warns(DeprecationWarning, match="preview_prune"):
        old = ex.preview_prune(0.05)
    assert old == ex.preview_prune(edge_th=0.05) and old
    with pytest.warns(DeprecationWarning, match="prune"):
        ex.prune_weak(0.05)
    assert m.edges("pruned") == old
    ex.undo()
    ex.prune(edge_th=0.05)
    assert m.edges("pruned") == old
