"""ipywidgets + plotly front end. Names resolve lazily so importing one widget does not pay
for the others (plotly's FigureWidget costs seconds on first import)."""

from importlib import import_module

_LAZY = {
    "Explorer": "kan_widgets.widgets.explorer",
    "BSplineExplorer": "kan_widgets.widgets.teaching_bspline",
    "GridExtensionDemo": "kan_widgets.widgets.teaching_grid",
    "KARTDemo": "kan_widgets.widgets.teaching_kart",
    "ContinualLearningDemo": "kan_widgets.widgets.teaching_continual",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kan_widgets.widgets' has no attribute {name!r}")
