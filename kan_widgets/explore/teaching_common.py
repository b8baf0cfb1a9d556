"""What the teaching demos' state classes share: the ``TeachingState`` base and formula reading.

A teaching demo follows the Explorer's pattern: its state and numbers live in a widget-free
``HasTraits`` object here (``BSplineState``, ``KARTState``, ``GridExtensionState``), changed
only through its public commands; its view (``kan_widgets.widgets``) observes ``revision``
and redraws. The values the sliders show are read-only traits: a command validates its
arguments, sets them together, then bumps ``revision`` once.
"""

from __future__ import annotations

import threading

import numpy as np
from traitlets import HasTraits, Int

__all__ = ["TeachingState", "parse_formula", "normalize_expr"]


class TeachingState(HasTraits):
    """Base of the teaching demos' states.

    Traits (observe them)
    ---------------------
    revision : bumped once after every command that changed the state

    Attributes
    ----------
    lock : ``threading.RLock`` held by every command; in JupyterLab 4.6 widget callbacks may
        run on a kernel subshell thread, concurrently with a running cell.
    """

    revision = Int(0)

    def __init__(self):
        super().__init__()
        self.lock = threading.RLock()

    def _update(self, **values):
        """Set read-only traits together (observers of each see the final values)."""
        with self.hold_trait_notifications():
            for name, value in values.items():
                self.set_trait(name, value)

    def _changed(self):
        self.revision += 1

    def describe(self) -> str:  # pragma: no cover - every subclass overrides it
        """The state in one line, as the constructor's keyword arguments."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


def normalize_expr(text: str) -> str:
    """A formula as typed, without spaces and with ``^`` read as a power (for preset lookup)."""
    return "".join(str(text).split()).replace("^", "**")


def parse_formula(text: str, variables=("x", "y")):
    """Read a typed formula such as ``"exp(sin(pi*x) + y^2)"`` (``^`` means power).

    The text goes through the project's one formula reader
    (``kan_widgets.symbolic.parse``): nothing typed is evaluated as Python.

    Parameters
    ----------
    text : str
    variables : sequence of str
        Allowed variable names, in column order.

    Returns
    -------
    f_torch : callable
        ``(N, len(variables))`` tensor -> ``(N,)`` tensor (float64 math via numpy).
    f_numpy : callable
        ``f_numpy(*columns)`` on numpy arrays, broadcast to the columns' shape.
    expr : sympy expression

    Raises
    ------
    ValueError : the text is not a formula in ``variables`` (the message names the part).
    """
    import sympy  # only the demos that read typed formulas pay for it
    import torch

    from ..symbolic.parse import parse_formula as read

    syms = [sympy.Symbol(v, real=True) for v in variables]
    expr = read(str(text), syms, caret_power=True)
    fn = sympy.lambdify(syms, expr, modules="numpy")

    def f_numpy(*cols):
        cols = [np.asarray(c, dtype=float) for c in cols]
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*cols), dtype=float)
        return np.broadcast_to(out, np.broadcast(*cols).shape).copy()

    def f_torch(X):
        cols = [X[:, i].detach().cpu().double().numpy() for i in range(X.shape[1])]
        return torch.as_tensor(f_numpy(*cols), dtype=X.dtype)

    return f_torch, f_numpy, expr
