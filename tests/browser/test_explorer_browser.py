"""The Explorer in a real browser: JupyterLab and Voila, driven like a user.

Lab: click an edge's cell on the network plot and see the edge panel show it; pick a
suggestion and Fix; see the formula panel change; Undo and see it restored; Train and see the
loss curve grow; Prune an edge and see it drawn pruned. Voila: the same core flow plus Stop.
Screenshots of each end state go to ``test-artifacts/browser/explorer-*.png``; click-to-panel
latencies to ``timings.jsonl``.
"""

from __future__ import annotations

import re
import time

import nbformat

from .lab import (
    ARTIFACTS_DIR,
    open_notebook,
    open_voila,
    plotly_click_trace,
    run_all,
    screenshot,
    wait_for_plotly,
    wait_for_text,
)

CELL = """\
import torch
import kan_widgets as kw
from kan_widgets import KAN, Explorer

f = lambda X: torch.exp(torch.sin(torch.pi * X[:, 0]) + X[:, 1] ** 2)
data = kw.datasets.from_function(f, n_var=2, ranges=(-1, 1), n_train=1000, n_test=1000,
                                 seed=0, variables=["x", "y"])
model = KAN([2, 5, 1], grid=5, k=3, seed=0).fit(data, steps=6, progress=False)
explorer = Explorer(model, data)
explorer
"""

# JS: the number of drawn (finite) points of the trace named `name` in the plotly graphs
# under `el`, or -1 when there is no such trace. Read from _fullData: gd.data may hold binary
# arrays as {dtype, bdata} objects.
_POINTS_JS = """(el, name) => {
    let t = null;
    for (const gd of el.querySelectorAll('.js-plotly-plot')) {
        t = t || gd._fullData.find((d) => d.name === name);
    }
    if (!t) return -1;
    const x = t.x || [];
    let n = 0;
    for (let i = 0; i < x.length; i++) if (x[i] !== null && isFinite(x[i])) n += 1;
    return n;
}"""


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    return nb


def _points(page, selector, name):
    return page.locator(selector).first.evaluate(_POINTS_JS, name)


