"""The KAN backend: torch and numpy only (no sympy, no widgets), usable headless on a GPU."""

from .edges import EdgeId
from .network import KAN
from .symbolic_edges import SymbolicFit
from .training import FitDivergedWarning, FitWorsenedWarning
from .transaction import NonFiniteError

__all__ = ["KAN", "EdgeId", "SymbolicFit", "FitDivergedWarning", "FitWorsenedWarning",
           "NonFiniteError"]
