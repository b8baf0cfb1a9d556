"""The Explorer's layout as a user (a teacher projecting it) sees it, in a real browser.

JupyterLab with the file browser side bar open, at 1280x720 and 1920x1080, and Voila at
1280x720: the network, the selected edge's panel, the formula, the train buttons, Undo/Redo
and the message all lie inside the window without scrolling and do not overlap; the Explorer
takes the width it has; a long formula stays inside its panel (it wraps or scrolls there).
Also: Copy as Python / Copy as sympy reach the browser's clipboard (read back through
``navigator.clipboard.readText()``), the empty edge panel's placeholder, Fix disabled with
its reason while training, and Save refusing a typed path that leaves the notebook's folder.

"Without scrolling" means: the user scrolled the notebook (Voila: the page) so that the
Explorer's top edge is at the top of the notebook's visible area (the scroll container of the
notebook panel, below Lab's menu, tab and notebook tool bars; the page top in Voila); nothing
inside the Explorer is scrolled. Then every part's bounding box must lie inside the window and
inside that visible area (not under the status bar).

Screenshots: ``test-artifacts/browser/layout-*.png``; look at them when the layout changes.
"""

from __future__ import annotations

import re
import warnings

import nbformat

from .lab import (
    open_notebook,
    open_voila,
    plotly_click_trace,
    run_all,
    screenshot,
    wait_for_plotly,
    wait_for_text,
)

# two inputs named x1, x2: the formula's left-hand side is then `y` (the default output name)
CELL = """\
import kan_widgets as kw
from kan_widgets import KAN, Explorer

data = kw.datasets.from_function(lambda X: (X[:, 0] * 2.0).sin() + X[:, 1] ** 2, n_var=2,
                                 ranges=(-1, 1), n_train=400, n_test=400, seed=0,
                                 variables=["x1", "x2"])
model = KAN([2, 5, 1], grid=5, k=3, seed=0).fit(data, steps=6, progress=False)
explorer = Explorer(model, data)
explorer
"""

# seconds for the widgets to show after the cell ran: anywidget's and plotly's first render
# take several seconds on a loaded 2-core machine (Voila renders the whole page at once)
LOAD_TIMEOUT = 120

# the parts that must be in view, as CSS selectors (several: their union box)
PARTS = {
    "network": [".kw-network"],
    "edge panel": [".kw-edge-panel"],
    "formula": [".kw-formula"],
    "train buttons": [".kw-train", ".kw-stop", ".kw-play", ".kw-step", ".kw-reset"],
    "Undo": [".kw-undo"],
    "Redo": [".kw-redo"],
    "message": [".kw-message"],
}

# JS: the nearest scrolling ancestor of `el` (the notebook's scroll container in Lab), or the
# document's scrolling element (Voila)
_SCROLLER_JS = """
const kwScroller = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
        const s = getComputedStyle(p);
        if (/(auto|scroll)/.test(s.overflowY) && p.scrollHeight > p.clientHeight + 1) return p;
    }
    return document.scrollingElement;
};
"""

# JS: scroll so that the Explorer's top is at the top of the visible area of its scroller
_ALIGN_TOP_JS = "(el) => {" + _SCROLLER_JS + """
    const sc = kwScroller(el);
    const top = sc === document.scrollingElement ? 0 : sc.getBoundingClientRect().top;
    sc.scrollTop += el.getBoundingClientRect().top - top;
    return new Promise((res) => { let last = null, same = 0, n = 0;
        const tick = () => { const t = el.getBoundingClientRect().top;
            same = (t === last) ? same + 1 : 0; last = t; n += 1;
            if (same >= 3 || n > 300) res(t); else requestAnimationFrame(tick); };
        requestAnimationFrame(tick); });
}"""

