"""Symbolic edges, torch side: fix an edge to ``c*f(a*x+b)+d``, unfix it."""

from __future__ import annotations

from typing import NamedTuple

import torch

from .edges import EdgeId, as_edge

__all__ = ["SymbolicFit", "SymbolicMixin"]


class SymbolicFit(NamedTuple):
    """A fitted symbolic candidate ``y = c * f(a * x + b) + d`` for one edge."""

    name: str
    r2: float
    complexity: int
    a: float
    b: float
    c: float
    d: float


class SymbolicMixin:
    """Symbolic verbs for ``KAN``."""

    def fix_symbolic(self, edge, name, fit=True, X=None):
        """Replace ``edge``'s spline by ``name``. In place; returns self."""
        e = as_edge(edge, self.width)
        layer = self.layers[e.layer]
        sf = SymbolicFit(name, float("nan"), 0, 1.0, 0.0, 1.0, 0.0)
        layer.set_symbolic(e.src, e.dst, name, torch.tensor(sf[3:]))
        self.symbolic_fits_[EdgeId(*e)] = sf
        self._model_changed()
        return self

    def unfix_symbolic(self, edge):
        """Back to the spline, exactly as it was. In place; returns self."""
        e = as_edge(edge, self.width)
        self.layers[e.layer].set_symbolic(e.src, e.dst, None)
        self.symbolic_fits_.pop(EdgeId(*e), None)
        self._model_changed()
        return self
