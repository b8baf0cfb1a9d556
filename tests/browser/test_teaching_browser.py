"""The teaching widgets in JupyterLab and Voila, in real Chromium: move a slider like a user
(keyboard on the slider handle) and check that the plotly figure in the page changed."""

from __future__ import annotations

import time

import nbformat

from .lab import open_notebook, open_voila, run_all, screenshot, wait_for_plotly, wait_for_text

SETUP = "import torch\n"

# a trace of the figure the browser drew, by name (or name prefix)
_TRACE_JS = """([el, name]) => {
    const gd = el.querySelector('.js-plotly-plot');
    const t = gd.data.find((t) => t.name === name || (t.name || '').startsWith(name));
    return t ? {name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])} : null;
}"""


def _notebook(code: str, *more: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (SETUP + code, *more)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    return nb


def _open(lab, page, name, code, root_css):
    lab.write_notebook(name, _notebook(code))
    open_notebook(page, lab, name)
    run_all(page)
    wait_for_plotly(page, root_css)
    return page.locator(root_css).first


def _move_slider(page, css: str, key: str, times: int):
    """Focus an ipywidgets slider handle and press an arrow key, as a keyboard user does."""
    handle = page.locator(f"{css} .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.click()
    for _ in range(times):
        page.keyboard.press(key)
    # the slider syncs on release (continuous_update=False): leave it
    page.keyboard.press("Tab")


def _wait_count(page, root, pattern, expected, timeout=60):
    page.wait_for_function(
        "([el, pattern, n]) => {"
        " const gd = el.querySelector('.js-plotly-plot'); const re = new RegExp(pattern);"
        " return gd && gd.data.filter((t) => re.test(t.name || '') && t.visible !== false"
        "  && t.x && t.x.length > 0).length === n; }",
        arg=[root.element_handle(), pattern, expected], timeout=timeout * 1000, polling=100)


def test_bspline_explorer_G_slider_redraws_basis(lab, page, timings):
    root = _open(lab, page, "bspline.ipynb",
                 "from kan_widgets.widgets import BSplineExplorer\nex = BSplineExplorer()\nex",
                 ".kw-bspline")
    _wait_count(page, root, r"^B\d+$", 8)  # k = 3, G = 5: G + k basis functions
    before = page.evaluate(_TRACE_JS, [root.element_handle(), "sum"])
    t0 = time.monotonic()
    _move_slider(page, ".kw-bspline-G", "ArrowRight", 3)  # G: 5 -> 8
    _wait_count(page, root, r"^B\d+$", 11)
    timings["bspline_slider_to_redraw_s"] = round(time.monotonic() - t0, 2)
    after = page.evaluate(_TRACE_JS, [root.element_handle(), "sum"])
    assert len(after["x"]) > len(before["x"])  # more knot intervals drawn
    wait_for_text(page, ".kw-bspline-info", "G + k = 11", exact=False)
    _move_slider(page, ".kw-bspline-k", "ArrowLeft", 3)  # k: 3 -> 0, boxes
    _wait_count(page, root, r"^B\d+$", 8)
    wait_for_text(page, ".kw-bspline-info", "constant", exact=False)
    _move_slider(page, ".kw-bspline-k", "ArrowRight", 3)
    _wait_count(page, root, r"^B\d+$", 11)
    root.scroll_into_view_if_needed()
    screenshot(page, "teaching-bspline")


# JS: the number of drawn basis traces (B0, B1, ...) in the plotly graph under `el`. Read from
# _fullData: in Voila gd.data may hold the initial arrays as {dtype, bdata} objects.
_BASIS_JS = """(el) => {
    const gd = el.querySelector('.js-plotly-plot');
    return gd._fullData.filter((t) => /^B\\d+$/.test(t.name || '') && t.visible !== false
                                       && t.x && t.x.length > 0).length;
}"""


def _wait_basis(page, root, expected, timeout=60):
    deadline = time.monotonic() + timeout
    while (n := root.evaluate(_BASIS_JS)) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{n} basis traces drawn after {timeout} s; expected {expected}")
        page.wait_for_timeout(100)


def test_bspline_explorer_in_voila(voila_server, page, timings, tmp_path):
    """Voila builds each figure from the widget state after the notebook ran: the second
    explorer was built, then changed from Python, then displayed; it must show G = 12."""
    path = tmp_path / "bspline_voila.ipynb"
    nbformat.write(_notebook(
        "from kan_widgets.widgets import BSplineExplorer\nlive = BSplineExplorer()\nlive",
        "changed = BSplineExplorer()\n_ = changed.widget  # built, as by an earlier display\n"
        "changed.set(G=12)\nchanged"), str(path))
    t0 = time.monotonic()
    open_voila(page, voila_server(path))
    live = wait_for_plotly(page, page.locator(".kw-bspline").nth(0))
    changed = wait_for_plotly(page, page.locator(".kw-bspline").nth(1))
    timings["voila_page_to_bspline_s"] = round(time.monotonic() - t0, 2)
    _wait_basis(page, changed, 15, timeout=10)  # G + k = 12 + 3: the state after set(G=12)
    wait_for_text(page, ".kw-bspline-info >> nth=1", "G + k = 15", exact=False)
    _wait_basis(page, live, 8)  # k = 3, G = 5
    t0 = time.monotonic()
    _move_slider(page, ".kw-bspline-G", "ArrowRight", 3)  # the first explorer's G: 5 -> 8
    _wait_basis(page, live, 11)
    timings["voila_bspline_slider_to_redraw_s"] = round(time.monotonic() - t0, 2)
    wait_for_text(page, ".kw-bspline-info", "G + k = 11", exact=False)
    screenshot(page, "teaching-bspline-voila")


def test_grid_extension_k_slider_reruns_the_experiment(lab, page, timings):
    root = _open(lab, page, "grid.ipynb",
                 "from kan_widgets.widgets import GridExtensionDemo\n"
                 "demo = GridExtensionDemo('sin(pi*x)')\ndemo", ".kw-grid-extension")
    _wait_count(page, root, r"^KAN test RMSE", 1)
    wait_for_text(page, ".kw-grid-status", "theory -4", exact=False, timeout=60)
    before = page.evaluate(_TRACE_JS, [root.element_handle(), "KAN test RMSE"])
    assert len(before["y"]) == 5
    t0 = time.monotonic()
    _move_slider(page, ".kw-grid-k", "ArrowLeft", 1)  # k: 3 -> 2, rerun with quadratics
    wait_for_text(page, ".kw-grid-status", "theory -3", exact=False, timeout=90)
    timings["grid_slider_to_rerun_s"] = round(time.monotonic() - t0, 2)
    page.wait_for_function(
        "([el]) => { const gd = el.querySelector('.js-plotly-plot');"
        " return gd.data.some((t) => t.name === 'theory: G^-3'); }",
        arg=[root.element_handle()], timeout=30_000, polling=100)
    after = page.evaluate(_TRACE_JS, [root.element_handle(), "KAN test RMSE"])
    assert len(after["y"]) == 5 and after["y"] != before["y"]
    root.scroll_into_view_if_needed()
    screenshot(page, "teaching-grid-extension")


def test_kart_hidden_slider_and_train_button(lab, page, timings):
    root = _open(lab, page, "kart.ipynb",
                 "from kan_widgets.widgets import KARTDemo\ndemo = KARTDemo('x*y', steps=20)\ndemo",
                 ".kw-kart")
    _wait_count(page, root, r"^edge", 15)  # 5 hidden nodes: 10 inner + 5 outer edges
    _move_slider(page, ".kw-kart-hidden", "ArrowLeft", 3)  # q: 5 -> 2
    _wait_count(page, root, r"^edge", 6)
    wait_for_text(page, ".kw-kart-status", "[2, 2, 1]", exact=False)
    _move_slider(page, ".kw-kart-hidden", "ArrowRight", 3)  # back to 5 for a reliable fit
    _wait_count(page, root, r"^edge", 15)
    t0 = time.monotonic()
    page.locator(".kw-kart-train").first.click()
    wait_for_text(page, ".kw-kart-metrics", "MLP", exact=False, timeout=120)
    timings["kart_train_click_to_metrics_s"] = round(time.monotonic() - t0, 2)
    _wait_count(page, root, r"^phi x \d$", 5)  # the inner functions phi_q,x are drawn
    bars = page.evaluate(_TRACE_JS, [root.element_handle(), "rmse"])
    assert bars["x"] == ["KAN", "MLP"] and all(v is not None and v > 0 for v in bars["y"])
    root.scroll_into_view_if_needed()
    screenshot(page, "teaching-kart")