# JS: the boxes [left, top, right, bottom] of the parts, of the Explorer, of the visible area
_BOXES_JS = "(el, parts) => {" + _SCROLLER_JS + """
    const box = (r) => [r.left, r.top, r.right, r.bottom];
    const out = {parts: {}, missing: []};
    for (const [name, sels] of Object.entries(parts)) {
        let b = null;
        for (const s of sels) {
            const e = el.querySelector(s);
            if (!e) { out.missing.push(s); continue; }
            const r = e.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) { out.missing.push(s + ' (not shown)'); continue; }
            b = b ? [Math.min(b[0], r.left), Math.min(b[1], r.top), Math.max(b[2], r.right),
                     Math.max(b[3], r.bottom)] : box(r);
        }
        out.parts[name] = b;
    }
    out.explorer = box(el.getBoundingClientRect());
    const sc = kwScroller(el);
    out.visible = sc === document.scrollingElement ? [0, 0, innerWidth, innerHeight]
                                                   : box(sc.getBoundingClientRect());
    // the box the Explorer lives in (Lab: the output area; Voila: its cell's output)
    const area = el.closest('.jp-OutputArea-output') || el.parentElement;
    out.area = box(area.getBoundingClientRect());
    // how far right the grid's parts reach: the layout uses the width it has
    const kids = Array.from(el.querySelectorAll('.kw-layout > *'))
        .map((k) => k.getBoundingClientRect()).filter((r) => r.width > 0);
    out.used_right = Math.max(...kids.map((r) => r.right));
    out.doc_scroll_x = document.scrollingElement.scrollWidth - innerWidth;
    return out;
}"""

# JS: the plotly graphs of the Explorer: [class of the panel, box width, figure width,
# fixed width?, drawn?]
_PLOTS_JS = """(el) => Array.from(el.querySelectorAll('.js-plotly-plot')).map((gd) => [
    (gd.closest('.kw-network, .kw-edge-panel, .kw-train-panel, .kw-data-view') || {}).className,
    gd.clientWidth, gd._fullLayout ? gd._fullLayout.width : null,
    !!(gd.layout && (gd.layout.autosize === false || typeof gd.layout.width === 'number')),
    !!gd.querySelector('.main-svg')])"""

# JS: every shown plotly graph of the Explorer has drawn and is as wide as its box
_PLOTS_FIT_JS = "(el) => (" + _PLOTS_JS + """)(el).every(([c, w, fw, fixed, svg]) =>
    w === 0 || (svg && fw !== null && (fixed || Math.abs(w - fw) <= 2)))"""

# JS: run code in the notebook's kernel (not as a cell); resolves to what it printed
_KERNEL_JS = """async (code) => {
    const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const f = k.requestExecute({code, silent: false, store_history: false});
    let out = '';
    f.onIOPub = (m) => {
        if (m.header.msg_type === 'stream') out += m.content.text;
        if (m.header.msg_type === 'error') out += m.content.ename + ': ' + m.content.evalue;
    };
    await f.done;
    return out;
}"""


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    return nb


def _open_lab(lab, page, width, height):
    """The notebook at ``width`` x ``height`` with the file browser open, run; the network."""
    page.set_viewport_size({"width": width, "height": height})
    lab.write_notebook("layout.ipynb", _notebook())
    open_notebook(page, lab, "layout.ipynb")
    if page.evaluate("() => window.jupyterapp.shell.leftCollapsed"):
        page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
    page.wait_for_function("() => !window.jupyterapp.shell.leftCollapsed"
                           " && document.querySelector('.jp-FileBrowser').offsetWidth > 100")
    run_all(page)
    graph = wait_for_plotly(page, ".kw-network", timeout=LOAD_TIMEOUT)
    wait_for_text(page, ".kw-formula", "still a spline", exact=False, timeout=LOAD_TIMEOUT)
    return graph


# JS: the edge panel's figure shows an edge (its curve drawn, the placeholder gone)
_EDGE_DRAWN_JS = """() => {
    const gd = document.querySelector('.kw-edge-panel .js-plotly-plot');
    const L = gd && gd._fullLayout;
    if (!L || !gd.calcdata || (L.annotations || []).length) return false;
    const t = gd._fullData.findIndex((d) => d.name !== 'inputs' && d.mode === 'lines');
    return t >= 0 && (gd.calcdata[t] || []).filter((p) => isFinite(p.y)).length > 10
        && !!gd.querySelector('.scatterlayer .trace path.js-line');
}"""


