"""``copy``, ``save`` and ``load``: one file, an exact round trip, nothing written unless asked."""

from __future__ import annotations

import copy
import os
import pickle
import zipfile

import torch

from .edges import EdgeId

__all__ = ["IOMixin", "FORMAT"]

FORMAT = "kan_widgets.KAN/1"


def _fit_to_plain(fit):
    return dict(fit._asdict()) if hasattr(fit, "_asdict") else dict(fit)


class IOMixin:
    """Persistence verbs for ``KAN``."""

    def copy(self):
        """Return a *new*, independent KAN equal to this one (parameters, grids, masks,
        symbolic edges, history and fitted attributes)."""
        return copy.deepcopy(self)

    def state(self) -> dict:
        """Everything that defines the model, as plain Python and tensors (what ``save``
        writes)."""
        from .functions import user_function_definitions

        return {
            "format": FORMAT,
            "width": list(self.width),
            "config": dict(self.config),
            "grids": [layer.G for layer in self.layers],
            "state_dict": {k: v.detach().clone() for k, v in self.state_dict().items()},
            "sym_names": [[[i, j, f] for (i, j), f in sorted(layer.sym_names.items())]
                          for layer in self.layers],
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
        """Build a KAN from ``state()`` output (used by ``load``)."""
        from .functions import restore_user_functions
        from .symbolic_edges import SymbolicFit

        if not isinstance(st, dict) or st.get("format") != FORMAT:
            raise ValueError(f"not a kan_widgets model state (expected format {FORMAT!r})")
        restore_user_functions(st.get("user_functions", []))
        cfg = dict(st["config"])
        sd = st["state_dict"]
        dtype = sd["layers.0.coef"].dtype
        model = cls(st["width"], **{**cfg, "grid": st["grids"][0]}, dtype=dtype)
        for l, layer in enumerate(model.layers):
            if layer.G != st["grids"][l]:  # layers refined separately by hand
                layer.knots = sd[f"layers.{l}.knots"].clone()
                layer.coef.data = sd[f"layers.{l}.coef"].clone()
                layer.grid_changed()
        model.load_state_dict(sd)
        for layer, names in zip(model.layers, st["sym_names"]):
            layer.sym_names = {(int(i), int(j)): f for i, j, f in names}
            layer._groups = None
            layer.grid_changed()
        model.symbolic_fits_ = {EdgeId(*e): SymbolicFit(**f) for e, f in st["symbolic_fits"]}
        model.history_ = {k: list(v) for k, v in st["history"].items()}
        model.X_fit_ = st["X_fit"]
        model.variables_ = st["variables"]
        model.output_names_ = st["output_names"]
        return model

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
        """Read a model written by ``save``. Returns a new KAN, equal bit for bit."""
        path = os.fspath(path)
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
