"""Pieces shared by the teaching widgets (B-spline explorer, grid extension, KART demo).

Each teaching widget is a plain object holding the state and the numbers; its ipywidgets
layout is built on first display (``.widget``), as in jupyter-scatter. Everything a slider
does has a method twin, so a script or a test drives the same code path as a click.
"""

from __future__ import annotations

import importlib
import threading

import numpy as np

__all__ = ["FIG_WIDTH", "LazyWidget", "color", "parse_formula", "normalize_expr", "html_table"]

# explicit figure width: inside an ipywidgets box plotly's autosize falls back to 700 px;
# 940 px fills JupyterLab's notebook column at a 1400 px wide window
FIG_WIDTH = 940

# plotly's default qualitative palette: neighbouring basis functions get distinct colours
_PALETTE = ["#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A",
            "#19D3F3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"]


def color(i: int) -> str:
    """The ``i``-th colour of a 10-colour cycle."""
    return _PALETTE[int(i) % len(_PALETTE)]


class LazyWidget:
    """Base of the teaching widgets: builds its ipywidgets tree once, on first use.

    Subclasses set ``_css_class`` and ``_view_module``, the name of their view module
    (imported on first display: the state object needs no ipywidgets or plotly). The view
    module's ``build(obj)`` returns the ipywidgets root and sets ``obj._fig``; its other
    functions (``redraw(obj)``, ``sync_controls(obj)``) are called through ``_view``.

    The ``RLock`` guards state changes: in JupyterLab 4.6 widget callbacks may run on a kernel
    subshell thread, concurrently with a running cell.
    """

    _css_class = ""
    _view_module = ""  # relative to this package, e.g. "._teaching_grid_view"

    def __init__(self):
        self._widget = None
        self._fig = None
        self._lock = threading.RLock()
        self._syncing = False  # True while state is pushed into the controls

    @property
    def widget(self):
        """The ipywidgets root (built on first access)."""
        if self._widget is None:
            with self._lock:
                if self._widget is None:
                    w = self._build()
                    w.add_class(self._css_class)
                    self._widget = w
        return self._widget

    @property
    def figure(self):
        """The plotly ``FigureWidget`` (builds the widget on first access)."""
        _ = self.widget
        return self._fig

    def _build(self):
        return importlib.import_module(self._view_module, __package__).build(self)

    def _view(self, *names):
        """Call the view functions ``names`` in order (``"sync_controls"``, ``"redraw"``),
        only once the widget exists."""
        if self._widget is not None:
            view = importlib.import_module(self._view_module, __package__)
            for n in names:
                getattr(view, n)(self)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _push(self, control, **values):
        """Set trait values on a control, in the given order (``max`` before ``value``;
        ``options`` before ``value``), without re-entering our own observers."""
        old, self._syncing = self._syncing, True
        try:
            for name, v in values.items():
                setattr(control, name, v)
        finally:
            self._syncing = old


def normalize_expr(text: str) -> str:
    """A formula as typed, without spaces and with ``^`` read as a power (for preset lookup)."""
    return "".join(str(text).split()).replace("^", "**")


def parse_formula(text: str, variables=("x", "y")):
    """Read a typed formula such as ``"exp(sin(pi*x) + y^2)"``.

    Parameters
    ----------
    text : str
        A sympy expression; ``^`` means power. Evaluated by sympy, so only type formulas you
        trust (as with any code cell).
    variables : sequence of str
        Allowed variable names, in column order.

    Returns
    -------
    f_torch : callable
        ``(N, len(variables))`` tensor -> ``(N,)`` tensor (float64 math via numpy).
    f_numpy : callable
        ``f_numpy(*columns)`` on numpy arrays, broadcast to the columns' shape.
    expr : sympy expression
    """
    import sympy
    import torch

    syms = [sympy.Symbol(v, real=True) for v in variables]
    try:
        expr = sympy.sympify(normalize_expr(text), locals={s.name: s for s in syms})
    except (sympy.SympifyError, SyntaxError, TypeError, AttributeError) as e:
        raise ValueError(f"cannot read formula {text!r}: {e}") from None
    unknown = sorted(s.name for s in expr.free_symbols if s.name not in variables)
    if unknown:
        raise ValueError(f"formula {text!r} uses {unknown}; allowed variables are {list(variables)}")
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


def html_table(rows, header=None, css_class="") -> str:
    """A small HTML table (for the metrics boxes); ``rows`` are sequences of cells."""
    head = ""
    if header:
        head = "<tr>" + "".join(f"<th style='text-align:left;padding:0 8px'>{h}</th>"
                                for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td style='padding:0 8px'>{c}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table class='{css_class}'>{head}{body}</table>"
