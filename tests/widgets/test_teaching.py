"""Teaching widgets without a browser: the numbers behind every trace, and every control's twin."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kan_widgets import KAN, datasets
from kan_widgets.core.bspline import bspline_basis
from kan_widgets.core.span_tables import build_span_tables, local_values, scatter_features
from kan_widgets.widgets import BSplineExplorer, GridExtensionDemo, KARTDemo
from kan_widgets.widgets.teaching_bspline import greville
from kan_widgets.widgets.teaching_kart import PRESETS, mlp_like

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _trace(demo, name):
    """The trace ``name`` of a demo's figure."""
    return demo.figure.data[demo.view.trace_index[name]]


def _curve_part(trace):
    """x, y of a basis trace without its leading/trailing zero knots and its support bar."""
    x, y = list(trace.x), list(trace.y)
    cut = x.index(None)
    return np.array(x[1: cut - 1], float), np.array(y[1: cut - 1], float)


# ------------------------------------------------------------------ BSplineExplorer


@pytest.fixture(scope="module")
def explorer():
    ex = BSplineExplorer()
    assert WIDGET_MIME in ex._repr_mimebundle_()  # displays through the built widget
    return ex


@pytest.mark.parametrize("k", range(6))
def test_partition_of_unity_and_basis_count_in_the_drawn_traces(explorer, k):
    ex = explorer
    for G in (1, 2, 3, 7, 16, 30):
        ex.set(k=k, G=G)
        assert ex.n_basis == G + k and len(ex.knots) == G + 2 * k + 1
        shown = [i for i in range(ex.view.n_basis_max) if _trace(ex, f"B{i}").visible]
        assert shown == list(range(G + k)), (k, G)
        s = _trace(ex, "sum")
        x, y = np.array(s.x), np.array(s.y)
        inside = (x >= ex.grid[0]) & (x < ex.grid[-1])
        assert inside.sum() >= G * 10
        np.testing.assert_allclose(y[inside], 1.0, atol=1e-12, err_msg=f"k={k} G={G}")
        if k > 0:  # outside the grid range, over the extension knots, the sum falls off
            t = ex.knots  # on the first half of the first knot interval only B_0 is non-zero
            assert y[x <= (t[0] + t[1]) / 2].max() <= 0.5 + 1e-9


@pytest.mark.parametrize("k", [0, 1, 3, 5])
def test_cox_de_boor_level_traces_match_backend(explorer, k):
    ex = explorer
    ex.set(k=k, G=6, grid_eps=0.3)  # a non-uniform grid: denominators differ per knot
    t = torch.as_tensor(ex.knots)[None]
    for p in range(k + 1):
        ex.set(level=p)
        n_p = len(ex.knots) - 1 - p
        assert sum(bool(_trace(ex, f"L{i}").visible) for i in range(ex.view.n_level_max)) == n_p
        for i in range(n_p):
            x, y = _curve_part(_trace(ex, f"L{i}"))
            ref = bspline_basis(torch.as_tensor(x)[:, None], t, p)[:, 0, i].numpy()
            np.testing.assert_allclose(y, ref, atol=1e-12, err_msg=f"level {p}, B_{i}")
            assert x.min() >= ex.knots[i] and x.max() < ex.knots[i + p + 1]  # drawn on its support
    # the top level is the basis itself, also equal to the backend's fast local path
    x = torch.as_tensor(ex.x)[:, None]
    values, slots, _ = local_values(x, t, build_span_tables(t, k))
    fast = scatter_features(values, slots, t.shape[1] - k)[:, 0, 1:].numpy()
    np.testing.assert_allclose(ex.basis_values(), fast, atol=1e-9)
    ex.set(grid_eps=1.0)


