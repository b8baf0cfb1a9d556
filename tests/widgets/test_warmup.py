"""WarmUp: what a click on an edge shows is computed ahead, piece by piece, and the click then
only reads the cache; a change of the model starts it again; it waits while the user works."""

from __future__ import annotations

import time

from kan_widgets import Explorer
from kan_widgets.widgets.warmup import WarmUp, start_warm_up


def _cached_edges(session, kind):
    return {k[1] for k in session._cache if k[0] == kind}


def test_warm_up_fills_the_cache_the_edge_panel_reads(fitted, toy):
    ex = Explorer(fitted.copy(), toy)
    s = ex.session
    w = WarmUp(s, topk=ex.edge_panel.topk)
    assert w.step() is True and w.done == 1  # one piece per step
    n = w.run()
    assert w.done == n + 2 == 3 * len(s.layout.edges)  # the last step did a piece too
    assert w.step() is False and w.done == n + 2
    edges = set(s.layout.edges)
    assert _cached_edges(s, "detail") == _cached_edges(s, "suggest") == edges
    assert _cached_edges(s, "preview") == edges
    # a click now computes nothing new: the panel shows the cached suggestions and previews
    keys = set(s._cache)
    e = s.layout.edges[3]
    ex.select(e)
    assert set(s._cache) == keys
    assert ex.edge_panel._fits == list(s.suggestions(e, ex.edge_panel.topk))


def test_warm_up_starts_again_after_a_change_and_waits_while_the_user_works(fitted, toy):
    ex = Explorer(fitted.copy(), toy)
    s = ex.session
    w = WarmUp(s, max_edges=4)
    assert w.run() == 3 * 4 - 1 and w.step() is False
    ex.fix_symbolic((0, 0, 0), "sin")  # the cache is emptied: the warm-up plans again
    w.last_ui = -float("inf")  # (the fix just counted as the user's activity)
    assert w.step() is True
    assert _cached_edges(s, "detail") == {s.layout.edges[0]}
    ex.select((0, 1, 0))  # a click: the warm-up keeps quiet for QUIET_S
    assert w.busy(s) and w.step() is None
    w.last_ui = time.monotonic() - WarmUp.QUIET_S - 0.01
    assert not w.busy(s) and w.step() is True
    # the selected edge comes first in a new plan
    s._cache.clear()
    w._version = None
    w.step()
    assert _cached_edges(s, "detail") == {s.selected}


def test_a_pruned_edge_is_warmed_without_suggestions(fitted, toy):
    ex = Explorer(fitted.copy(), toy)
    s = ex.session
    ex.prune_edge((0, 0, 0))
    w = WarmUp(s)
    w.last_ui = -float("inf")
    w.run()
    assert s.layout.edges[0] in _cached_edges(s, "detail")
    assert s.layout.edges[0] not in _cached_edges(s, "suggest")


def test_start_warm_up_outside_a_kernel_schedules_nothing(fitted, toy):
    ex = Explorer(fitted.copy(), toy)
    assert start_warm_up(ex.session) is None
    ex._repr_mimebundle_()
    assert ex._warm is None
