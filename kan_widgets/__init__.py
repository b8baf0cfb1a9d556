"""kan_widgets: Kolmogorov-Arnold Networks you can see, click, prune and turn into formulas.

The backend (:mod:`kan_widgets.core`) is torch only; the widgets are imported lazily on first
use of a widget name, so ``import kan_widgets`` stays light in scripts.
"""

from ._version import __version__

__all__ = ["__version__"]