def test_grid_eps_moves_grid_points_to_the_samples():
    ex = BSplineExplorer(G=10)
    ex.set(grid_eps=1.0)
    np.testing.assert_allclose(ex.grid, np.linspace(-1, 1, 11), atol=1e-6)
    ex.set(grid_eps=0.0)
    s = np.sort(ex.samples)
    # adaptive: each interval holds about the same number of samples
    counts = np.histogram(s, bins=ex.grid)[0]
    assert counts.max() <= 1.3 * counts.min() + 2
    ex.view  # noqa: B018 - the widget is built
    np.testing.assert_allclose(_trace(ex, "grid points").x, ex.grid)
    assert len(_trace(ex, "samples").x) == len(s)


def test_coefficients_shape_the_curve_and_refine_keeps_it():
    ex = BSplineExplorer(k=3, G=5)
    ex.view  # noqa: B018 - the widget is built
    ex.set_coef(2, 1.7)
    assert ex.coef[2] == 1.7 and ex.selected == 2
    assert ex.view.controls["value"].value == pytest.approx(1.7)
    curve = _trace(ex, "curve")
    np.testing.assert_allclose(curve.y, ex.basis_values(np.array(curve.x)) @ ex.coef, atol=1e-12)
    np.testing.assert_allclose(_trace(ex, "control").x, greville(ex.knots, 3))
    ex.ones()  # partition of unity: all-ones coefficients draw the constant 1 on the grid range
    x = np.array(curve.x)
    np.testing.assert_allclose(np.array(_trace(ex, "curve").y)[
        (x >= ex.grid[0]) & (x < ex.grid[-1])], 1.0, atol=1e-12)
    ex.reset()
    inner = np.linspace(-0.99, 0.99, 200)
    before = ex.curve_values(inner)
    ex.set(G=12)  # least-squares refit: the smooth curve survives grid extension
    assert len(ex.coef) == 15
    np.testing.assert_allclose(ex.curve_values(inner), before, atol=2e-3)


def test_every_slider_has_a_programmatic_twin():
    ex = BSplineExplorer()
    c = ex.view.controls
    c["G"].value = 9  # as a user moving the slider
    assert ex.G == 9 and ex.n_basis == 12
    c["k"].value = 2
    assert ex.k == 2 and ex.level == 2 and c["level"].max == 2
    c["level"].value = 1
    assert ex.level == 1
    c["range"].value = (-2.0, 3.0)
    assert ex.grid_range == (-2.0, 3.0) and ex.grid[0] == pytest.approx(-2.0)
    c["index"].value = 4
    c["value"].value = -1.25
    assert ex.selected == 4 and ex.coef[4] == -1.25
    ex.set(k=4, G=3)  # and the other way round: methods move the sliders
    assert (c["k"].value, c["G"].value, c["level"].max, c["index"].max) == (4, 3, 4, 6)
    c["G"].value = 1
    assert ex.G == 1
    with pytest.raises(ValueError):
        ex.set(k=7)
    with pytest.raises(ValueError):
        ex.set(grid_range=(1, 0))


def test_clicks_select_and_bad_values_show_in_the_info_box():
    from plotly.callbacks import Points

    ex = BSplineExplorer()
    idx = ex.view.trace_index

    def click(name, inds):
        ex.figure.data[idx[name]]._dispatch_on_click(
            Points(point_inds=inds, xs=[0] * len(inds), ys=[0] * len(inds), trace_name=name,
                   trace_index=idx[name]), None)

    click("B3", [5])  # a click anywhere on B_3 selects it
    assert ex.selected == 3 and ex.view.controls["index"].value == 3
    click("control", [6])  # a control point selects its own index
    assert ex.selected == 6 and _trace(ex, "B6").line.width == 4
    click("B2", [])  # every trace's handler fires on each click: only the hit one acts
    assert ex.selected == 6
    ex.view.controls["G"].value = 30
    ex.view.controls["value"].value = 2.5
    assert ex.coef[6] == 2.5
    ex.view.controls["range"].value = (1.0, 1.0)  # an empty range is refused, not applied
    assert "low < high" in ex.view.info.value and ex.grid_range == (-1.0, 1.0)
    assert ex.view.controls["range"].value == (-1.0, 1.0)  # the slider snaps back


