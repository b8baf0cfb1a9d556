"""``Session``: the Explorer's state and commands, without widgets.

A session owns a model, its data and an undo history. Every command that changes the model
takes a snapshot, runs the core verb under one lock, records the loss, then bumps
``revision``; views observe ``revision`` (and ``live`` while training) and redraw. Errors are
put in ``message`` (and re-raised to a script caller), and the model is rolled back to its
snapshot, so a failed action never leaves it half-changed.

Threads: in JupyterLab 4.6 widget callbacks may run on a kernel subshell thread, concurrently
with a running cell or a training thread. Every model read and write goes through
``session.lock`` (re-entrant). Training holds it for the whole fit and opens it between steps
to threads waiting for it, so a click during training is served within one step.
"""

from __future__ import annotations

import inspect
import math
import threading
import warnings

from traitlets import Any, Bool, HasTraits, Int, List, Unicode

from ..core.edges import EdgeId, as_edge
from ..core.validation import positional_thresholds
from .checks import HUGE_GRID, read_grid
from .history import DEFAULT_MAX_BYTES, Step, UndoHistory, restore_state
from .node_commands import NodeCommands
from .persist import PersistCommands
from .previews import WORSE_FACTOR, PreviewCommands, worse_by
from .queries import SessionQueries
from .shape_commands import ShapeCommands, shape_of
from .swap import SwapCommands
from .training import ModelLock, TrainCommands

__all__ = ["Session", "ModelLock"]


