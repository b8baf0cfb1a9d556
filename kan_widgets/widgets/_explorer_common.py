"""Small helpers shared by the Explorer's panels, and the Explorer's stylesheet."""

from __future__ import annotations

import functools
import html
import math

import ipywidgets as widgets

__all__ = ["button", "guard", "set_enabled", "nowrap", "fmt", "short", "style_widget", "STYLE"]

# One stylesheet for the Explorer, shipped inside the widget tree (works in Lab and Voila).
# Layout: a CSS grid whose shape follows the width the Explorer gets (container queries, so
# the output area's width counts, not the window's), from one column (under 760 px) to
# network | edge panel (Lab with the file browser open at 1280 px) to network | edge panel |
# training (1240 px and up). Plotly figures have no fixed width: they fill their grid cell.
# The panels carry only classes; sizes live here (inline ipywidgets layout would win over it).
STYLE = """<style>
.kw-explorer { container-type: inline-size; width: 100%; overflow: visible; }
.kw-explorer .kw-style { display: none; }
.kw-explorer .kw-layout {
  display: grid; gap: 6px 14px; align-items: start; overflow: visible;
  grid-template-columns: minmax(0, 1fr);
  grid-template-areas: "tool" "net" "edge" "form" "train" "data";
}
@container (min-width: 760px) {
  .kw-explorer .kw-layout {
    grid-template-columns: minmax(auto, 1fr) minmax(330px, 440px);
    grid-template-rows: auto auto 1fr auto auto;
    grid-template-areas: "tool tool" "net edge" "form edge" "train train" "data data";
  }
}
@container (min-width: 1240px) {
  .kw-explorer .kw-layout {
    grid-template-columns: minmax(auto, 1fr) minmax(360px, 470px) minmax(340px, 470px);
    grid-template-rows: auto auto 1fr auto;
    grid-template-areas: "tool tool tool" "net edge train" "form edge train" "data data train";
  }
}
.kw-explorer .kw-layout > * { min-width: 0; }
/* the network's column is never narrower than a fixed-width network (its auto minimum):
   a column of 360 px in Voila at 1280 px cut a 380 px network off */
.kw-explorer .kw-layout > .kw-network { min-width: auto; }
.kw-explorer .kw-layout > .kw-toolbar { grid-area: tool; }
.kw-explorer .kw-layout > .kw-network { grid-area: net; }
.kw-explorer .kw-layout > .kw-edge-panel { grid-area: edge; }
/* a selected node shows in the edge panel's place (one of the two is hidden) */
.kw-explorer .kw-layout > .kw-node-panel { grid-area: edge; }
.kw-explorer .kw-layout > .kw-formula { grid-area: form; }
.kw-explorer .kw-layout > .kw-train-panel { grid-area: train; }
.kw-explorer .kw-layout > .kw-data-view { grid-area: data; }

/* toolbar: Undo / Redo / History, then the message, which keeps two lines of room */
.kw-explorer .kw-toolbar { display: flex; flex-flow: row nowrap; align-items: center;
  gap: 8px; overflow: visible; border-bottom: 1px solid #e3e6ea; padding-bottom: 3px; }
/* the message takes the room left (base 0: a long one never squeezes the buttons) */
.kw-explorer .kw-toolbar > .kw-message { flex: 1 1 0; min-width: 0; }
.kw-explorer .kw-toolbar > .kw-message-undo { flex: 0 0 auto; }
.kw-explorer .kw-message { height: 2.7em; margin: 0; display: flex; align-items: center;
  overflow: hidden; line-height: 1.3em; }
/* ipywidgets gives HTML content the 28 px line of an input: two of them overflowed 2.7em */
.kw-explorer .kw-message > .widget-html-content { line-height: 1.3em; min-width: 0; }
.kw-explorer .kw-message span { display: -webkit-box; -webkit-line-clamp: 2;
  -webkit-box-orient: vertical; overflow: hidden; }
.kw-explorer .kw-msg-error { color: #b00020; font-weight: 600; }
.kw-explorer .kw-msg-info { color: #35506b; }
.kw-explorer .kw-msg-warning { color: #8a5a00; }
.kw-explorer .kw-history { position: relative; overflow: visible; flex: 0 0 auto;
  display: flex; flex-flow: row nowrap; align-items: center; gap: 4px; }
.kw-explorer .kw-history-popup { position: absolute; top: 100%; left: 0; z-index: 30;
  background: var(--jp-layout-color0, white); border: 1px solid #c8ccd2;
  box-shadow: 0 3px 10px rgba(0,0,0,0.18); padding: 4px 8px; max-height: 340px;
  overflow: auto; min-width: 320px; }
.kw-explorer .kw-history-undone { color: #999; text-decoration: line-through; }

/* panels */
.kw-explorer .kw-panel-title { font-weight: 600; margin: 2px 8px 2px 0; white-space: nowrap; }
.kw-explorer .kw-mono, .kw-explorer .kw-suggestions select {
  font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.kw-explorer pre.kw-mono { margin: 2px 0; white-space: pre; overflow: hidden; }
.kw-explorer .kw-nowrap { white-space: nowrap; }
.kw-explorer .kw-row { display: flex; flex-flow: row wrap; align-items: center;
  gap: 4px 6px; overflow: visible; }
.kw-explorer .kw-row > .widget-inline-hbox { margin: 0; }
.kw-explorer .widget-button { margin: 0; }
.kw-explorer .kw-network { overflow: visible; }
/* a fixed-width network sits in the middle of a wider column */
.kw-explorer .kw-network-scroll > .widget-gridbox { justify-content: center; }
/* a tall network scrolls inside its panel: the rest keeps its place on a short screen */
.kw-explorer .kw-network-scroll { max-height: max(300px, calc(100vh - 300px));
  overflow-y: auto; overflow-x: hidden; }
.kw-explorer .kw-edge-panel, .kw-explorer .kw-formula, .kw-explorer .kw-train-panel {
  overflow: visible; }
.kw-explorer .kw-edge-title { min-height: 2.6em; line-height: 1.3em; margin: 0; }
.kw-explorer .kw-pick-info { min-height: 1.4em; margin: 0; }
.kw-explorer .kw-suggestions { width: 100%; margin: 0; }
.kw-explorer .kw-manual { flex: 1 1 150px; min-width: 0; }
.kw-explorer .kw-manual select { min-width: 0; }
.kw-explorer .kw-formula-head { display: flex; flex-flow: row wrap; align-items: center;
  gap: 4px 6px; }
.kw-explorer .kw-formula-math { max-height: 7.5em; overflow: auto; margin: 0;
  border: 1px solid #eef0f3; padding: 2px 6px; }
.kw-explorer .kw-formula-math mjx-container[display="true"] { text-align: left !important;
  margin: 2px 0 !important; }
.kw-explorer .kw-copy-status { margin: 0; min-width: 0; }
.kw-explorer .kw-train-panel { display: flex; flex-flow: row wrap; align-items: flex-start;
  gap: 4px 14px; }
.kw-explorer .kw-train-controls { flex: 1 1 440px; max-width: 560px; min-width: 0;
  overflow: visible; }
.kw-explorer .kw-train-controls > * { margin-bottom: 3px; }
.kw-explorer .kw-loss-box { flex: 1 1 280px; min-width: 0; }
.kw-explorer .kw-threshold { flex: 1 1 220px; min-width: 180px; }
.kw-explorer .kw-train-status { margin: 0; }

/* a disabled button says so: no pointer, and its tooltip says why */
.kw-explorer button:disabled, .kw-explorer .widget-button:disabled {
  cursor: not-allowed; }
</style>"""


