"""Make the first click as fast as the later ones: compute what a click shows while the kernel
is idle.

A click on an edge fills the edge panel from three cached session queries (``edge_detail``,
``suggestions``, ``previews``). In a fresh kernel the first of them also pays one-time costs
(the first autograd pass, the symbolic fitting code and its tables, torch's first kernels):
the first click took 0.45-1.1 s against ~0.1 s for later ones. Once the Explorer is shown,
``WarmUp`` runs those queries edge by edge from the kernel's event loop, one small piece per
loop turn, so a message from the browser (a click) is handled between two pieces, never after
the whole warm-up. The results land in the session's cache, which a change of the model
empties; the warm-up then starts again for the new model, and pauses while training runs.
"""

from __future__ import annotations

import time
import weakref

__all__ = ["WarmUp", "start_warm_up"]


class WarmUp:
    """Precompute the edge panel's queries for the first ``max_edges`` edges of a session.

    Parameters
    ----------
    session : explore.Session
    topk : the number of suggestions the edge panel shows (its cache key)
    max_edges : edges warmed per model version (a large network: the first ones only; the
        one-time costs are paid by the first edge anyway)

    Attributes
    ----------
    done : pieces computed so far (all versions)
    """

    PIECES = ("detail", "suggestions", "previews")
    QUIET_S = 1.0

    def __init__(self, session, topk=5, max_edges=64):
        self._session = weakref.ref(session)
        self.topk = topk
        self.max_edges = max_edges
        self.done = 0
        self.last_ui = -float("inf")
        self._version = None
        self._todo: list = []
        ref = weakref.ref(self)

        def touched(change):
            w = ref()
            if w is not None:
                w.last_ui = time.monotonic()

        session.observe(touched, ["selected", "selected_node", "revision"])

    def _plan(self, s):
        self._version = s.model.version
        edges = list(s.layout.edges)[: self.max_edges]
        if s.selected is not None:  # the selected edge first (shown again after a change)
            if s.selected in edges:
                edges.remove(s.selected)
            edges.insert(0, s.selected)
        # what the panel shows first (the edge, its suggestions) for every edge, then the
        # loss previews (the panel's second step, and the dearest piece)
        self._todo = ([(e, p) for e in edges for p in self.PIECES[:2]]
                      + [(e, self.PIECES[2]) for e in edges])

    def busy(self, s) -> bool:
        """The user is at work: training runs, a command waits for the session's lock, or
        the selection changed less than ``QUIET_S`` ago (more clicks are likely to come;
        their messages must not queue behind our pieces)."""
        return (s.training or getattr(s.lock, "_waiting", 0) > 0
                or time.monotonic() - self.last_ui < self.QUIET_S)

    def step(self) -> bool | None:
        """Compute one piece. Returns True when more remain, False when all are done, None
        when it should wait (``busy``, or the session is gone)."""
        s = self._session()
        if s is None or self.busy(s):
            return None
        if s.model.version != self._version:
            self._plan(s)
        if not self._todo:
            return False
        edge, piece = self._todo.pop(0)
        try:
            if s.model.edge_mode(edge) == "pruned" and piece != "detail":
                return bool(self._todo)  # a pruned edge shows no suggestions
            if piece == "detail":
                s.edge_detail(edge)
            elif piece == "suggestions":
                s.suggestions(edge, self.topk)
            else:
                s.previews(edge, s.suggestions(edge, self.topk))
        except Exception:  # noqa: BLE001 -- a click on this edge will report it, not us
            pass
        self.done += 1
        return bool(self._todo)

    def run(self, budget_s=None) -> int:
        """Compute pieces until done (or ``budget_s`` seconds); returns how many."""
        t0, n = time.perf_counter(), 0
        while (budget_s is None or time.perf_counter() - t0 < budget_s) and self.step():
            n += 1
        return n


def start_warm_up(session, topk=5, max_edges=64, pause_s=0.05, wait_s=0.5, delay_s=2.5):
    """Run a ``WarmUp`` of ``session`` from the running kernel's event loop; returns it, or
    None outside a kernel (no running loop: nothing is scheduled).

    It starts ``delay_s`` after the display: the browser first loads the figures' code
    (anywidget gives each model 2 s to do so, and a busy kernel on a small machine slowed it
    past that: the figures then never updated). Each piece is one loop callback (``pause_s``
    apart), so what the browser sends is handled in between; while the user is at work
    (``WarmUp.busy``) it looks again every ``wait_s``. When all pieces are done it looks
    every ``wait_s`` whether the model changed (the cache is then empty again).
    """
    try:
        from tornado.ioloop import IOLoop
    except ImportError:  # pragma: no cover - comes with ipykernel
        return None
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    if get_ipython() is None or getattr(get_ipython(), "kernel", None) is None:
        return None
    loop = IOLoop.current()
    warm = WarmUp(session, topk=topk, max_edges=max_edges)
    ref = weakref.ref(session)

    def tick():
        if ref() is None:
            return  # the session is gone: stop
        more = warm.step()
        loop.call_later(pause_s if more else wait_s, tick)

    loop.call_later(delay_s, tick)
    return warm
