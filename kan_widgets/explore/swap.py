"""Putting another model (and its data) in a session as one undoable step.

Loading a discovered candidate gives the Explorer a model that may have another width and
works on other data (the candidate's view: inputs scaled, maybe after ``log``). Such a step
keeps the model object it replaced, with that model's data, in ``Step.swap``; undo puts
them back and restores that model's state bit for bit, redo swaps again. The model objects
are never overwritten by one another, so the notebook's own ``model`` variable keeps the
model it named. ``structure`` is bumped on each swap so the views rebuild for the width.
The model a swap step keeps is held in memory with it (``UndoHistory.max_bytes`` counts the
snapshots, not that object); it is dropped with the step when the history forgets it.
"""

from __future__ import annotations

import math

import torch

from ..core.validation import unpack_data
from .history import Step, restore_state
from .layout import NetworkLayout
from .shape_commands import shape_of
from .task import REGRESSION, as_targets, detect_task

__all__ = ["SwapCommands"]


class SwapCommands:
    """``replace_model`` of ``Session`` and the helpers undo / redo use for a swap step
    (``Session`` supplies the traits, the lock, ``poll``, ``losses``, ``_changed``)."""

    def _attach(self, model, data, loss=None) -> None:
        """Make ``model`` and ``data`` the session's (tensors, names, layout, task: ``loss``
        or detected, see ``task.detect_task``); nothing else."""
        X = y = X_test = y_test = names = None
        task = detect_task(model, None, loss)
        if data is not None:
            X, y, X_test, y_test, names = unpack_data(data)
            task = detect_task(model, y, loss)
            X = torch.as_tensor(X, dtype=model.dtype, device=model.device)
            y = as_targets(model, y, task)  # a classifier's labels are checked there
            if X_test is not None:
                X_test = torch.as_tensor(X_test, dtype=model.dtype, device=model.device)
                y_test = as_targets(model, y_test, task)
            n_out = y.reshape(len(y), -1).shape[1] if task == REGRESSION else model.width[-1]
            if X.shape[1] != model.width[0] or n_out != model.width[-1]:
                raise ValueError(f"the data has {X.shape[1]} input(s) and {n_out} "
                                 f"output(s); the model has width {model.width}")
        self.task = task
        inputs = (names[0] if names else None) or model.variables_
        outputs = (names[1] if names else None) or model.output_names_
        layout = NetworkLayout.from_model(model, inputs, outputs)
        self.model, self.data, self.layout = model, data, layout
        self._shape_key = shape_of(model)
        self.X, self.y, self.X_test, self.y_test = X, y, X_test, y_test
        self._cache.clear()
        self._cache_version = model.version

    def replace_model(self, model, data, label, kind="load"):
        """Put ``model`` (another object, of any width) and its ``data`` in the session, as
        one undoable step labelled ``label``; undo puts the previous model and data back,
        bit for bit. The previous model object is kept as it is (not overwritten).

        Refused while training runs. Bumps ``structure`` (views rebuild) and ``revision``.
        """
        if model is self.model:
            err = ValueError("replace_model needs another model object (this one is already "
                             "the session's); pass a copy")
            self._report(kind, err)
            raise err
        with self.lock:
            self._check_idle(kind)
            self.poll()
            before = self._seen_state
            old = (self.model, self.data)
            try:
                self._attach(model, data)
                test, train = self.losses()
            except BaseException as err:
                self._attach(*old)
                self._report(kind, err)
                raise
            self.undo_history.push(Step(label, kind, test, train, before=before, swap=old))
            self.selected = None
            self.selected_node = None
            self.preview = []
            self.train_log = []
            self.structure += 1
            loss = "n/a" if math.isnan(test) else f"{test:.3g}"
            self._changed(f"{label} (loss {loss})")
        return self

    def _restore(self, step, state) -> None:
        """Undo / redo's restore: ``state`` into the model, or for a swap step into the
        model on the other side of it, which then becomes the session's (``step.swap`` keeps
        the one it replaces)."""
        if step.swap is None:
            restore_state(self.model, state)
            return
        model, data = step.swap
        restore_state(model, state)  # atomic: on error nothing moved
        step.swap = (self.model, self.data)
        self._attach(model, data)
        self.selected = None
        self.selected_node = None
        self.preview = []
        self.train_log = []
        self.structure += 1