def _accepts(fn, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


class Session(SessionQueries, PreviewCommands, NodeCommands, ShapeCommands, PersistCommands,
              TrainCommands, SwapCommands, HasTraits):
    """State and commands of one Explorer.

    Parameters
    ----------
    model : KAN, changed in place by the commands
    data : Dataset, pykan-style dict, or None (then samples are the model's last fit inputs
        and ``train`` is unavailable)
    max_history : undo depth (the oldest steps are forgotten past this many)
    max_history_bytes : memory the undo snapshots may hold (default 256 MB); the oldest steps
        are forgotten past it, the most recent one is always kept. Unchanged tensors are
        shared between steps, so a small edit costs little; ``undo_history.forgotten``
        counts the steps dropped
    live_interval : least seconds between the starts of two live redraws while training
        (0.2: up to 5 frames/s)
    loss : "cross_entropy" for a classifier (outputs are class logits, targets integer
        labels), "mse" for regression; default: what the model was fitted with (its training
        log records accuracy after a cross-entropy fit), else classification for integer
        labels and several outputs, else regression. A classifier's "loss" everywhere is the
        cross-entropy, ``accuracies()`` gives its accuracy, and ``train`` fits with it

    Traits (observe them)
    ---------------------
    revision : bumped after every change of the model
    selected : the selected EdgeId or None
    message, message_level : last message and "info", "warning" or "error"
    training : a fit is running
    live : bumped during training at a bounded rate (draw ``model`` and ``train_log``)
    preview : edges ``prune`` would mask with the thresholds last previewed (``preview_prune``)
    selected_node : (layer, i) of the selected node or None (``select_node``)
    worse : the last action made the loss more than ``WORSE_FACTOR`` times worse (the message
        says so; the widget shows Undo next to it)
    structure : bumped when the session's model is another object, of maybe another width,
        or its data changed (``replace_model``, and its undo / redo), or when the model's
        shape changed (a node or layer added or removed: ``add_node``, ``remove_node``,
        ``add_layer``, their undo, or a cell; ``layout`` is new, the selection cleared):
        views rebuild
    discovering : a discovery search runs for this session (``DiscoverState``); training
        is refused meanwhile

    Attributes
    ----------
    undo_history : UndoHistory of the commands (``history`` is its old name); the model's
        training log is ``model.history_``
    task : "regression" or "classification" (see ``loss``)

    Vocabulary: the commands carry the core verbs' names and keyword-only arguments
    (``fix_symbolic``, ``unfix_symbolic``, ``prune_edge``, ``unprune``,
    ``prune(node_th=..., edge_th=...)``, ``preview_prune(...)``, ``refine``,
    ``auto_symbolic``); ``restore`` is the edge panel's Restore button: ``unprune`` on a
    pruned edge, ``unfix_symbolic`` on a symbolic one.
    can_undo, can_redo
    """

    revision = Int(0)
    selected = Any(None, allow_none=True)
    selected_node = Any(None, allow_none=True)
    worse = Bool(False)
    message = Unicode("")
    message_level = Unicode("info")
    training = Bool(False)
    live = Int(0)
    preview = List()
    can_undo = Bool(False)
    can_redo = Bool(False)
    structure = Int(0)
    discovering = Bool(False)

    def __init__(self, model, data=None, max_history=100, live_interval=0.2,
                 max_history_bytes=DEFAULT_MAX_BYTES, loss=None):
        super().__init__()
        self.lock = ModelLock()
        self.live_interval = float(live_interval)
        self._cache: dict = {}
        self._attach(model, data, loss)
        self.train_log: list[dict] = []
        self._busy = threading.Lock()  # makes "is a fit running? if not, start one" atomic
        self._stop = threading.Event()
        self._thread = None
        test, train = self.losses()
        self.undo_history = UndoHistory(test, train, max_steps=max_history,
                                        max_bytes=max_history_bytes)
        self._seen, self._seen_state = model.version, model.state()

    # ------------------------------------------------------------------ reading
    @property
    def samples(self):
        """Inputs the verbs work on: the data's training inputs, else the model's last fit."""
        return self.X if self.X is not None else self.model.X_fit_

    @property
    def history(self) -> UndoHistory:
        """Deprecated name of ``undo_history``."""
        warnings.warn("Session.history is deprecated: use Session.undo_history (the model's "
                      "training log is model.history_)", DeprecationWarning, stacklevel=2)
        return self.undo_history

    # ------------------------------------------------------------------ selection
    def select(self, edge):
        """Select an edge (None clears); selecting one clears the node selection. Does not
        change the model."""
        self.poll()
        try:
            e = None if edge is None else as_edge(edge, self.model.width, self.model.width_out)
        except (ValueError, IndexError) as err:
            self._report("select", err)
            raise
        if e is not None:
            self.selected_node = None
        self.selected = e
        return self

    def preview_prune(self, *args, node_th=1e-2, edge_th=3e-2) -> list[EdgeId]:
        """Edges that ``prune(node_th=..., edge_th=...)`` would mask: ``model.preview_prune``
        (exact, on a copy) on the session's samples, cached; also stored in the ``preview``
        trait. Use ``clear_preview`` to hide them. (Positional thresholds, in the old order
        ``edge_th, node_th``, still work but are deprecated.)"""
        edge_th, node_th = positional_thresholds("Session.preview_prune", args,
                                                 ("edge_th", "node_th"),
                                                 dict(node_th=node_th, edge_th=edge_th))
        with self.lock:
            edges = self._cached(("prune_preview", node_th, edge_th), lambda: self._call(
                self.model.preview_prune, node_th=node_th, edge_th=edge_th))
        self.preview = list(edges)
        return edges

    def clear_preview(self):
        self.preview = []

    # ------------------------------------------------------------------ commands
    def fix_symbolic(self, edge, name, fit=True):
        """Fix an edge to function ``name`` (fitting ``c*f(a*x+b)+d``)."""
        e = self._edge(edge)
        return self._mutate("fix", f"fix {e} → {name}",
                            lambda: self._call(self.model.fix_symbolic, e, name, fit=fit))

    def unfix_symbolic(self, edge=None):
        """Back to the spline (``model.unfix_symbolic``)."""
        e = self._edge(edge)
        return self._mutate("unfix", f"unfix {e}", lambda: self.model.unfix_symbolic(e))

    def unfix(self, edge=None):
        """Deprecated name of ``unfix_symbolic``."""
        warnings.warn("Session.unfix is deprecated: use Session.unfix_symbolic",
                      DeprecationWarning, stacklevel=2)
        return self.unfix_symbolic(edge)

    def prune_edge(self, edge=None):
        """Mask one edge (``model.prune_edge``)."""
        e = self._edge(edge)
        return self._mutate("prune_edge", f"prune {e}", lambda: self.model.prune_edge(e))

    def unprune(self, edge=None):
        """Unmask one edge (``model.unprune``)."""
        e = self._edge(edge)
        return self._mutate("unprune", f"unprune {e}", lambda: self.model.unprune(e))

    def restore(self, edge=None):
        """The edge panel's Restore: ``unprune`` a pruned edge, ``unfix_symbolic`` a symbolic
        one (what was done *to this edge*; ``undo`` is for the last action)."""
        e = self._edge(edge)
        with self.lock:
            mode = self.model.edge_mode(e)
        if mode == "pruned":
            return self.unprune(e)
        if mode == "symbolic":
            return self.unfix_symbolic(e)
        self._set_message(f"edge {e} is already a spline", "info")
        return self

    def prune(self, *args, node_th=1e-2, edge_th=3e-2):
        """Prune weak nodes and edges by attribution (``model.prune``, same keywords).
        (Positional thresholds, in the old order ``edge_th, node_th``, are deprecated.)"""
        edge_th, node_th = positional_thresholds("Session.prune", args, ("edge_th", "node_th"),
                                                 dict(node_th=node_th, edge_th=edge_th))
        self.preview = []
        return self._mutate("prune", f"prune below {edge_th:.3g}", lambda: self._call(
            self.model.prune, node_th=node_th, edge_th=edge_th))

    def refine(self, grid, confirm=False):
        """Grid extension to ``grid`` intervals (``model.refine``); a smaller grid than the
        model's is labelled "coarsen". A grid above ``HUGE_GRID`` is refused unless
        ``confirm=True`` (it is slow and large: see ``preview_refine``)."""
        try:
            grid = read_grid(grid)
            if grid > HUGE_GRID and not confirm:
                raise ValueError(self.preview_refine(grid).warning.replace(
                    "press Refine again", "pass confirm=True"))
        except ValueError as err:
            self._report("refine", err)
            raise
        kind = "coarsen" if grid < self.model.grid else "refine"
        return self._mutate(kind, f"{kind} grid {self.model.grid} → {grid}",
                            lambda: self._call(self.model.refine, grid))

    def auto_symbolic(self, lib=None, **kw):
        """Fix every spline edge to its best function (``model.auto_symbolic``);
        ``preview_auto_symbolic`` shows the picks and the loss first."""
        label = "auto-symbolic" if lib is None else f"auto-symbolic ({len(list(lib))} functions)"
        return self._mutate("auto_symbolic", label,
                            lambda: self._call(self.model.auto_symbolic, lib=lib, **kw))

    def undo(self):
        """Restore the model as it was before the last action (bit for bit)."""
        with self.lock:  # the idle check and the action in one critical section
            self._check_idle("undo")
            self.poll()
            if not self.undo_history.can_undo:
                self._set_message("nothing to undo", "info")
                return self
            step = self.undo_history.done[-1]
            now = self._seen_state  # the model now (poll just made sure)
            # restore first (atomic), then mark the step undone: an interrupted restore
            # leaves both the model and the history as they were
            self._restore(step, step.before)
            self.undo_history.pop_undo()
            step.after = now
            self._changed(f"undid: {step.label}")
        return self

    def redo(self):
        """Apply again the last undone action."""
        with self.lock:
            self._check_idle("redo")
            self.poll()
            if not self.undo_history.can_redo:
                self._set_message("nothing to redo", "info")
                return self
            step = self.undo_history.undone[-1]
            now = self._seen_state
            self._restore(step, step.after)
            self.undo_history.pop_redo()
            step.before, step.after = now, None
            self._changed(f"redid: {step.label}")
        return self

    def poll(self) -> bool:
        """Notice a change made to the model outside the session (a cell ran ``model.fit``,
        a parameter was edited by hand): ``model.version`` differs from the one last drawn.
        Such a change becomes an undoable "changed outside" step and a redraw. Commands and
        ``select`` call it first; views may call it when idle. Returns whether it found one
        (never while the session itself is training)."""
        if self.training:
            return False
        with self.lock:
            if self.model.version == self._seen:
                return False
            test, train = self.losses()
            self.undo_history.push(Step(OUTSIDE, "outside", test, train,
                                        before=self._seen_state))
            self._changed(f"the model was changed outside the Explorer (loss {_fmt(test)});"
                          " Undo goes back past it", "warning")
        return True

    def refresh(self):
        """Redraw everything and forget cached results (a change made outside the session
        since the last command is recorded first, see ``poll``)."""
        with self.lock:
            if not self.poll():
                self._changed("")
        return self

    # ------------------------------------------------------------------ internals
    def _edge(self, edge) -> EdgeId:
        if edge is None:
            if self.selected is None:
                err = ValueError("no edge selected: select an edge first or pass one")
                self._report("edge", err)
                raise err
            return self.selected
        try:
            return as_edge(edge, self.model.width, self.model.width_out)
        except (ValueError, IndexError) as err:
            self._report("edge", err)
            raise

    def _call(self, fn, *args, **kw):
        # pass the session's samples to verbs that take X (None means the last fit's inputs,
        # which a model never fitted does not have)
        if self.X is not None and "X" not in kw and _accepts(fn, "X"):
            kw["X"] = self.X
        return fn(*args, **kw)

    def _check_idle(self, what):
        if self.training:
            err = RuntimeError(f"{what}: training is running; press Stop first")
            self._report(what, err)
            raise err

    def _mutate(self, kind, label, action, show_before=False):
        """Run ``action`` as one undoable step; on error roll back, report and re-raise.
        The message gives the loss after (``show_before``: before → after)."""
        with self.lock:  # the idle check inside: a fit cannot start between check and act
            self._check_idle(kind)
            self.poll()
            before = self._seen_state  # the model as it is now (poll just made sure)
            try:
                # warnings (e.g. edges auto_symbolic left as splines) go to the message area
                # too; they are re-issued below for scripts
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    action()
            except BaseException as err:
                restore_state(self.model, before)
                self._changed(None)
                self._report(kind, err)
                raise
            loss_before = self.undo_history.current_loss()
            test, train = self.losses()
            self.undo_history.push(Step(label, kind, test, train, before=before))
            note = "".join(f" — {w.message}" for w in caught)
            loss = f"{_fmt(loss_before)} → {_fmt(test)}" if show_before else _fmt(test)
            self._changed(f"{label}: loss {loss}{note}", "warning" if caught else "info")
            self.flag_worse(loss_before, test, label)
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return self

    def flag_worse(self, before, after, label):
        """After an action: when the loss grew more than ``WORSE_FACTOR`` times, say so in the
        message (with the Undo next to it in the widget) and set ``worse``."""
        ratio = worse_by(before, after)
        if ratio > WORSE_FACTOR:
            self._set_message(f"{self.message} — {label} made the loss {ratio:.0f}x worse "
                              f"({_fmt(before)} → {_fmt(after)}): Undo takes it back", "error")
            self.worse = True

    def _changed(self, message, level="info"):
        """The model changed: drop caches, remember its version and state (the next command's
        undo point), update flags, bump ``revision`` (views redraw)."""
        self._cache.clear()
        if shape_of(self.model) != self._shape_key:
            self._new_shape()
        self._seen = self._cache_version = self.model.version
        self._seen_state = self.model.state()
        self.can_undo = self.undo_history.can_undo
        self.can_redo = self.undo_history.can_redo
        self.worse = False
        if message is not None:
            self._set_message(message, level)
        self.revision += 1

    def _set_message(self, text, level="info"):
        self.message_level = level
        self.message = text

    def report(self, what, err):
        """Show ``err`` in ``message`` as the failure of ``what`` (used by the widgets)."""
        text = str(err) or type(err).__name__
        if isinstance(err, KeyError) and err.args:
            text = str(err.args[0])  # KeyError's str() adds quotes around the message
        self._set_message(f"{what} failed: {text}", "error")
        try:
            err._kw_reported = True  # the widgets' guard does not report it twice
        except AttributeError:
            pass

    _report = report


OUTSIDE = "changed outside the Explorer"  # the history label of a change made outside


def _fmt(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.3g}"
