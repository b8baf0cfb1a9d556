"""``ContinualLearningDemo``: a KAN keeps what it learned, an MLP forgets, phase by phase.

The target's peaks are shown one region at a time; after each phase the curves of both models
are drawn over the whole line, with the regions seen so far shaded. The state and the numbers
are a ``ContinualLearningState`` (``kan_widgets.explore.teaching_continual``); the view
(``_teaching_continual_view.ContinualLearningView``) is built on first display.
"""

from __future__ import annotations

from ..explore.teaching_continual import ContinualLearningState
from ._teaching_common import TeachingDemo, forward, html_table

__all__ = ["ContinualLearningDemo", "results_table"]


def results_table(state) -> str:
    """The phases trained so far as an HTML table."""
    def fmt(v):
        return "-" if v != v else f"{v:.2e}"

    rows = [(r["phase"], f"[{r['region'][0]:.1f}, {r['region'][1]:.1f}]",
             fmt(r["kan_seen_rmse"]), fmt(r["mlp_seen_rmse"]), fmt(r["kan_old_rmse"]),
             fmt(r["mlp_old_rmse"])) for r in state.results_]
    return html_table(rows, ["phase", "region", "KAN RMSE, all seen", "MLP RMSE, all seen",
                             "KAN RMSE, earlier regions", "MLP RMSE, earlier regions"],
                      "kw-continual-table")


@forward(ContinualLearningState, "phase", "shown", "results_", "curves_", "kan_", "mlp_",
         "n_peaks", "x", "region", "target")
class ContinualLearningDemo(TeachingDemo):
    """Continual learning: a KAN and an MLP see the regions of a peaked target one by one.

    Parameters
    ----------
    n_peaks, peak_width, grid, mlp_width, steps, n_per_phase, seed
        As in ``kan_widgets.explore.teaching_continual.ContinualLearningState``.

    The buttons' twins: ``next_phase()`` ("Next phase"), ``run()`` ("All phases"),
    ``reset()`` ("Reset"), ``show(phase)`` (the "show after phase" slider).
    """

    _css_class = "kw-continual"

    def __init__(self, n_peaks=5, peak_width=0.05, grid=200, mlp_width=32, steps=20,
                 n_per_phase=200, seed=0):
        super().__init__(ContinualLearningState(n_peaks, peak_width, grid, mlp_width, steps,
                                                n_per_phase, seed))

    def _make_view(self):
        from ._teaching_continual_view import ContinualLearningView  # plotly: first display

        return ContinualLearningView(self.state)

    def next_phase(self):
        """Train both models on the next region only; returns self."""
        self.state.next_phase()
        return self

    def run(self):
        """Train every remaining phase; returns self."""
        self.state.run()
        return self

    def reset(self):
        """Start again with untrained models; returns self."""
        self.state.reset()
        return self

    def show(self, phase: int):
        """Draw the curves as they were after ``phase``; returns self."""
        self.state.show(phase)
        return self

    def table(self) -> str:
        """The phases trained so far as an HTML table."""
        return results_table(self.state)
