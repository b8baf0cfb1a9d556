"""A multiplication node in the Explorer, in JupyterLab (real Chromium): a notebook builds an
Explorer on ``KAN([2, [0, 1], 1])``; clicking the product's glyph shows the node (its value
over the data, what pruning it would do) without changing the model; Prune node prunes it,
as a kernel-side readback of the model confirms, and Undo brings it back.

Screenshots: ``test-artifacts/browser/mult-*.png``.
"""

from __future__ import annotations

import re

import nbformat

from .lab import (
    open_notebook,
    plotly_click_trace,
    run_all,
    screenshot,
    wait_for_plotly,
    wait_for_text,
)

CELL = """\
import torch
from kan_widgets import KAN, Explorer

g = torch.Generator().manual_seed(0)
X = torch.rand(300, 2, generator=g) * 2 - 1
data = {"train_input": X, "train_label": (X[:, 0] * X[:, 1])[:, None]}
model = KAN([2, [0, 1], 1], seed=0).fit(data, steps=10, progress=False)
explorer = Explorer(model, data)
explorer
"""

# runs `code` in the notebook's kernel (as a cell would, without adding one) and returns what
# it printed: the model is read where it lives, not from what the page shows
_KERNEL_JS = """async (code) => {
    const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const fut = k.requestExecute({code: code, store_history: false});
    let out = '';
    fut.onIOPub = (msg) => {
        const t = msg.header.msg_type;
        if (t === 'stream') out += msg.content.text;
        if (t === 'error') out += 'ERROR ' + msg.content.ename + ': ' + msg.content.evalue;
    };
    await fut.done;
    return out;
}"""


def kernel_print(page, code: str) -> str:
    return page.evaluate(_KERNEL_JS, code).strip()


def _button(page, scope, label):
    return page.locator(f"{scope} button", has_text=re.compile(rf"^\s*{label}\s*$")).first


READ = "print(len(model.edges('pruned')), model.width_spec, model.edge_mode((1, 0, 0)))"


def test_click_and_prune_a_multiplication_node(lab, page):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    lab.write_notebook("mult.ipynb", nb)
    open_notebook(page, lab, "mult.ipynb")
    run_all(page)
    graph = wait_for_plotly(page, ".kw-network")
    graph.evaluate("""(el) => new Promise((res, rej) => { const t0 = Date.now();
        const gd = el.querySelector('.js-plotly-plot');
        const tick = () => { if (gd.data.some((t) => t.name === 'nodes 1')) res(true);
            else if (Date.now() - t0 > 60000) rej(new Error('no nodes trace'));
            else setTimeout(tick, 100); }; tick(); })""")
    # the product is drawn with its own glyph, its two factor rows grouped
    symbols = page.locator(".kw-network").first.evaluate("""(el) => {
        for (const gd of el.querySelectorAll('.js-plotly-plot')) {
            const t = gd._fullData.find((d) => d.name === 'nodes');
            if (t) return t.marker.symbol; }
        return null; }""")
    assert symbols[2] == "circle-x-open", symbols
    assert kernel_print(page, READ) == "0 [2, [0, 1], 1] spline"

    res = plotly_click_trace(page, graph, "nodes 1", point=0)
    assert res["hovered"], "plotly showed no hover on the multiplication node"
    wait_for_text(page, ".kw-node-title", "multiplication node: product of 2 sub-nodes",
                  exact=False)
    wait_for_text(page, ".kw-node-info", re.compile(r"prune node h1\.0: 5 edges go, loss"),
                  exact=False)
    wait_for_text(page, ".kw-node-stats", re.compile(r"values \S+ … \S+, mean"), exact=False)
    page.locator(".kw-node-panel").first.scroll_into_view_if_needed()
    screenshot(page, "mult-1-node-shown")
    assert kernel_print(page, READ) == "0 [2, [0, 1], 1] spline"  # a click only shows it

    _button(page, ".kw-node-panel", "Prune node").click()
    wait_for_text(page, ".kw-history", "prune node h1.0", exact=False)
    wait_for_text(page, ".kw-node-info", "all its edges are pruned already", exact=False)
    screenshot(page, "mult-2-pruned")
    assert kernel_print(page, READ) == "5 [2, [0, 1], 1] pruned"

    _button(page, ".kw-history", "Undo").click()
    wait_for_text(page, ".kw-message", "undid: prune node h1.0", exact=False)
    assert kernel_print(page, READ) == "0 [2, [0, 1], 1] spline"
