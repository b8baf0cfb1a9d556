"""``copy``, ``save`` and ``load``: one file, an exact round trip, nothing written unless asked."""

from __future__ import annotations

import copy
import hashlib
import io
import os
import pickle
import tempfile
import zipfile

import torch

from .edges import EdgeId
from .functions import get_function, restore_user_functions, user_function_definitions
from .state_check import InvalidModelError, validate_state
from .symbolic_edges import SymbolicFit
from .transaction import atomic

__all__ = ["IOMixin", "FORMAT", "InvalidModelError"]

FORMAT = "kan_widgets.KAN/1"
# a file is MAGIC, the SHA-256 of the payload in hex, a newline, then the payload (a torch
# archive of plain data and tensors); files from before the checksum are the bare archive
MAGIC = b"KANW-SHA256\n"


def _payload(path: str, data: bytes) -> bytes:
    """The torch archive inside the file bytes ``data``, its checksum verified."""
    if data.startswith(MAGIC):
        digest, sep, payload = data[len(MAGIC):].partition(b"\n")
        if not sep or hashlib.sha256(payload).hexdigest().encode() != digest:
            raise InvalidModelError(
                f"{path!r} is not a valid kan_widgets model: its checksum does not match its "
                "content (the file is corrupt or was changed after it was saved)")
        return payload
    if data.startswith(b"PK"):  # a file saved before checksums: a bare zip archive
        return data
    raise InvalidModelError(f"{path!r} is not a valid kan_widgets model file (it does not "
                            "start like one: truncated, corrupt or written by something else)")


def _ends(width) -> tuple[int, int]:
    """Inputs and outputs of a width list (ints at both ends)."""
    return int(width[0]), int(width[-1])


def _fit_to_plain(fit):
    return dict(fit._asdict()) if hasattr(fit, "_asdict") else dict(fit)


