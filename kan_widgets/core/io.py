"""``copy``, ``save`` and ``load``: one file, an exact round trip, nothing written unless asked."""

from __future__ import annotations

import copy
import os
import pickle
import zipfile

import torch

from .edges import EdgeId
from .functions import get_function, restore_user_functions, user_function_definitions
from .symbolic_edges import SymbolicFit
from .transaction import atomic

__all__ = ["IOMixin", "FORMAT"]

FORMAT = "kan_widgets.KAN/1"


def _check_format(st):
    if not isinstance(st, dict) or st.get("format") != FORMAT:
        raise ValueError(f"not a kan_widgets model state (expected format {FORMAT!r})")


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
            "width": list(self.width),
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
        _check_format(st)
        sd = st["state_dict"]
        model = cls(st["width"], **{**st["config"], "grid": st["grids"][0]},
                    dtype=sd["layers.0.coef"].dtype, device=sd["layers.0.coef"].device)
        return model.load_state(st)

    @atomic("load_state", registry=True)
    def load_state(self, st: dict):
        """Make this model equal to ``st`` (from ``state()``) bit for bit, in place; returns
        self. Parameters, buffers, grid sizes (also layers refined separately), symbolic
        edges, fitted attributes and the training log are taken from ``st``; the width must
        match. Tensors keep this model's device. Bumps ``version``.
        """
        _check_format(st)
        if list(st["width"]) != list(self.width):
            raise ValueError(f"state is for width {list(st['width'])}, this model has width "
                             f"{self.width}; build a new model with KAN.from_state(state)")
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

    def save(self, path) -> str:
        """Write the model to one file at ``path`` (a torch archive of plain data and tensors).

        Returns the path. Load it with ``KAN.load(path)``.
        """
        path = os.fspath(path)
        tmp = path + ".tmp"
        torch.save(self.state(), tmp)
        os.replace(tmp, path)  # never leave a half-written file behind
        return path

    @classmethod
    def load(cls, path, map_location=None):
        """Read a model written by ``save``. Returns a new KAN, equal bit for bit.

        The model lands on the device its tensors load to: where it was saved, or
        ``map_location`` ("cpu", "cuda"); one saved on a GPU loads on the CPU of a machine
        without one.
        """
        path = os.fspath(path)
        if map_location is None and not torch.cuda.is_available():
            map_location = "cpu"
        if not os.path.exists(path):
            raise FileNotFoundError(f"no saved model at {path!r}; check the path (KAN.save wrote"
                                    " one file there?)")
        try:
            st = torch.load(path, map_location=map_location, weights_only=True)
        except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile,
                ValueError) as e:
            raise ValueError(f"{path!r} is not a readable kan_widgets model file "
                             f"(corrupt or written by something else): {e}") from None
        if not isinstance(st, dict) or st.get("format") != FORMAT:
            raise ValueError(f"{path!r} is a torch file but not a kan_widgets model "
                             f"(expected format {FORMAT!r})")
        return cls.from_state(st)