def _select_edge(page, graph, edge="0,1,0", deaf=None):
    # the figure may draw before its traces arrive: wait for the edge's cell
    page.wait_for_function(
        "([el, name]) => { const gd = el.querySelector('.js-plotly-plot');"
        " return !!(gd && gd._fullData && gd._fullData.some((t) => t.name === name)); }",
        arg=[graph.element_handle(), f"edge {edge}"], timeout=60_000)
    res = plotly_click_trace(page, graph, f"edge {edge}", point="centroid")
    wait_for_text(page, ".kw-edge-title", f"edge {edge}", exact=False)
    wait_for_text(page, ".kw-suggestions select", re.compile(r"\w"), exact=False)
    assert res["hovered"], "plotly showed no hover on the edge's cell"
    # the panel as the user ends up seeing it: the edge's curve drawn (no placeholder), and
    # the loss previews in (the second phase of the fill)
    wait_for_text(page, ".kw-pick-info", re.compile(r"→ \d"), exact=False, timeout=60)
    if deaf:
        # anywidget 0.11 drops every later message to a model whose module took over 2 s to
        # load (5 MB of plotly per figure, on a loaded machine): such a figure keeps its
        # first picture. Not a layout matter (the boxes are the same); said, not hidden.
        warnings.warn(f"anywidget could not initialize {len(deaf)} model(s) in 2 s: "
                      "the plotly figures do not update on this page", stacklevel=2)
    else:
        page.wait_for_function(_EDGE_DRAWN_JS, timeout=60_000)
    page.mouse.move(1, 1)  # the hover label goes: the screenshot shows the plain layout


def _inside(box, outer, tol=1.0):
    return (box[0] >= outer[0] - tol and box[1] >= outer[1] - tol
            and box[2] <= outer[2] + tol and box[3] <= outer[3] + tol)


def _overlap(a, b):
    return min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > 1


def _measure(page, width, height):
    """Align the Explorer's top with the visible area's; the boxes (see _BOXES_JS)."""
    explorer = page.locator(".kw-explorer").first
    try:
        page.wait_for_function(_PLOTS_FIT_JS, arg=explorer.element_handle(), timeout=30_000)
    except Exception as e:
        raise AssertionError(f"plots not drawn to their boxes' widths: "
                             f"{explorer.evaluate(_PLOTS_JS)}") from e
    explorer.evaluate(_ALIGN_TOP_JS)
    return explorer.evaluate(_BOXES_JS, PARTS)


def _check_layout(b, width, height):
    """Every part inside the window and the visible area, no two overlapping."""
    assert not b["missing"], f"parts not shown: {b['missing']}"
    view = [0, 0, width, height]
    assert abs(b["explorer"][1] - b["visible"][1]) <= 2, (b["explorer"], b["visible"])
    for name, box in b["parts"].items():
        assert _inside(box, view), f"{name} {box} is outside the {width}x{height} window"
        assert _inside(box, b["visible"]), f"{name} {box} is outside the visible area {b['visible']}"
    names = list(b["parts"])
    for i, a in enumerate(names):
        for c in names[i + 1:]:
            assert not _overlap(b["parts"][a], b["parts"][c]), (
                f"{a} {b['parts'][a]} overlaps {c} {b['parts'][c]}")
    # the Explorer fills the output area, and its parts reach (close to) its right edge: no
    # empty band on the right; and nothing sticks out sideways (no horizontal page scroll)
    ex, area = b["explorer"], b["area"]
    assert ex[2] - ex[0] >= 0.97 * (area[2] - area[0]), (ex, area)
    assert ex[2] - b["used_right"] <= 40, f"{ex[2] - b['used_right']:.0f} px unused on the right"
    assert b["doc_scroll_x"] <= 0, "the page scrolls sideways"


def test_layout_in_lab_at_1280x720(lab, page, timings):
    graph = _open_lab(lab, page, 1280, 720)
    _select_edge(page, graph)
    b = _measure(page, 1280, 720)
    screenshot(page, "layout-lab-1280x720")
    _check_layout(b, 1280, 720)
    timings["explorer_width_1280"] = round(b["explorer"][2] - b["explorer"][0])


