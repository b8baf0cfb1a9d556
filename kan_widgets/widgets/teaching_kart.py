"""``KARTDemo``: the Kolmogorov-Arnold representation theorem for functions of two variables.

``f(x, y) = sum_q Phi_q(phi_q1(x) + phi_q2(y))`` is the shape of a ``KAN([2, q, 1])``. The
demo trains one live, draws what it found, shows a known exact decomposition where there is
one, and trains a plain MLP with the same parameter count and the same budget beside it. The
state and the numbers are a ``KARTState`` (``kan_widgets.explore.teaching_kart``); the view
(``_teaching_kart_view.KARTView``) is built on first display.

Below it, the compile panel: type a formula and see the KAN that computes it exactly, every
edge's function drawn on the network (``compile``; its state is a ``CompileState``,
``kan_widgets.explore.teaching_compile``, its view ``_teaching_compile_view.CompileView``).
"""

from __future__ import annotations

from .. import datasets
from ..explore.teaching_compile import CompileState
from ..explore.teaching_kart import PRESETS, KARTState, kan_param_count, mlp_like
from ._teaching_common import TeachingDemo, forward

__all__ = ["KARTDemo", "PRESETS", "mlp_like", "kan_param_count"]


@forward(KARTState, "function", "hidden", "steps", "grid", "k", "seed", "data", "preset",
         "model_", "mlp_", "kan_rmse_", "mlp_rmse_", "kan_seconds_", "mlp_seconds_", "width",
         "kan_params", "mlp_params", "exact_error", "inner_functions", "outer_functions",
         "edge_importance")
class KARTDemo(TeachingDemo):
    """Train a small KAN on ``f(x, y)``; see its inner and outer functions; compare an MLP.

    Parameters
    ----------
    function : a formula in ``x`` and ``y``; the keys of ``PRESETS`` have known decompositions
    hidden, grid, k, steps : hidden nodes q (1..5), the KAN's grid and order, LBFGS steps
    n_train, n_test, seed : the data

    All as in ``kan_widgets.explore.teaching_kart.KARTState``, which holds the numbers.

    Attributes
    ----------
    state : the ``KARTState``; its results are readable here too: ``model_`` and ``mlp_``
        (the trained networks), ``kan_rmse_``, ``mlp_rmse_`` (test RMSE), ``kan_seconds_``,
        ``mlp_seconds_``, ``data``, ``width``, ``kan_params``, ``mlp_params``
    view : the ``KARTView`` (built on first display), with ``widget`` and ``figure``

    compiler : the ``CompileState`` of the compile panel (built on first use): ``model_``,
        ``edges_`` (each edge's function and its values), ``error``
    compile_view : the panel's view (built with ``view``)

    The controls' twins: ``set(function=, hidden=, steps=)`` and ``train()`` (the Train
    button, which also shows progress and redraws the functions as they learn);
    ``compile(text)`` (the formula field and its Compile button) and ``show_edges(n)`` (the
    "edges shown" slider).
    """

    _css_class = "kw-kart"
    MAX_HIDDEN = KARTState.MAX_HIDDEN

    def __init__(self, function="x*y", hidden=5, grid=5, k=3, steps=20, n_train=500, n_test=500,
                 seed=0):
        super().__init__(KARTState(function, hidden=hidden, grid=grid, k=k, steps=steps,
                                   n_train=n_train, n_test=n_test, seed=seed,
                                   sampler=datasets.from_function))
        self._compiler = None

    @property
    def compiler(self) -> CompileState:
        """The compile panel's state (built on first use: compiling imports sympy)."""
        if self._compiler is None:
            self._compiler = CompileState()
        return self._compiler

    def compile(self, text):
        """Show the network that computes ``text`` (the formula field). A formula that cannot
        be compiled leaves the last network and shows the reason (``compiler.error``).
        Returns self."""
        self.compiler.compile(text)
        return self

    def show_edges(self, n):
        """Reveal the compiled network's first ``n`` edges (the "edges shown" slider).
        Returns self."""
        self.compiler.show(n)
        return self

    def _make_view(self):
        import ipywidgets as W

        from ._teaching_compile_view import CompileView
        from ._teaching_kart_view import KARTView  # plotly: paid on first display only

        view = KARTView(self.state)
        view.compile_view = CompileView(self.compiler)
        view.widget.children = (*view.widget.children, W.HTML("<hr>"),
                                view.compile_view.widget)
        return view

    @property
    def compile_view(self):
        """The compile panel's view (builds the demo's view on first access)."""
        return self.view.compile_view

    def set(self, function=None, hidden=None, steps=None):
        """Change the function, hidden nodes or steps (None = keep); forgets the trained
        models. Returns self."""
        self.state.set(function=function, hidden=hidden, steps=steps)
        return self

    def train(self, callback=None):
        """Train the KAN, then the MLP with the same steps, optimizer and data. Returns self.

        ``callback(which, step, model)`` is called after each step (``which`` is "KAN" or
        "MLP"; ``model`` the network being trained).
        """
        self.state.train(callback)
        return self
