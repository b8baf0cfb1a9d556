"""The Explorer's Discover panel without widgets: ``kw.discover`` on the session's data in a
background thread, its front as plain numbers for a plot, and loading a candidate's model
into the session as one undoable step.

Threads: the search never touches the session's model (each candidate trains its own), so it
runs without the session lock; it only reports through traits (``revision`` when a candidate
arrives, ``progress``) and, on error, through the session's message. Training and discovery
are not run together (two CPUs): ``session.discovering`` makes ``train`` refuse, and
``start`` refuses while training runs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import torch
from traitlets import Bool, Float, HasTraits, Int, Unicode

from .checks import read_float

__all__ = ["DiscoverState", "FrontPoint", "read_budget", "MAX_BUDGET"]

MAX_BUDGET = 3600.0  # seconds; more is a batch job, not an interactive search
PROGRESS_INTERVAL = 0.25  # least seconds between two progress updates


def read_budget(value) -> float:
    """A time budget in seconds from a number or typed text: finite, > 0, at most an hour."""
    return read_float(value, "time budget (s)", 0.0, MAX_BUDGET, low_open=True)


@dataclass(frozen=True)
class FrontPoint:
    """One drawn point of the front: ``candidates()[index]``."""

    index: int
    complexity: int
    error: float
    formula: str


class DiscoverState(HasTraits):
    """Discovery for one ``Session``.

    Parameters
    ----------
    session : the Explorer's session; its data *now* is what ``start`` searches (loading a
        candidate later gives the session the candidate's scaled data, but a new search
        still runs on the data the user gave)

    Traits (observe them)
    ---------------------
    running : a search is running
    progress : fraction of the time budget spent, 0..1 (1 when done)
    revision : bumped when a candidate arrives and when a search ends
    status : one line saying what the search is doing or did

    Attributes
    ----------
    front : the latest ``Front`` (a copy taken when its last candidate arrived), or None
    """

    running = Bool(False)
    progress = Float(0.0)
    revision = Int(0)
    status = Unicode("not run yet")

    def __init__(self, session):
        super().__init__()
        self.session = session
        self._data = session.data
        self._names = (list(session.layout.node_labels[0]), list(session.layout.node_labels[-1]))
        self._X = None if session.X is None else (session.X, session.y, session.X_test,
                                                  session.y_test)
        self.front = None  # a discovery.Front
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    # ------------------------------------------------------------------ commands
    def start(self, time_budget=10.0, seed=0, background=True, **discover_kw):
        """Run ``discover`` on the session's data (``discover_kw``: its keywords, e.g.
        ``max_models``, ``widths``, ``use_log``, ``steps``). With ``background`` the search
        runs in a thread, returned at once; ``stop()`` ends it with the front found so far.
        Refused while training or another search runs. Errors of the search go to the
        session's message (and are raised when not in the background)."""
        s = self.session
        try:
            budget = read_budget(time_budget)
            args = self._arguments()
        except ValueError as err:
            s.report("discover", err)
            raise
        with s._busy:  # the check and the flag in one step, as train does
            why = ("training is running; press Stop first" if s.training else
                   "Discover is already running" if s.discovering else None)
            if why:
                err = RuntimeError(why)
                s.report("discover", err)
                raise err
            s.discovering = True
        self._stop.clear()
        self.front = None
        self.progress = 0.0
        self.status = f"running (budget {budget:g} s)"
        self.running = True
        self.revision += 1
        job = dict(args, time_budget=budget, seed=seed, **discover_kw)
        if not background:
            self._run(job, raise_errors=True)
            return self
        self._thread = threading.Thread(target=self._run, args=(job, False),
                                        name="kan-explorer-discover", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self):
        """End a running search soon; the front found so far is kept (the Stop button)."""
        self._stop.set()
        return self

    def wait(self, timeout=None) -> bool:
        """Wait until no search runs (``timeout`` seconds at most); True when none runs."""
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        while self.running:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            t = self._thread
            if t is not None and t.is_alive() and t is not threading.current_thread():
                t.join(0.05 if left is None else min(left, 0.05))
            else:
                time.sleep(0.002)
        t = self._thread
        if not self.running and t is not None and t is not threading.current_thread():
            # the thread ends right after its last frame: views show the final state on return
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not self.running

    def candidates(self) -> list:
        """The front's candidates, simplest first (what the plot shows)."""
        with self._lock:
            return [] if self.front is None else list(self.front.candidates)

    def points(self) -> list[FrontPoint]:
        """The front as plot points: complexity, test error, formula text."""
        return [FrontPoint(k, c.complexity, c.error, str(c.formula))
                for k, c in enumerate(self.candidates())]

    def show_front(self, front):
        """Make ``front`` (from ``kw.discover``) the one shown and loaded from, as if the
        search had run here. Refused while a search runs."""
        if not (hasattr(front, "candidates") and hasattr(front, "all")):
            err = TypeError(f"show_front takes the Front that kw.discover returns; got "
                            f"{type(front).__name__}")
            self.session.report("show front", err)
            raise err
        if self.running:
            err = RuntimeError("Discover is running; wait for it or press its Stop first")
            self.session.report("show front", err)
            raise err
        with self._lock:
            self.front = front
        self.status = f"a front of {len(front)} candidate(s) from {len(front.all)} tried"
        self.revision += 1
        return self

    def candidate(self, i):
        """``candidates()[i]`` (``i`` may also be a Candidate itself) with a clear error for a
        wrong index."""
        if hasattr(i, "model") and hasattr(i, "formula") and hasattr(i, "data"):
            return i
        cands = self.candidates()
        if not cands:
            raise ValueError("no candidate yet: run Discover first")
        if isinstance(i, bool) or not isinstance(i, int) or not -len(cands) <= i < len(cands):
            raise IndexError(f"candidate index must be an integer from 0 to {len(cands) - 1} "
                             f"(the front has {len(cands)}); got {i!r}")
        return cands[i]

    def load_candidate(self, i):
        """Put the model (a copy) of candidate ``i`` (an index into ``candidates()``, or a
        Candidate) and its data (the candidate's view: inputs scaled to [-1, 1], after
        ``log`` in the log view) in the session, as ONE undoable step
        "loaded candidate: <formula>"; Undo goes back to the model before."""
        s = self.session
        try:
            cand = self.candidate(i)
        except (ValueError, IndexError) as err:
            s.report("load candidate", err)
            raise
        text = str(cand.formula)
        text = text if len(text) <= 80 else text[:77] + "..."
        s.replace_model(cand.model.copy(), cand.data, f"loaded candidate: {text}",
                        kind="load_candidate")
        return cand

    # ------------------------------------------------------------------ internals
    def _arguments(self) -> dict:
        """``discover``'s data arguments from the session's data."""
        if self._X is None:
            raise ValueError("Discover needs data: build the Explorer with Explorer(model, data)")
        if hasattr(self._data, "X_train") and hasattr(self._data, "variables"):
            return {"data": self._data}  # a Dataset: its split and names as they are
        X, y, X_test, y_test = self._X
        if X_test is not None:  # a pykan dict: discover makes its own split of all rows
            X, y = torch.cat([X, X_test]), torch.cat([y, y_test])
        if y.shape[1] != 1:
            raise ValueError(f"Discover finds a formula for one output; the data has "
                             f"{y.shape[1]}")
        return {"data": X.double().numpy(), "y": y[:, 0].double().numpy(),
                "variables": self._names[0]}

    def _run(self, job, raise_errors):
        from ..discovery import Front, discover  # sympy: loaded when first used

        t0 = time.monotonic()
        budget = job["time_budget"]
        last = [0.0]

        def halt():  # asked at every fit step: the Stop flag, and the progress bar moves
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL:
                last[0] = now
                self.progress = min(1.0, (now - t0) / budget)
            return self._stop.is_set()

        def arrived(front, cand):
            snap = Front(front.target, front.variables)
            snap.all = list(front.all)
            with self._lock:
                self.front = snap
            self.status = (f"running: {len(front.all)} candidate(s), best "
                           f"{front.best}"[:120])
            self.revision += 1
            return False

        s = self.session
        try:
            front = discover(progress=False, callback=arrived, stop=halt, **job)
            with self._lock:
                self.front = front
            how = "stopped" if front.interrupted else "done"
            self.status = (f"{how}: {len(front)} candidate(s) on the front from "
                           f"{len(front.all)} tried in {front.seconds:.1f} s")
            s._set_message(f"Discover {self.status}", "info")
        except BaseException as err:  # never lost in the thread: the message shows it
            self.status = f"failed: {err}"
            s.report("discover", err)
            if raise_errors:
                raise
        finally:
            self.progress = 1.0
            self.running = False
            s.discovering = False
            self.revision += 1
