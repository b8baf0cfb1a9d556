"""The Explorer's Discover panel in JupyterLab, driven like a user: open the folded panel, run
Discover with a tiny budget, wait for the front's points, hover one for its formula, click it;
the formula panel shows the loaded model and the kernel says the Explorer's model changed;
Undo goes back. Screenshots go to ``test-artifacts/browser/discover-*.png``."""

from __future__ import annotations

import re
import time

import nbformat

from .lab import (
    open_notebook,
    plotly_click_trace,
    run_all,
    screenshot,
    wait_for_plotly,
    wait_for_selector,
    wait_for_text,
)
from .test_explorer_browser import _button, _wait_points

CELL = """\
import numpy as np
import kan_widgets as kw
from kan_widgets import KAN, Explorer

rng = np.random.default_rng(0)
X = rng.uniform(0.5, 2.0, (300, 2))
data = kw.datasets.from_arrays(X, X[:, 0] * X[:, 1], seed=0, variables=["x", "y"],
                               outputs=["z"])
model = KAN([2, 3, 1], seed=0)
explorer = Explorer(model, data)
explorer
"""

# JS: run `code` in the notebook's kernel and return what it printed (a kernel readback)
_KERNEL_JS = """async (code) => {
    const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const f = k.requestExecute({code: code, silent: false, store_history: false});
    let out = '';
    f.onIOPub = (msg) => {
        const t = msg.header.msg_type;
        if (t === 'stream') out += msg.content.text;
        if (t === 'error') out += 'ERROR ' + msg.content.ename + ': ' + msg.content.evalue;
    };
    await f.done;
    return out.trim();
}"""


def _kernel(page, code):
    return page.evaluate(_KERNEL_JS, code)


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    return nb


def test_discover_panel_in_lab(lab, page, timings):
    lab.write_notebook("discover.ipynb", _notebook())
    open_notebook(page, lab, "discover.ipynb")
    run_all(page)
    wait_for_plotly(page, ".kw-network")
    assert _kernel(page, "print(explorer.model is model, explorer.model.width)") == \
        "True [2, 3, 1]"
    formula_before = page.locator(".kw-formula").first.inner_text()

    # the panel is folded below the layout: open it
    assert not page.locator(".kw-discover").first.is_visible()
    page.locator(".kw-discover-box").get_by_text("Discover", exact=True).first.click()
    wait_for_selector(page, ".kw-discover .kw-discover-budget input")
    budget = page.locator(".kw-discover-budget input").first
    budget.fill("abc")
    wait_for_text(page, ".kw-discover-budget", "time budget", exact=False)
    assert _button(page, "kw-discover", "Discover").is_disabled()
    budget.fill("6")
    wait_for_text(page, ".kw-discover-budget .kw-field-error", "")
    screenshot(page, "discover-0-open")

    t0 = time.monotonic()
    _button(page, "kw-discover", "Discover").click()
    # while it runs: Train is disabled with the reason in its tooltip
    wait_for_text(page, ".kw-discover-status", re.compile(r"^running"), timeout=30)
    train = _button(page, "kw-train-panel", "Train")
    if page.locator(".kw-discover-status").first.inner_text().startswith("running"):
        assert "Discover is running" in (train.get_attribute("title") or "")
    wait_for_text(page, ".kw-discover-status", re.compile(r"^done"), timeout=120)
    timings["discover_6s_budget_s"] = round(time.monotonic() - t0, 2)
    n = _wait_points(page, ".kw-discover", "front", lambda n: n >= 1)
    screenshot(page, "discover-1-front")

    # hover shows the formula; a click loads that candidate
    graph = wait_for_plotly(page, ".kw-discover")
    res = plotly_click_trace(page, graph, "front", point=n - 1)  # the most accurate one
    assert res["hovered"], "plotly showed no hover on the front's point"
    wait_for_text(page, ".kw-message", "loaded candidate:", exact=False, timeout=60)
    message = page.locator(".kw-message").first.inner_text()
    formula = message.split("loaded candidate:", 1)[1].split("(loss")[0].strip()
    wait_for_text(page, ".kw-history", f"loaded candidate: {formula}", exact=False)
    # the loaded model's own (scaled) names, x_s and y_s, as MathJax draws them
    wait_for_text(page, ".kw-formula", re.compile(r"x\s*s"), exact=False)
    assert page.locator(".kw-formula").first.inner_text() != formula_before
    out = _kernel(page, "print(explorer.model is model, explorer.model.width, "
                        "explorer.session.undo_history.done[-1].label)")
    same, rest = out.split(" ", 1)
    assert same == "False" and rest.endswith(f"loaded candidate: {formula}"), out
    assert not rest.startswith("[2, 3, 1]")
    screenshot(page, "discover-2-loaded")

    # Undo: back to the model the notebook named
    _button(page, "kw-history", "Undo").click()
    wait_for_text(page, ".kw-message", "undid: loaded candidate", exact=False)
    assert _kernel(page, "print(explorer.model is model, explorer.model.width)") == \
        "True [2, 3, 1]"
    wait_for_plotly(page, ".kw-network")
    screenshot(page, "discover-3-undone")
