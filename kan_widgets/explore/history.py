"""Undo / redo of Explorer actions by full model snapshots (``KAN.state()``).

"History" here means the undo history (``UndoHistory``, ``Session.undo_history``); the model's
training log is ``KAN.history_``. A snapshot is plain data plus tensors and restores the model
bit for bit in place (``KAN.load_state``), including grid sizes changed by ``refine`` (which a
``state_dict`` load could not). Each action stores the
model as it was *before* it ran, taken right then, so a model also changed outside the
Explorer between two actions is still restored to exactly what the action saw.

Memory: a snapshot pushed shares every tensor (and training-log list) that equals the previous
step's one, so a step that changed one edge costs little more than that edge; the history is
bounded both in steps (``max_steps``) and in bytes (``max_bytes``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["Step", "UndoHistory", "History", "restore_state", "share_unchanged"]

DEFAULT_MAX_BYTES = 256 * 2**20
LIST_ITEM_BYTES = 32  # a float object (24 bytes) and the list's pointer to it


@dataclass
class Step:
    """One action in the history.

    Attributes
    ----------
    label : what was done, e.g. ``"fix 0,1,0 → sin"``
    kind : the command name (``"fix"``, ``"prune_edge"``, ``"train"``, ...)
    loss : RMSE after the action (test RMSE when the data has a test split), NaN if unknown
    train_loss : train RMSE after the action
    before : ``model.state()`` just before the action (restored by undo)
    after : ``model.state()`` after it, kept only while the step is undone (used by redo)
    swap : for an action that put another model (and data) in the session (loading a
        discovered candidate): the ``(model, data)`` on the other side of the step, the one
        undo (or redo) puts back, its state then restored from ``before`` (or ``after``);
        None for the actions that change the model in place
    """

    label: str
    kind: str
    loss: float
    train_loss: float = float("nan")
    before: dict | None = field(default=None, repr=False)
    after: dict | None = field(default=None, repr=False)
    swap: tuple | None = field(default=None, repr=False)


class UndoHistory:
    """A linear undo/redo history; a new action drops whatever could be redone.

    Parameters
    ----------
    start_loss, start_train_loss : losses of the model when the session started
    max_steps : oldest steps are forgotten past this many (their snapshots cost memory)
    max_bytes : oldest steps are forgotten while the snapshots hold more than this many bytes
        (default 256 MB; ``nbytes`` counts tensors shared between steps once, and the
        training-log lists roughly); the most recent step is always kept, however large

    Attributes
    ----------
    forgotten : how many of the oldest steps were dropped so far (past ``max_steps`` or
        ``max_bytes``); Undo can no longer go back past them
    """

    def __init__(self, start_loss=float("nan"), start_train_loss=float("nan"), max_steps=100,
                 max_bytes=DEFAULT_MAX_BYTES):
        self.start = Step("start", "start", start_loss, start_train_loss)
        self.max_steps = int(max_steps)
        self.max_bytes = int(max_bytes)
        if self.max_steps < 1 or self.max_bytes < 0:
            raise ValueError(f"max_steps must be at least 1 and max_bytes at least 0 (got "
                             f"{max_steps!r}, {max_bytes!r}): pass e.g. max_steps=100, "
                             f"max_bytes=256 * 2**20")
        self.done: list[Step] = []
        self.undone: list[Step] = []  # most recently undone last
        self.forgotten = 0

    @property
    def can_undo(self) -> bool:
        return bool(self.done)

    @property
    def can_redo(self) -> bool:
        return bool(self.undone)

    def push(self, step: Step) -> None:
        """Record an action that has just run (``step.before`` set), sharing what its
        snapshot has in common with the previous step's, then forget the oldest steps past
        ``max_steps`` or ``max_bytes`` (never this one)."""
        if self.done and step.before is not None and self.done[-1].before is not None:
            step.before = share_unchanged(step.before, self.done[-1].before)
        self.done.append(step)
        self.undone.clear()
        drop = max(0, len(self.done) - self.max_steps)
        sizes = _step_sizes(self.done)
        total = sum(sizes[drop:])
        while total > self.max_bytes and drop < len(self.done) - 1:
            total -= sizes[drop]
            drop += 1
        if drop:
            del self.done[:drop]
            self.forgotten += drop

    @property
    def nbytes(self) -> int:
        """Bytes the snapshots of all steps hold: tensors shared between snapshots counted
        once, training-log lists roughly (``LIST_ITEM_BYTES`` per entry)."""
        return sum(_step_sizes(self.done + self.undone))

    def pop_undo(self) -> Step:
        """The step to undo; the caller restores ``step.before`` and sets ``step.after``."""
        if not self.done:
            raise IndexError("nothing to undo")
        step = self.done.pop()
        self.undone.append(step)
        return step

    def pop_redo(self) -> Step:
        """The step to redo; the caller restores ``step.after``."""
        if not self.undone:
            raise IndexError("nothing to redo")
        step = self.undone.pop()
        self.done.append(step)
        return step

    def steps(self) -> list[tuple[Step, bool]]:
        """Every step shown in the history panel, with whether it is currently applied."""
        return ([(self.start, True)] + [(s, True) for s in self.done]
                + [(s, False) for s in reversed(self.undone)])

    def current_loss(self) -> float:
        return self.done[-1].loss if self.done else self.start.loss

    def __len__(self) -> int:
        return len(self.done)


def share_unchanged(new: dict, prev: dict) -> dict:
    """``new`` (a ``model.state()``) with each tensor and training-log list that equals
    ``prev``'s under the same key replaced by ``prev``'s object (same shape, dtype, device and
    values), so unchanged parts are stored once. ``new`` itself is not modified."""
    out = dict(new)
    sd, psd = new.get("state_dict"), prev.get("state_dict")
    if isinstance(sd, dict) and isinstance(psd, dict):
        out["state_dict"] = {k: _same(v, psd.get(k)) for k, v in sd.items()}
    if "X_fit" in new:
        out["X_fit"] = _same(new["X_fit"], prev.get("X_fit"))
    log, plog = new.get("history"), prev.get("history")
    if isinstance(log, dict) and isinstance(plog, dict):
        out["history"] = {k: _same(v, plog.get(k)) for k, v in log.items()}
    return out


def _same(v, p):
    """``p`` where it equals ``v`` (tensors bit for bit, lists elementwise), else ``v``."""
    if v is p or p is None:
        return v
    if isinstance(v, torch.Tensor) and isinstance(p, torch.Tensor):
        return p if _bitwise_equal(v, p) else v
    if isinstance(v, list) and isinstance(p, list) and len(v) == len(p) and v == p:
        return p
    return v


_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _bitwise_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    # compared as integers: torch.equal calls 0.0 and -0.0 equal and NaN unequal to itself
    if (a.shape != b.shape or a.dtype != b.dtype or a.device != b.device
            or a.layout != torch.strided or b.layout != torch.strided):
        return False
    bits = _BITS.get(a.element_size())
    if bits is None or a.dtype == torch.bool:
        return torch.equal(a, b)
    return torch.equal(a.view(bits), b.view(bits))


def _step_sizes(steps) -> list[int]:
    """Bytes each step holds alone, oldest first: an object shared between steps is counted
    with the newest of them (dropping the oldest steps frees exactly their counts)."""
    seen: set = set()
    sizes = [sum(_state_bytes(st, seen) for st in (s.before, s.after) if st is not None)
             for s in reversed(steps)]
    return sizes[::-1]


def _state_bytes(st: dict, seen: set) -> int:
    n = 0
    parts = list(st.get("state_dict", {}).values()) + [st.get("X_fit")]
    parts += list(st.get("history", {}).values())
    for v in parts:
        if isinstance(v, torch.Tensor):  # by storage: tensors reloaded from a file share too
            storage = v.untyped_storage()
            key, size = ("t", v.device, storage.data_ptr()), storage.nbytes()
        elif isinstance(v, list):
            key, size = ("l", id(v)), 56 + LIST_ITEM_BYTES * len(v)
        else:
            continue
        if key not in seen:
            seen.add(key)
            n += size
    return n


History = UndoHistory  # the name before "history" meant three things; kept for old imports


def restore_state(model, state: dict) -> None:
    """Make ``model`` equal to ``state`` (from ``model.state()``) bit for bit, *in place*
    (``model.load_state``): the notebook's own ``model`` variable keeps pointing at it."""
    model.load_state(state)
