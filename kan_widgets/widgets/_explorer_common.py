"""Small helpers shared by the Explorer's panels."""

from __future__ import annotations

import functools

import ipywidgets as widgets

__all__ = ["button", "guard", "STYLE"]

# One stylesheet for the Explorer, shipped inside the widget tree (works in Lab and Voila).
STYLE = """<style>
.kw-explorer .kw-mono, .kw-explorer .kw-suggestions select {
  font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.kw-explorer pre.kw-mono { margin: 2px 0; }
.kw-explorer .kw-message { min-height: 1.6em; }
.kw-explorer .kw-msg-error { color: #b00020; font-weight: 600; }
.kw-explorer .kw-msg-info { color: #35506b; }
.kw-explorer .kw-msg-warning { color: #8a5a00; }
.kw-explorer .kw-history-undone { color: #999; text-decoration: line-through; }
.kw-explorer .kw-panel-title { font-weight: 600; margin: 4px 0; }
</style>"""


def button(label, css_class, tooltip="", style=""):
    """A Button with a visible ``label`` (what browser tests click) and a CSS class."""
    b = widgets.Button(description=label, tooltip=tooltip or label, button_style=style,
                       layout={"width": "auto"})
    b.add_class(css_class)
    return b


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
