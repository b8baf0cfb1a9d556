"""Save a whole Explorer session (model, data, undo history, selection) to one file and
read it back.

The file is a torch archive of plain data and tensors only (the model's ``state()`` format,
numbers, strings, lists and dicts); it is read with ``torch.load(weights_only=True)``, so
opening a file runs no code from it. A path is only ever a path: it is never evaluated.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
import zipfile

import torch

from ..core.io import MAGIC as MODEL_MAGIC
from .checks import confine_path, read_path
from .history import Step
from .layout import NetworkLayout

__all__ = ["PersistCommands", "SESSION_FORMAT", "session_state", "write_session", "read_session",
           "restore_steps"]

SESSION_FORMAT = "kan_widgets.session/1"


def _step(step: Step) -> dict:
    return {"label": step.label, "kind": step.kind, "loss": float(step.loss),
            "train_loss": float(step.train_loss), "before": step.before, "after": step.after}


def session_state(session) -> dict:
    """Everything needed to reopen ``session`` as it is: plain data and tensors."""
    h = session.undo_history
    data = None
    if session.X is not None:
        data = {"X": session.X, "y": session.y, "X_test": session.X_test,
                "y_test": session.y_test, "variables": list(session.layout.node_labels[0]),
                "outputs": list(session.layout.node_labels[-1]), "task": session.task}
    sel = session.selected
    done, undone = _this_model(h)
    return {
        "format": SESSION_FORMAT,
        "model": session.model.state(),
        "data": data,
        "history": {"start": _step(h.start), "done": [_step(s) for s in done],
                    "undone": [_step(s) for s in undone], "max_steps": h.max_steps,
                    "max_bytes": h.max_bytes},
        "selected": None if sel is None else [int(v) for v in sel],
        "selected_node": (None if session.selected_node is None
                          else [int(v) for v in session.selected_node]),
    }


def _this_model(h):
    """The steps of ``h`` that act on the session's current model: a step that swapped in
    another model (``Step.swap``, loading a candidate) and the steps beyond it on the far
    side refer to a model the file does not hold, so they are not saved."""
    swaps = [k for k, st in enumerate(h.done) if st.swap is not None]
    done = h.done[swaps[-1] + 1:] if swaps else list(h.done)
    swaps = [k for k, st in enumerate(h.undone) if st.swap is not None]  # redo order: last first
    undone = h.undone[swaps[-1] + 1:] if swaps else list(h.undone)
    return done, undone


def write_session(session, path: str) -> str:
    """Write ``session_state(session)`` to ``path`` atomically; returns the path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path!r}: the folder {folder!r} does not exist")
    with session.lock:
        st = session_state(session)
    # a fresh temporary file (O_EXCL: never one planted there, nor a link to elsewhere),
    # then renamed: never a half-written file at ``path``
    fd, tmp = tempfile.mkstemp(prefix=".kw-save-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(st, f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def read_session(path: str) -> dict:
    """Read a file written by ``write_session`` (no code from the file runs)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no saved session at {path!r}; check the path")
    with open(path, "rb") as f:  # a model file (KAN.save) starts with its checksum header
        if f.read(len(MODEL_MAGIC)) == MODEL_MAGIC:
            raise ValueError(f"{path!r} is not an Explorer session (it is a saved model: open "
                             "it with KAN.load)")
    try:
        st = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile,
            ValueError) as e:
        raise ValueError(f"{path!r} is not a readable Explorer session file: {e}") from None
    if not isinstance(st, dict) or st.get("format") != SESSION_FORMAT:
        hint = (" (it is a saved model: open it with KAN.load)"
                if isinstance(st, dict) and "state_dict" in st else "")
        raise ValueError(f"{path!r} is not an Explorer session (expected format "
                         f"{SESSION_FORMAT!r}){hint}")
    return st


def restore_steps(history, st: dict) -> None:
    """Put the saved steps of ``st["history"]`` into an ``UndoHistory``."""
    def make(d):
        return Step(d["label"], d["kind"], d["loss"], d["train_loss"], before=d["before"],
                    after=d["after"])

    h = st["history"]
    history.start = make(h["start"])
    history.done = [make(d) for d in h["done"]]
    history.undone = [make(d) for d in h["undone"]]


class PersistCommands:
    """``save`` / ``load`` of ``Session``.

    ``save_dir`` : the folder a path typed into the app (the Save field) is confined to;
    None: the working directory at the time of the save (see ``save``).
    """

    save_dir = None

    def save(self, path, confine=False) -> str:
        """Write the session (model, data, undo history, selection) to ``path`` (a
        ``.kan`` suffix is added to a name without one); reopen with ``Session.load``.

        ``confine=True`` (the Save button: the path was typed by whoever uses the app, in
        Voila maybe not the owner of the server) keeps the file inside ``save_dir`` (default:
        the working directory): ``..``, absolute paths outside it and symbolic links leading
        out are refused with the reason in ``message`` (``checks.confine_path``).
        """
        try:
            if confine:
                root = self.save_dir if self.save_dir is not None else os.getcwd()
                real, shown = confine_path(path, root)
                write_session(self, real)
                path = shown
            else:
                path = write_session(self, read_path(path))
        except (ValueError, OSError) as err:
            self._report("save", err)
            raise
        self._set_message(f"saved the session to {path}", "info")
        return real if confine else path

    @classmethod
    def load(cls, path, **kw):
        """A new Session from a file written by ``save``: the same model, data, history
        (Undo/Redo work as before) and selection."""
        from ..core.network import KAN

        st = read_session(path)
        model = KAN.from_state(st["model"])
        d = st["data"]
        data = None  # pykan's dict: the names travel in the model (variables_, output_names_)
        if d is not None:
            data = {"train_input": d["X"], "train_label": d["y"]}
            if d["X_test"] is not None:
                data.update(test_input=d["X_test"], test_label=d["y_test"])
        if d is not None and d.get("task") == "classification":  # older files: detected
            kw.setdefault("loss", "cross_entropy")
        if "max_bytes" in st["history"]:  # files written before the byte budget lack it
            kw.setdefault("max_history_bytes", st["history"]["max_bytes"])
        s = cls(model, data, max_history=st["history"]["max_steps"], **kw)
        if d is not None:  # the node names the session showed
            s.layout = NetworkLayout.from_model(model, d["variables"], d["outputs"])
        restore_steps(s.undo_history, st)
        if st["selected"] is not None:
            s.select(tuple(st["selected"]))
        if st["selected_node"] is not None:
            s.selected_node = tuple(st["selected_node"])
        s._changed(f"opened {path}")
        return s