def _wait_points(page, selector, name, pred, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        n = _points(page, selector, name)
        if pred(n):
            return n
        if time.monotonic() > deadline:
            raise AssertionError(f"trace {name!r} in {selector}: {n} points after {timeout} s")
        page.wait_for_timeout(50)


def _button(page, panel, label):
    return page.locator(f".{panel} button", has_text=re.compile(rf"^\s*{label}\s*$")).first


# JS: stamp the time of the next mouse click, and the first moment the edge panel shows
# `text` in its title and has suggestions (a MutationObserver: no polling delay)
_STAMP_PANEL_JS = """(text) => {
    window.__kwClickAt = null; window.__kwPanelAt = null;
    document.addEventListener('mousedown', () => { window.__kwClickAt = Date.now(); },
                              {capture: true, once: true});
    const panel = document.querySelector('.kw-edge-panel');
    const check = () => {
        const title = panel.querySelector('.kw-edge-title');
        const opts = panel.querySelectorAll('.kw-suggestions option');
        if (!window.__kwPanelAt && title && title.textContent.includes(text) && opts.length) {
            window.__kwPanelAt = Date.now();
        }
    };
    new MutationObserver(check).observe(panel, {subtree: true, childList: true,
                                                characterData: true});
}"""


# JS: stamp the next mouse click and the first moment `selector` contains `text`
_STAMP_TEXT_JS = """([selector, text]) => {
    window.__kwClickAt = null; window.__kwTextAt = null;
    document.addEventListener('mousedown', () => { window.__kwClickAt = Date.now(); },
                              {capture: true, once: true});
    const el = document.querySelector(selector);
    new MutationObserver(() => {
        if (!window.__kwTextAt && el.textContent.includes(text)) window.__kwTextAt = Date.now();
    }).observe(el, {subtree: true, childList: true, characterData: true});
}"""


def _timed_click(page, locator, selector, text, timings, key):
    """Click ``locator``; wait until ``selector`` shows ``text``; log the in-page latency."""
    page.evaluate(_STAMP_TEXT_JS, [selector, text])
    locator.click()
    wait_for_text(page, selector, text, exact=False)
    page.wait_for_function("() => window.__kwTextAt && window.__kwClickAt", timeout=10_000)
    timings[key] = page.evaluate("() => window.__kwTextAt - window.__kwClickAt") / 1000


def _click_edge(page, graph, edge, timings, key):
    """Click an edge's cell; log the click-to-panel latency measured in the page."""
    page.evaluate(_STAMP_PANEL_JS, f"edge {edge}")
    res = plotly_click_trace(page, graph, f"edge {edge}", point="centroid")
    wait_for_text(page, ".kw-edge-title", f"edge {edge}", exact=False)
    wait_for_text(page, ".kw-suggestions select", re.compile(r"\w"), exact=False)
    page.wait_for_function("() => window.__kwPanelAt && window.__kwClickAt", timeout=10_000)
    timings[key] = page.evaluate("() => window.__kwPanelAt - window.__kwClickAt") / 1000
    assert res["hovered"], "plotly showed no hover on the edge's cell"


def _fix_and_undo(page, graph, timings, prefix):
    """Click an edge, pick the second suggestion, Fix, check the formula, Undo."""
    _click_edge(page, graph, "0,1,0", timings, prefix + "click_to_panel_s")
    wait_for_text(page, ".kw-formula", "15 edges are still a spline", exact=False)
    select = page.locator(".kw-suggestions select").first
    options = select.locator("option")
    assert options.count() >= 2
    name = options.nth(1).get_attribute("value") or ""
    label = options.nth(1).inner_text().split()[0]
    select.select_option(index=1)
    wait_for_text(page, ".kw-edge-panel", f"{label}: r²", exact=False)
    # the widget alone, an edge selected and a candidate drawn over it: the README's picture
    # (docs/explorer.png is a copy of this file)
    page.locator(".kw-explorer").first.screenshot(
        path=str(ARTIFACTS_DIR / f"{prefix}explorer-widget.png"))
    _timed_click(page, _button(page, "kw-edge-panel", "Fix"), ".kw-formula",
                 "14 edges are still a spline", timings, prefix + "fix_to_formula_s")
    wait_for_text(page, ".kw-edge-title", f"symbolic: {label}", exact=False)
    wait_for_text(page, ".kw-message", f"fix 0,1,0 → {label}", exact=False)
    assert name is not None
    _timed_click(page, _button(page, "kw-history", "Undo"), ".kw-formula",
                 "15 edges are still a spline", timings, prefix + "undo_to_formula_s")
    wait_for_text(page, ".kw-edge-title", "· spline", exact=False)
    wait_for_text(page, ".kw-history", f"fix 0,1,0 → {label}", exact=False)  # struck through


def test_explorer_in_lab(lab, page, timings):
    lab.write_notebook("explorer.ipynb", _notebook())
    open_notebook(page, lab, "explorer.ipynb")
    t0 = time.monotonic()
    run_all(page)
    graph = wait_for_plotly(page, ".kw-network")
    wait_for_text(page, ".kw-formula", "still a spline", exact=False)
    timings["run_all_to_explorer_s"] = round(time.monotonic() - t0, 2)
    screenshot(page, "explorer-lab-0-start")

    # click -> edge panel; pick a suggestion, Fix -> formula; Undo -> restored
    _fix_and_undo(page, graph, timings, "")
    screenshot(page, "explorer-lab-1-fix-undo")

    # Train: the loss curve grows by the number of steps
    n0 = _points(page, ".kw-train-panel", "train")
    steps = page.locator(".kw-train-panel .widget-inline-hbox", has_text="steps").locator("input")
    steps.first.fill("4")
    steps.first.press("Enter")
    t0 = time.monotonic()
    _button(page, "kw-train-panel", "Train").click()
    wait_for_text(page, ".kw-train-status", re.compile(r"^done"), timeout=120)
    n1 = _wait_points(page, ".kw-train-panel", "train", lambda n: n >= n0 + 4)
    timings["train_4_steps_s"] = round(time.monotonic() - t0, 2)
    assert n1 == n0 + 4
    wait_for_text(page, ".kw-history", "train 4 steps (LBFGS)", exact=False)
    screenshot(page, "explorer-lab-2-trained")

    # Prune an edge: the network draws it in the pruned trace, the panel says pruned
    assert _points(page, ".kw-network", "pruned") == 0
    _click_edge(page, graph, "0,0,3", timings, "click_to_panel_2_s")
    t0 = time.monotonic()
    _button(page, "kw-edge-panel", "Prune").click()
    wait_for_text(page, ".kw-edge-title", "· pruned", exact=False)
    _wait_points(page, ".kw-network", "pruned", lambda n: n == 24)
    timings["prune_to_redraw_s"] = round(time.monotonic() - t0, 3)
    assert _points(page, ".kw-network", "selected") == -1  # the selection is a shape
    screenshot(page, "explorer-lab-3-pruned")


def test_explorer_in_voila(voila_server, page, timings, tmp_path):
    path = tmp_path / "explorer_voila.ipynb"
    nbformat.write(_notebook(), str(path))
    voila = voila_server(path)
    t0 = time.monotonic()
    open_voila(page, voila)
    graph = wait_for_plotly(page, ".kw-network")
    wait_for_text(page, ".kw-formula", "still a spline", exact=False)
    timings["voila_page_to_explorer_s"] = round(time.monotonic() - t0, 2)

    _fix_and_undo(page, graph, timings, "voila_")
    screenshot(page, "explorer-voila-1-fix-undo")

    # a long training stops on Stop: callbacks run on Voila's main thread, the fit does not
    steps = page.locator(".kw-train-panel .widget-inline-hbox", has_text="steps").locator("input")
    steps.first.fill("5000")
    steps.first.press("Enter")
    _button(page, "kw-train-panel", "Train").click()
    wait_for_text(page, ".kw-train-status", re.compile(r"^training: step"), timeout=60)
    t0 = time.monotonic()
    _button(page, "kw-train-panel", "Stop").click()
    wait_for_text(page, ".kw-message", re.compile(r"trained \d+/5000 steps — stopped"), timeout=60)
    timings["voila_stop_s"] = round(time.monotonic() - t0, 2)
    wait_for_text(page, ".kw-train-status", re.compile(r"^done"))
    screenshot(page, "explorer-voila-2-stopped")


CELL_200 = """\
import torch
import kan_widgets as kw
from kan_widgets import KAN, Explorer

f = lambda X: X * X.roll(1, 1) + torch.sin(X)
data = kw.datasets.from_function(f, n_var=5, n_train=1000, n_test=200, seed=1)
model = KAN([5, 10, 10, 5], seed=0).fit(data, steps=5, opt="Adam", lr=1e-2, progress=False)
explorer = Explorer(model, data)
explorer
"""

# JS: a fingerprint of every curve drawn on the network (changes when the edges are redrawn)
_CURVES_JS = """(el) => {
    const gd = el.querySelector('.kw-network-curves .js-plotly-plot');
    let s = 0, n = 0;
    for (const t of gd._fullData) {
        if (!/^(spline|symbolic) /.test(t.name)) continue;
        const y = t.y || [];
        for (let i = 0; i < y.length; i++) if (isFinite(y[i])) { s += y[i] * ((i % 7) + 1); n += 1; }
    }
    return [n, s];
}"""


_STAMP_JS = """(el, before) => {
    const gd = el.querySelector('.kw-network-curves .js-plotly-plot');
    window.__kwRedrawAt = null;
    gd.on('plotly_afterplot', () => {
        if (window.__kwRedrawAt) return;
        const f = (""" + _CURVES_JS + """)(el);
        if (f[1] !== before) window.__kwRedrawAt = Date.now();
    });
}"""


def test_redraw_latency_at_200_edges_in_lab(lab, page, timings):
    """Train one Adam step on a 200-edge network; time until the browser shows new curves."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL_200)]
    lab.write_notebook("explorer200.ipynb", nb)
    open_notebook(page, lab, "explorer200.ipynb")
    run_all(page)
    graph = wait_for_plotly(page, ".kw-network")
    n_cells = graph.evaluate("(el) => el.querySelector('.js-plotly-plot')._fullData"
                             ".filter((t) => t.name.startsWith('edge ')).length")
    assert n_cells == 200
    before = graph.evaluate(_CURVES_JS)
    assert before[0] == 200 * 24
    steps = page.locator(".kw-train-panel .widget-inline-hbox", has_text="steps").locator("input")
    steps.first.fill("1")
    steps.first.press("Enter")
    page.locator(".kw-train-panel select").first.select_option("Adam")
    page.wait_for_timeout(200)  # the lr follows the optimizer (1 -> 0.01) in the kernel
    # the browser stamps the first frame that shows new curves (no polling delay)
    graph.evaluate(_STAMP_JS, before[1])
    page.evaluate("() => { window.__kwClickAt = Date.now(); }")
    _button(page, "kw-train-panel", "Train").click()
    page.wait_for_function("() => window.__kwRedrawAt", timeout=60_000, polling=20)
    dt = page.evaluate("() => window.__kwRedrawAt - window.__kwClickAt") / 1000
    timings["train1_click_to_redraw_200_edges_s"] = round(dt, 3)
    wait_for_text(page, ".kw-train-status", re.compile(r"^done"))
    screenshot(page, "explorer-lab-200-edges")