def style_widget() -> widgets.HTML:
    """The stylesheet as a (hidden) HTML widget, to put first in the Explorer's tree."""
    w = widgets.HTML(STYLE)
    w.add_class("kw-style")
    return w


def button(label, css_class, tooltip="", style=""):
    """A Button with a visible ``label`` (what browser tests click) and a CSS class.

    Its tooltip is remembered, so ``set_enabled`` can swap in the reason it is disabled.
    """
    b = widgets.Button(description=label, tooltip=tooltip or label, button_style=style,
                       layout={"width": "auto"})
    b.add_class(css_class)
    b._kw_tooltip = b.tooltip
    return b


def set_enabled(b, enabled: bool, why: str = "") -> None:
    """Enable ``b``, or disable it with ``why`` as its tooltip ("Fix: training is running").

    The browser shows the tooltip on hover and a not-allowed cursor (see STYLE), so a grey
    button always says why it is grey.
    """
    base = getattr(b, "_kw_tooltip", b.tooltip)
    b.disabled = not enabled
    b.tooltip = base if enabled or not why else f"{b.description}: {why}"


def fmt(v, spec: str = ".3g") -> str:
    """A number as text; NaN and None as an em dash."""
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def nowrap(text: str) -> str:
    """HTML of ``text`` that the browser never breaks across lines (numbers like 1.29e-05)."""
    return f"<span class='kw-nowrap'>{html.escape(text)}</span>"


def short(name: str, n: int = 14) -> str:
    """``name`` cut to ``n`` characters with an ellipsis (long output names, as from a
    formula string, would push everything else out of a title or a plot)."""
    name = str(name)
    return name if len(name) <= n else name[: n - 1] + "…"


def guard(fn, session=None, what="action"):
    """Wrap a widget callback: an exception is shown in the session's message area (when not
    already reported there) instead of vanishing into the log console."""

    @functools.wraps(fn)
    def run(*args, **kw):
        try:
            return fn(*args, **kw)
        except Exception as err:
            if session is not None and not getattr(err, "_kw_reported", False):
                session.report(what, err)
            return None

    return run
