"""``BSplineExplorer``: B-splines from scratch, the way a KAN edge uses them.

Four panels: the ``G + k`` basis functions of order ``k`` with their supports and their sum
(partition of unity); the Cox-de Boor recursion at one level ``p`` (``0..k``); a curve
``sum_i c_i B_i(x)`` with its control polygon; the samples and where the grid puts its points.
The state and the numbers are a ``BSplineState`` (``kan_widgets.explore.teaching_bspline``);
the view (``_teaching_bspline_view.BSplineView``) is built on first display.
"""

from __future__ import annotations

from ..explore.teaching_bspline import (
    N_PER,
    ORDER_NAMES,
    BSplineState,
    cox_de_boor_levels,
    greville,
)
from ._teaching_common import TeachingDemo, forward

__all__ = ["BSplineExplorer", "cox_de_boor_levels", "greville", "N_PER", "ORDER_NAMES"]


@forward(BSplineState, "k", "G", "grid_range", "grid_eps", "level", "selected", "knots", "coef",
         "edge", "edge_values", "samples", "n_basis", "grid", "x", "basis_values",
         "level_values", "partition_sum", "curve_values")
class BSplineExplorer(TeachingDemo):
    """Explore B-spline bases, the Cox-de Boor recursion and spline curves.

    Parameters
    ----------
    model, edge : optional; open on this edge of a trained KAN (its knots, coefficients and
        the inputs that reached it in the last ``fit``)
    k, G, grid_range, grid_eps, samples, seed : the starting grid when there is no model

    All as in ``kan_widgets.explore.teaching_bspline.BSplineState``, which holds the numbers.

    Attributes
    ----------
    state : the ``BSplineState`` (its values are readable here too: ``k``, ``G``,
        ``grid_range``, ``grid_eps``, ``level``, ``selected``, ``knots``, ``coef``, ``grid``,
        ``x``, ``samples``, ``n_basis``, ``edge``, ``edge_values``)
    view : the ``BSplineView`` (built on first display), with ``widget`` and ``figure``

    Every slider and button has a twin here: ``set(k=, G=, grid_range=, grid_eps=, level=)``,
    ``select(i)`` and ``set_coef(i, value)`` (coefficient sliders), ``ones()``,
    ``randomize()``, ``reset()``.
    """

    _css_class = "kw-bspline"
    K_MAX, G_MAX = BSplineState.K_MAX, BSplineState.G_MAX

    def __init__(self, model=None, edge=None, *, k=3, G=5, grid_range=(-1.0, 1.0), grid_eps=1.0,
                 samples=None, seed=0):
        super().__init__(BSplineState(model, edge, k=k, G=G, grid_range=grid_range,
                                      grid_eps=grid_eps, samples=samples, seed=seed))

    def _make_view(self):
        from ._teaching_bspline_view import BSplineView  # plotly: paid on first display only

        return BSplineView(self.state)

    def set(self, k=None, G=None, grid_range=None, grid_eps=None, level=None):
        """Change any of the slider values (None = keep); returns self.

        A new ``k``, ``G`` or ``grid_eps`` refits the coefficients by least squares so the
        curve keeps its shape (what ``KAN.refine`` does); a new ``grid_range`` keeps them.
        """
        self.state.set(k=k, G=G, grid_range=grid_range, grid_eps=grid_eps, level=level)
        return self

    def set_coef(self, i: int, value: float):
        """Set one coefficient ``c_i`` (and select it); returns self."""
        self.state.set_coef(i, value)
        return self

    def set_coefs(self, values):
        """Set all ``G + k`` coefficients at once; returns self."""
        self.state.set_coefs(values)
        return self

    def select(self, i: int):
        """Highlight basis function / control value ``i`` (a click on it); returns self."""
        self.state.select(i)
        return self

    def ones(self):
        """All coefficients 1 (button "all c_i = 1"); returns self."""
        self.state.ones()
        return self

    def randomize(self, seed=None):
        """Random coefficients in [-1, 1] (button "random c"); returns self."""
        self.state.randomize(seed)
        return self

    def reset(self):
        """Back to the starting grid and coefficients (button "reset"); returns self."""
        self.state.reset()
        return self
