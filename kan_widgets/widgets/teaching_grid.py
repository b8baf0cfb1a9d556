"""``GridExtensionDemo``: grid extension and the KAN scaling law, computed live.

A one-edge KAN is fitted on a coarse grid, then refined to finer grids and fitted again;
test RMSE against G on log-log axes follows the theoretical ``G^-(k+1)`` slope for a smooth
target. The state and the numbers are a ``GridExtensionState``
(``kan_widgets.explore.teaching_grid``); the view (``_teaching_grid_view.GridExtensionView``)
is built on first display, and runs the experiment then if it has not run yet.
"""

from __future__ import annotations

from .. import datasets
from ..explore.teaching_grid import PRESETS, GridExtensionState
from ._teaching_common import TeachingDemo, forward, html_table

__all__ = ["GridExtensionDemo", "PRESETS", "results_table"]


def results_table(state) -> str:
    """The results of a ``GridExtensionState`` as an HTML table."""
    rows = [(r["G"], f"{r['kan_test_rmse']:.2e}", f"{r['spline_test_rmse']:.2e}", r["n_params"],
             f"{r['seconds']:.2f}") for r in state.results_]
    return html_table(rows, ["G", "KAN test RMSE", "best spline RMSE", "coefficients", "s"],
                      "kw-grid-table")


@forward(GridExtensionState, "target", "k", "grids", "steps", "shown_G", "results_", "curves_",
         "knots_", "model_", "x_range", "x", "target_values", "theory_slope", "slope")
class GridExtensionDemo(TeachingDemo):
    """Coarse fit, grid extension, and test error against G on log-log axes.

    Parameters
    ----------
    target : a formula in ``x`` (``"sin(pi*x)"``) or a function of an ``(N, 1)`` tensor
    k, grids, steps : spline order; increasing grid sizes (coarse first); LBFGS steps per grid
    x_range, n_train, n_test, seed : the data

    All as in ``kan_widgets.explore.teaching_grid.GridExtensionState``, which holds the
    numbers.

    Attributes
    ----------
    state : the ``GridExtensionState``; its results are readable here too: ``results_`` (one
        dict per grid: ``G``, ``kan_train_rmse``, ``kan_test_rmse``, ``spline_test_rmse``,
        ``n_params``, ``seconds``), ``curves_``, ``knots_``, ``model_``, ``shown_G``
    view : the ``GridExtensionView`` (built on first display), with ``widget`` and ``figure``

    The controls' twins: ``set(target=, k=, grids=, steps=)`` then ``run()`` (a changed
    control reruns; so does the Run button), ``show(G)`` (the "show refined G" slider).
    """

    _css_class = "kw-grid-extension"

    def __init__(self, target="sin(pi*x)", k=3, grids=(3, 5, 10, 20, 50), steps=10,
                 x_range=(-1.0, 1.0), n_train=1000, n_test=1000, seed=0):
        super().__init__(GridExtensionState(target, k=k, grids=grids, steps=steps,
                                            x_range=x_range, n_train=n_train, n_test=n_test,
                                            seed=seed, sampler=datasets.from_function))

    def _make_view(self):
        from ._teaching_grid_view import GridExtensionView  # plotly: paid on first display only

        return GridExtensionView(self.state)

    def set(self, target=None, k=None, grids=None, steps=None):
        """Change the experiment (None = keep); clears the results. Returns self."""
        self.state.set(target=target, k=k, grids=grids, steps=steps)
        return self

    def run(self, callback=None):
        """Fit on the coarse grid, then refine to each finer grid and fit again. Returns self.

        ``callback(row)`` is called after each grid with the new ``results_`` row.
        """
        self.state.run(callback)
        return self

    def show(self, G: int):
        """Draw the fit on grid ``G`` against the coarse one; returns self."""
        self.state.show(G)
        return self

    def table(self) -> str:
        """The results as an HTML table."""
        return results_table(self.state)