def test_the_view_follows_its_state_and_the_demo_reads_it_only():
    ex = BSplineExplorer()
    ex.view  # noqa: B018 - the widget is built
    ex.state.set(G=7)  # a command on the state itself: the view observes revision
    assert ex.view.controls["G"].value == 7
    assert sum(bool(_trace(ex, f"B{i}").visible) for i in range(ex.view.n_basis_max)) == 10
    with pytest.raises(AttributeError):
        ex.k = 2  # the values are the state's: change them with set()
    assert ex.basis_values().shape == (len(ex.x), 10)
    assert repr(ex).startswith("BSplineExplorer(k=3, G=7")


def test_demos_import_no_plotly_until_displayed():
    import subprocess
    import sys

    code = ("import sys\nfrom kan_widgets.widgets import BSplineExplorer, KARTDemo\n"
            "BSplineExplorer().set(G=4)\nKARTDemo('x*y', steps=1)\n"
            "print('plotly' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def test_opens_on_a_trained_edge():
    f = lambda X: torch.sin(torch.pi * X[:, 0]) + X[:, 1] ** 2  # noqa: E731
    data = datasets.from_function(f, 2, n_train=200, n_test=50, seed=0)
    model = KAN([2, 2, 1], grid=4, k=3, seed=0).fit(data, steps=3, progress=False)
    for edge in [(0, 0, 1), (1, 1, 0)]:
        ex = BSplineExplorer(model, edge)
        layer = model.layers[edge[0]]
        np.testing.assert_allclose(ex.knots, layer.knots[edge[1]].double().numpy())
        np.testing.assert_allclose(ex.coef, layer.coef[edge[1], edge[2]].detach().double().numpy())
        assert (ex.k, ex.G) == (3, 4) and len(ex.samples) == 200
        xs, ys = ex.edge_values  # the backend's own spline values at the edge's inputs
        np.testing.assert_allclose(ex.curve_values(xs), ys, atol=1e-5)
        ex.view  # noqa: B018 - the widget is built
        assert len(_trace(ex, "trained edge").x) == 200
        assert "Edge" in ex.view.info.value


def _spy(fig):
    """Collect the update messages a FigureWidget sends to the browser."""
    sent = []
    fig.observe(lambda ch: ch["new"] and sent.append(ch["new"]),
                names=["_py2js_update", "_py2js_restyle"])
    return sent


def _check_sendable(fig, sent):
    """No "undefined" placeholder (plotly 7's front end does not translate it back: a property
    edited on some traces of a batch was reset on the others, losing colours), and the
    message serialises the way ipywidgets sends it (binary buffers must be contiguous)."""
    from ipywidgets.widgets.widget import _remove_buffers
    from plotly.basedatatypes import Undefined
    from plotly.serializers import custom_serializers

    assert sent
    for msg in sent:
        data = msg.get("style_data") or msg.get("restyle_data") or {}
        for key, values in data.items():
            assert not any(v is Undefined for v in values), key
        _, _, buffers = _remove_buffers({"m": custom_serializers["to_json"](msg, fig)})
        assert all(memoryview(b).contiguous for b in buffers)  # else the kernel refuses to send


def test_bspline_updates_are_sendable():
    ex = BSplineExplorer()
    sent = _spy(ex.figure)
    ex.set(G=6)
    ex.select(3)
    ex.set(level=1, grid_eps=0.0)
    _check_sendable(ex.figure, sent)
    assert ex.figure.data[ex.view.trace_index["L0"]].line.color == "#636EFA"
    assert ex.figure.data[ex.view.trace_index["sum"]].line.color == "black"


# ------------------------------------------------------------------ GridExtensionDemo


@pytest.fixture(scope="module")
def grid_demo():
    return GridExtensionDemo("sin(pi*x)", k=3).run()


def test_refine_lowers_the_error_and_follows_the_scaling_law(grid_demo):
    d = grid_demo
    kan = [r["kan_test_rmse"] for r in d.results_]
    assert [r["G"] for r in d.results_] == [3, 5, 10, 20, 50]
    assert all(b < a for a, b in zip(kan, kan[1:])), kan
    assert kan[-1] < kan[0] / 1000
    # the best spline on each grid: slope -(k+1) = -4 for a smooth target
    assert -4.6 < d.slope("spline") < -3.6
    # the trained KAN follows it; 10 LBFGS steps per grid lag at the finest grid
    assert d.slope("kan") < -2.7
    assert sum(r["seconds"] for r in d.results_) < 15


def test_grid_demo_traces_and_controls(grid_demo):
    d = grid_demo
    d.view  # noqa: B018 - results exist: building does not rerun
    kan = _trace(d, "KAN test RMSE")
    np.testing.assert_allclose(kan.y, [r["kan_test_rmse"] for r in d.results_])
    assert list(kan.x) == [3, 5, 10, 20, 50]
    theory = _trace(d, "theory")
    tx, ty = np.array(theory.x), np.array(theory.y)
    assert np.polyfit(np.log(tx), np.log(ty), 1)[0] == pytest.approx(-4)
    d.show(10)
    np.testing.assert_allclose(_trace(d, "refined").y, d.curves_[10])
    assert "G = 10" in _trace(d, "refined").name
    assert d.view.controls["show"].value == 10
    d.view.controls["k"].value = 2  # the slider reruns the experiment with quadratic splines
    assert d.k == 2 and len(d.results_) == 5
    assert -3.5 < d.slope("spline") < -2.6
    assert _trace(d, "theory").name == "theory: G^-3"
    assert "slope" in d.view.status.value
    with pytest.raises(ValueError):
        d.show(7)


def test_grid_demo_run_from_a_cell_redraws_the_built_widget():
    d = GridExtensionDemo("tanh(5*x)", k=2, grids=(2, 4, 8), steps=3, n_train=200, n_test=200)
    d.view  # noqa: B018 - building runs the experiment once
    assert len(d.results_) == 3
    d.set(grids=(3, 6))  # cleared: only the target is drawn
    assert len(_trace(d, "KAN test RMSE").x) == 0 and d.view.controls["grids"].value == "3, 6"
    d.run()  # from a cell, not the Run button: the figure still follows the state
    assert list(_trace(d, "KAN test RMSE").x) == [3, 6]
    assert d.view.controls["show"].options == (3, 6) and "theory -3" in d.view.status.value
    d.view.controls["grids"].value = "4, 2"  # typed wrong: the message says why, nothing runs
    assert "increasing" in d.view.status.value and d.grids == (3, 6) and len(d.results_) == 2
    assert d.view.controls["grids"].value == "3, 6"


def test_grid_demo_accepts_callables_and_rejects_bad_formulas():
    d = GridExtensionDemo(lambda X: torch.exp(X[:, 0]), k=1, grids=(2, 4, 8), steps=3)
    d.run()
    assert len(d.results_) == 3 and -2.6 < d.slope("spline") < -1.5
    with pytest.raises(ValueError):
        GridExtensionDemo("sin(pi*z")
    with pytest.raises(ValueError):
        GridExtensionDemo("x", grids=(5, 3))


# ------------------------------------------------------------------ KARTDemo


@pytest.fixture(scope="module")
def kart():
    d = KARTDemo("x*y", hidden=5)  # default budget: 20 LBFGS steps
    d.figure  # noqa: B018 - trained with the widget built, so the traces must follow
    return d.train()


def test_kart_kan_learns_x_times_y_and_the_mlp_reports_a_number(kart):
    d = kart
    assert d.kan_rmse_ < 5e-3  # std of x*y on [-1, 1]^2 is 1/3
    assert math.isfinite(d.mlp_rmse_) and d.mlp_rmse_ > 0
    assert abs(d.kan_params - d.mlp_params) <= 0.05 * d.kan_params
    assert sum(p.numel() for p in d.mlp_.parameters()) == d.mlp_params
    assert d.kan_seconds_ < 30
    d.view  # noqa: B018 - the widget is built
    np.testing.assert_allclose(_trace(d, "rmse").y, [d.kan_rmse_, d.mlp_rmse_])
    assert "MLP" in d.view.metrics.value and f"{d.kan_rmse_:.3e}" in d.view.metrics.value


def test_kart_and_grid_updates_are_sendable(kart, grid_demo):
    for name in ("phi x 0", "Phi 1", "edge 2,1", "rmse"):
        kart.figure.data[kart.view.trace_index[name]].y = [0.5, 0.5]  # so that the redraw changes something
    sent = _spy(kart.figure)
    kart.view.redraw()
    _check_sendable(kart.figure, sent)
    sent = _spy(grid_demo.figure)
    grid_demo.show(5)
    _check_sendable(grid_demo.figure, sent)


def test_kart_functions_drawn_are_the_models_edges(kart):
    d = kart
    d.view  # noqa: B018 - the widget is built
    inner, outer = d.inner_functions(), d.outer_functions()
    for q in range(5):
        tx = _trace(d, f"phi x {q}")
        np.testing.assert_allclose(tx.y, inner[(q, 0)][1], atol=1e-6)
        np.testing.assert_allclose(_trace(d, f"Phi {q}").y, outer[q][1], atol=1e-6)
    # the sum structure is the model: f(x, y) = sum_q Phi_q(phi_qx(x) + phi_qy(y))
    X = d.data.X_test[:50]
    with torch.no_grad():
        a0 = d.model_.activations(X, layer=0)  # (n, q, 2)
        z = a0.sum(-1)
        out = d.model_.layers[1].activations(z)[:, 0].sum(-1)
    np.testing.assert_allclose(out.numpy(), d.model_.predict(X)[:, 0].numpy(), atol=1e-5)


def test_kart_hidden_slider_redraws_the_diagram():
    d = KARTDemo("x/y", hidden=5, steps=5)
    d.view  # noqa: B018 - the widget is built
    d.view.controls["hidden"].value = 2
    assert d.width == [2, 2, 1] and d.model_ is None
    edges = [n for n in d.view.trace_index if n.startswith("edge")]
    assert sum(bool(_trace(d, n).visible) for n in edges) == 6
    assert len(_trace(d, "nodes").x) == 5  # x, y, two sums, f
    assert "1/y" in d.view.exact.value
    d.view.controls["function"].value = "x**3 - y"  # typed: no decomposition on file
    assert d.preset is None and d.exact_error() is None and "No exact" in d.view.exact.value


def test_kart_trained_with_fewer_hidden_nodes_draws_only_those():
    d = KARTDemo("exp(sin(pi*x)+y^2)", hidden=2, steps=2)
    d.view  # noqa: B018 - the widget is built
    d.train()
    edges = [n for n in d.view.trace_index if n.startswith("edge")]
    assert sum(bool(_trace(d, n).visible) for n in edges) == 6
    assert [bool(_trace(d, f"Phi {q}").visible) for q in range(5)] == [True] * 2 + [False] * 3
    assert d.inner_functions().keys() == {(q, p) for q in range(2) for p in range(2)}


def test_known_decompositions_are_exact():
    for name in PRESETS:
        d = KARTDemo(name, steps=5)
        assert d.exact_error() < 1e-12, name
    with pytest.raises(ValueError):
        KARTDemo("x + z")
    with pytest.raises(ValueError):
        KARTDemo("x*y", hidden=6)


def test_mlp_like_matches_parameter_counts():
    for n in (30, 60, 150, 400):
        got = sum(p.numel() for p in mlp_like(n).parameters())
        # [2, h, h, 1] has h^2 + 5h + 1 parameters: the closest h is within half a step
        h = mlp_like(n)[0].out_features
        assert abs(got - n) <= (2 * h + 6) / 2, (n, got)
