"""Undo / redo of Explorer actions by full model snapshots (``KAN.state()``).

"History" here means the undo history (``UndoHistory``, ``Session.undo_history``); the model's
training log is ``KAN.history_``. A snapshot is plain data plus tensors and restores the model
bit for bit in place (``KAN.load_state``), including grid sizes changed by ``refine`` (which a
``state_dict`` load could not). Each action stores the
model as it was *before* it ran, taken right then, so a model also changed outside the
Explorer between two actions is still restored to exactly what the action saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Step", "UndoHistory", "History", "restore_state"]


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
    """

    label: str
    kind: str
    loss: float
    train_loss: float = float("nan")
    before: dict | None = field(default=None, repr=False)
    after: dict | None = field(default=None, repr=False)


class UndoHistory:
    """A linear undo/redo history; a new action drops whatever could be redone.

    Parameters
    ----------
    start_loss, start_train_loss : losses of the model when the session started
    max_steps : oldest steps are forgotten past this many (their snapshots cost memory)
    """

    def __init__(self, start_loss=float("nan"), start_train_loss=float("nan"), max_steps=100):
        self.start = Step("start", "start", start_loss, start_train_loss)
        self.max_steps = int(max_steps)
        self.done: list[Step] = []
        self.undone: list[Step] = []  # most recently undone last

    @property
    def can_undo(self) -> bool:
        return bool(self.done)

    @property
    def can_redo(self) -> bool:
        return bool(self.undone)

    def push(self, step: Step) -> None:
        """Record an action that has just run (``step.before`` set)."""
        self.done.append(step)
        self.undone.clear()
        if len(self.done) > self.max_steps:
            del self.done[0]

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


History = UndoHistory  # the name before "history" meant three things; kept for old imports


def restore_state(model, state: dict) -> None:
    """Make ``model`` equal to ``state`` (from ``model.state()``) bit for bit, *in place*
    (``model.load_state``): the notebook's own ``model`` variable keeps pointing at it."""
    model.load_state(state)