class IOMixin:
    """Persistence verbs for ``KAN``."""

    def copy(self):
        """Return a *new*, independent KAN equal to this one (parameters, grids, masks,
        symbolic edges, history and fitted attributes)."""
        new = copy.deepcopy(self)
        new._fingerprint = new._tensor_fingerprint()  # same version: the copy is equal
        return new

    def state(self) -> dict:
        """Everything that defines the model, as plain Python and tensors (what ``save``
        writes)."""
        return {
            "format": FORMAT,
            # pykan's notation: ints, [n_sum, n_mult] for layers with multiplication nodes
            # (their arities in config["mult_arity"]); files of sum-only models are unchanged
            "width": [list(w) if isinstance(w, list) else w for w in self.width_spec],
            "config": dict(self.config),
            "grids": [layer.G for layer in self.layers],
            # symbolic names travel in each layer's extra state (plain lists)
            "state_dict": {k: v.detach().clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v)
                           for k, v in self.state_dict().items()},
            "symbolic_fits": [[list(e), _fit_to_plain(f)]
                              for e, f in sorted(self.symbolic_fits_.items())],
            "user_functions": user_function_definitions(),
            "history": {k: list(v) for k, v in self.history_.items()},
            "X_fit": None if self.X_fit_ is None else self.X_fit_.detach().clone(),
            "variables": self.variables_,
            "output_names": self.output_names_,
        }

    @classmethod
    def from_state(cls, st: dict):
        """Build a new KAN from ``state()`` output (used by ``load``)."""
        validate_state(st)
        sd = st["state_dict"]
        model = cls(st["width"], **{**st["config"], "grid": st["grids"][0]},
                    dtype=sd["layers.0.coef"].dtype, device=sd["layers.0.coef"].device)
        return model.load_state(st)

    @atomic("load_state", registry=True)
    def load_state(self, st: dict):
        """Make this model equal to ``st`` (from ``state()``) bit for bit, in place; returns
        self. Parameters, buffers, grid sizes (also layers refined separately), symbolic
        edges, fitted attributes and the training log are taken from ``st``. A state with the
        same inputs and outputs but other hidden layers (before ``expand_width`` /
        ``expand_depth``, say: undo) gives this model that shape: its layers are rebuilt, so
        optimizers holding the old parameters must be rebuilt too. Tensors keep this model's
        device. Bumps ``version``.

        ``st`` is validated first (``InvalidModelError``, a ``ValueError``, says what is
        wrong); user functions it defines are registered, but one that is already registered
        with another definition is refused (live models may use it). Atomic: on any error the
        model and the function table are left as they were.
        """
        validate_state(st)
        mult = st["config"].get("mult_arity")
        if list(st["width"]) != list(self.width_spec) or (mult or []) != (
                self.config.get("mult_arity") or []):
            ends = (_ends(st["width"]), _ends(self.width_spec))
            if ends[0] != ends[1]:
                raise ValueError(f"state is for {ends[0][0]} inputs and {ends[0][1]} outputs "
                                 f"(width {list(st['width'])}), this model has width "
                                 f"{self.width_spec}; build a new model with "
                                 "KAN.from_state(state)")
            self._adopt_shape(st)
        restore_user_functions(st.get("user_functions", []))
        sd = dict(st["state_dict"])
        for l, names in enumerate(st.get("sym_names", [])):  # files written before extra state
            sd.setdefault(f"layers.{l}._extra_state", {"sym_names": names})
        for l in range(self.depth):  # check names before anything is written: all or nothing
            for _, _, f in sd[f"layers.{l}._extra_state"]["sym_names"]:
                get_function(f)
        with torch.no_grad():
            for l, layer in enumerate(self.layers):
                if layer.knots.shape != sd[f"layers.{l}.knots"].shape:  # another grid size
                    layer.knots = sd[f"layers.{l}.knots"].to(layer.knots.device, copy=True)
                    layer.coef.data = sd[f"layers.{l}.coef"].to(layer.coef.device, copy=True)
        self.load_state_dict(sd)  # each layer's set_extra_state rebuilds its grid state
        self.config = dict(st["config"])
        self.symbolic_fits_ = {EdgeId(*e): SymbolicFit(**f) for e, f in st["symbolic_fits"]}
        self.history_ = {k: list(v) for k, v in st["history"].items()}
        self.X_fit_ = st["X_fit"]
        if self.X_fit_ is not None:
            self.X_fit_ = self.X_fit_.to(self.device)
        self.variables_ = st["variables"]
        self.output_names_ = st["output_names"]
        return self.mark_changed()

    def _adopt_shape(self, st: dict):
        """Take the width, layers and node structure of a fresh model built from ``st``'s
        width and config (the values are loaded afterwards)."""
        fresh = type(self)(st["width"], **{**st["config"], "grid": st["grids"][0]},
                           dtype=self.dtype, device=self.device)
        self.layers = fresh.layers
        self._set_layouts([fresh.mult_layout(m) for m in range(len(fresh.width))])

    def save(self, path) -> str:
        """Write the model to one file at ``path``: a checksum, then a torch archive of plain
        data and tensors (no pickled code). Returns the path. Load it with ``KAN.load(path)``.

        The file is written to a unique temporary file beside ``path`` and moved into place,
        so a reader never sees half a file, concurrent saves do not mix, and a failed save
        leaves nothing behind (an existing file at ``path`` is kept).
        """
        path = os.fspath(path)
        buf = io.BytesIO()
        torch.save(self.state(), buf)
        payload = buf.getvalue()
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp",
                                   dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n")
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return path

    @classmethod
    def load(cls, path, map_location=None):
        """Read a model written by ``save``. Returns a new KAN, equal bit for bit.

        The model lands on the device its tensors load to: where it was saved, or
        ``map_location`` ("cpu", "cuda"); one saved on a GPU loads on the CPU of a machine
        without one.

        Safe on untrusted files: no Python code in the file runs (tensors and plain data
        only, read with ``weights_only``; formula text read by the safe formula reader), the
        checksum must match, and every field is validated before a model is built. Anything
        else raises ``InvalidModelError`` (a ``ValueError``) saying the file is not a valid
        model. A user function already registered here with another definition is refused.
        """
        path = os.fspath(path)
        if map_location is None and not torch.cuda.is_available():
            map_location = "cpu"
        if not os.path.exists(path):
            raise FileNotFoundError(f"no saved model at {path!r}; check the path (KAN.save wrote"
                                    " one file there?)")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise InvalidModelError(f"{path!r} is not a valid kan_widgets model file: cannot "
                                    f"read it ({e})") from None
        payload = _payload(path, data)
        try:
            st = torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
        except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile,
                ValueError, OSError, TypeError, AttributeError, KeyError, IndexError,
                UnicodeDecodeError, OverflowError, MemoryError) as e:
            raise InvalidModelError(f"{path!r} is not a valid kan_widgets model file "
                                    f"(corrupt or written by something else): "
                                    f"{str(e)[:200]}") from None
        try:
            return cls.from_state(st)
        except InvalidModelError as e:
            raise InvalidModelError(f"{path!r}: {e}") from None