def test_layout_in_lab_at_1920x1080_and_reflow(lab, page, timings):
    graph = _open_lab(lab, page, 1920, 1080)
    _select_edge(page, graph)
    b = _measure(page, 1920, 1080)
    screenshot(page, "layout-lab-1920x1080")
    _check_layout(b, 1920, 1080)
    wide = b["explorer"][2] - b["explorer"][0]
    # the same page made narrower: the Explorer follows, and still fits
    page.set_viewport_size({"width": 1280, "height": 720})
    page.wait_for_function("(w) => document.querySelector('.kw-explorer')"
                           ".getBoundingClientRect().width < w - 300", arg=wide)
    narrow_b = _measure(page, 1280, 720)
    screenshot(page, "layout-lab-1920-resized-to-1280x720")
    _check_layout(narrow_b, 1280, 720)
    narrow = narrow_b["explorer"][2] - narrow_b["explorer"][0]
    assert wide - narrow >= 500, f"the Explorer is {wide:.0f} px at 1920 and {narrow:.0f} at 1280"
    timings.update(explorer_width_1920=round(wide), explorer_width_resized=round(narrow))


def test_layout_in_voila_at_1280x720(voila_server, page, tmp_path):
    path = tmp_path / "layout_voila.ipynb"
    nbformat.write(_notebook(), str(path))
    voila = voila_server(path)
    page.set_viewport_size({"width": 1280, "height": 720})
    deaf = []
    page.on("pageerror", lambda e: deaf.append(e) if "Failed to initialize model" in str(e)
            else None)
    open_voila(page, voila)
    graph = wait_for_plotly(page, ".kw-network", timeout=LOAD_TIMEOUT)
    wait_for_text(page, ".kw-formula", "still a spline", exact=False, timeout=LOAD_TIMEOUT)
    _select_edge(page, graph, deaf=deaf)
    b = _measure(page, 1280, 720)
    screenshot(page, "layout-voila-1280x720")
    _check_layout(b, 1280, 720)


def _kernel(page, code):
    out = page.evaluate(_KERNEL_JS, code)
    assert "Error" not in out, out
    return out


