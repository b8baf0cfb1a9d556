"""kan_widgets: Kolmogorov-Arnold Networks you can see, click, prune and turn into formulas.

The backend (:mod:`kan_widgets.core`) is torch only; sympy-based formula tools and the widgets
are imported lazily on first use of their names, so ``import kan_widgets`` stays light.
"""

from importlib import import_module

from . import datasets
from ._version import __version__
from .core import KAN, EdgeId, FitDivergedWarning, FitWorsenedWarning, NonFiniteError, SymbolicFit
from .core.functions import set_definition_compiler as _set_definition_compiler
from .core.mlp import MLP
from .core.plotting import set_plotter as _set_plotter
from .core.structure import (
    StructureTest,
    StructureTree,
    detect_separability,
    generalized_separability,
    separability,
    structure_tree,
    symmetry,
)
from .core.structure import set_tree_plotter as _set_tree_plotter
from .core.threads import get_threads, set_threads
from .datasets import Dataset

# name -> module that defines it; resolved on first attribute access (PEP 562)
_LAZY = {
    "formula": "kan_widgets.symbolic",
    "latex": "kan_widgets.symbolic",
    "to_callable": "kan_widgets.symbolic",
    "register_function": "kan_widgets.symbolic",
    "compile_formula": "kan_widgets.symbolic",
    "discover": "kan_widgets.discovery",
    "Explorer": "kan_widgets.widgets",
    "BSplineExplorer": "kan_widgets.widgets",
    "GridExtensionDemo": "kan_widgets.widgets",
    "KARTDemo": "kan_widgets.widgets",
    "ContinualLearningDemo": "kan_widgets.widgets",
}

__all__ = ["KAN", "MLP", "EdgeId", "SymbolicFit", "FitDivergedWarning", "FitWorsenedWarning",
           "NonFiniteError", "Dataset", "datasets",
           "__version__", "set_threads", "get_threads", "separability", "detect_separability",
           "generalized_separability", "symmetry", "structure_tree", "StructureTest",
           "StructureTree", *_LAZY]


def _compile_definition(src):
    """Rebuild a saved user function (``KAN.load``) with the symbolic layer, imported only
    when a model needs it; importing it replaces this stand-in with its own compiler."""
    from .symbolic.sympy_functions import torch_from_sympy_def

    return torch_from_sympy_def(src)


_set_definition_compiler(_compile_definition)


def _plot(model, **options):
    """``KAN.plot``'s plotter: imports the widgets layer's static figure on first use only
    (``import kan_widgets`` stays light)."""
    return import_module("kan_widgets.widgets.static_plot").network_figure(model, **options)


_set_plotter(_plot)


def _plot_tree(tree, **options):
    """``StructureTree.plot``'s plotter, imported on first use like ``_plot``."""
    return import_module("kan_widgets.widgets.tree_plot").tree_figure(tree, **options)


_set_tree_plotter(_plot_tree)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kan_widgets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