def test_placeholder_long_formula_clipboard_and_disabled_fix(lab, page, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url)
    graph = _open_lab(lab, page, 1280, 720)
    # before any click: a placeholder saying what to do, not bare axes
    wait_for_text(page, ".kw-edge-title", "Click an edge", exact=False)
    panel_fig = page.locator(".kw-edge-panel .js-plotly-plot").first
    wait_for_plotly(page, panel_fig)
    note = panel_fig.evaluate("(gd) => ({text: gd.querySelector('.annotation-text') ?"
                              " gd.querySelector('.annotation-text').textContent : null,"
                              " axes: gd._fullLayout.xaxis.visible})")
    assert note == {"text": "Click an edge of the network to see its function here",
                    "axes": False}, note

    # a long formula (every edge fixed): it stays inside its panel, wrapping or scrolling
    _kernel(page, "explorer.auto_symbolic()")
    page.wait_for_function("() => document.querySelector('.kw-formula-math mjx-container')",
                           timeout=120_000)
    fit = page.evaluate("""() => {
        const m = document.querySelector('.kw-formula-math');
        const p = document.querySelector('.kw-formula').getBoundingClientRect();
        const r = m.getBoundingClientRect(), s = getComputedStyle(m);
        const mj = m.querySelector('mjx-container').getBoundingClientRect();
        return {inside: r.left >= p.left - 1 && r.right <= p.right + 1,
                wider: mj.width > r.width + 1, scrolls: m.scrollWidth > m.clientWidth + 1,
                overflow: s.overflowX};
    }""")
    assert fit["inside"], fit
    # a formula wider than its box must be reachable by scrolling the box
    assert not fit["wider"] or (fit["scrolls"] and fit["overflow"] in ("auto", "scroll")), fit
    explorer = page.locator(".kw-explorer").first
    explorer.evaluate(_ALIGN_TOP_JS)
    screenshot(page, "layout-long-formula-1280x720")
    # the loss got 22x worse: the message says so next to a whole Undo button (a long message
    # once squeezed it to "U…" and showed one clipped line of two)
    wait_for_text(page, ".kw-message", re.compile(r"made the loss \d+x worse"), exact=False)
    bar = page.evaluate("""() => {
        const u = document.querySelector('.kw-message-undo');
        const m = document.querySelector('.kw-message'), t = m.querySelector('span');
        return {undo_cut: u.scrollWidth > u.clientWidth + 1, shown: u.offsetWidth > 0,
                text_h: t.getBoundingClientRect().height, bar_h: m.clientHeight};
    }""")
    assert bar["shown"] and not bar["undo_cut"], bar
    assert bar["text_h"] <= bar["bar_h"] + 1, bar

    # Copy as Python / Copy as sympy: the browser's clipboard holds the source
    for kind, name in (("python", "Python"), ("sympy", "sympy")):
        page.evaluate("() => navigator.clipboard.writeText('')")
        page.locator(".kw-formula button", has_text=f"Copy as {name}").first.click()
        wait_for_text(page, ".kw-copy-status", f"{name} source copied to the clipboard",
                      exact=False)
        got = page.evaluate("() => navigator.clipboard.readText()")
        want = _kernel(page, f"print(explorer.formula().{kind}, end='')")
        assert got == want, (kind, got, want)
        # the fallback text area stays hidden when the clipboard worked
        assert page.locator(".kw-formula-code").first.is_hidden()
        if kind == "python":
            assert "def kan_formula(x1, x2):" in got and "numpy." in got, got
        else:
            assert "x1, x2 = symbols('x1 x2')" in got, got
            # the left-hand side is the output's plain name, not a mangled target string
            lhs = [ln.split(" = ", 1)[0] for ln in got.splitlines()
                   if " = " in ln and "symbols(" not in ln]
            assert lhs == ["y"], got
    # the formula shown starts with the same plain name (MathJax writes it as 𝑦, math italic)
    shown = page.locator(".kw-formula-math").first.inner_text()
    assert re.match(r"\s*[y\U0001D466]\s*=", shown), shown[:40]

    # Fix is disabled while training, with a tooltip saying why and a not-allowed cursor
    _kernel(page, "explorer.undo()")  # splines again: a spline edge can be fixed
    wait_for_text(page, ".kw-formula", "still a spline", exact=False)
    _select_edge(page, graph)
    fix = page.locator(".kw-edge-panel .kw-fix").first
    page.wait_for_function("(el) => !el.disabled", arg=fix.element_handle())
    steps = page.locator(".kw-train-panel .kw-steps input").first
    steps.fill("5000")
    steps.press("Enter")
    page.locator(".kw-train-panel .kw-train").first.click()
    wait_for_text(page, ".kw-train-status", re.compile(r"^training"), timeout=60)
    page.wait_for_function("(el) => el.disabled", arg=fix.element_handle(), timeout=30_000)
    assert fix.get_attribute("title") == "Fix: training is running (Stop it first)"
    assert fix.evaluate("(el) => getComputedStyle(el).cursor") == "not-allowed"
    screenshot(page, "layout-training-1280x720")
    page.locator(".kw-train-panel .kw-stop").first.click()
    page.wait_for_function("(el) => !el.disabled", arg=fix.element_handle(), timeout=60_000)
    assert fix.get_attribute("title") == "Fix the edge to the chosen function"

    # Save: a typed path leaving the notebook's folder is refused, the reason in the message
    field = page.locator(".kw-save-path input").first
    for typed, why in [("../escape", "must not contain '..'"),
                       ("/tmp/escape", "is outside the save folder")]:
        field.fill(typed)
        field.press("Enter")
        page.locator(".kw-save").first.click()
        wait_for_text(page, ".kw-message", f"save failed: path '{typed}.kan' {why}",
                      exact=False)
    field.fill("saved-here")
    page.locator(".kw-save").first.click()
    wait_for_text(page, ".kw-message", "saved the session to saved-here.kan", exact=False)
    assert (lab.root_dir / "saved-here.kan").exists()
    assert not (lab.root_dir.parent / "escape.kan").exists()
