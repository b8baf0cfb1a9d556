"""Small helpers shared by the Explorer's panels."""

from __future__ import annotations

import functools

import ipywidgets as widgets

__all__ = ["button", "guard", "update_traces", "sync_state", "STYLE"]

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


def update_traces(fig, updates, sync=True) -> None:
    """Assign trace properties, one ``batch_update`` per distinct set of property names.

    ``updates`` is ``[(trace, {prop: value, ...}), ...]``. Why not one batch for everything:
    a batch that sets ``x`` on one trace and only ``text`` on another sends ``x: undefined``
    for the second, and the browser (plotly 7.1 widget) then *erases* its ``x`` instead of
    leaving it alone. Grouping by property set keeps every message uniform.
    """
    groups: dict[tuple, list] = {}
    for trace, props in updates:
        if props:
            groups.setdefault(tuple(sorted(props)), []).append((trace, props))
    for items in groups.values():
        with fig.batch_update():
            for trace, props in items:
                for k, v in props.items():
                    setattr(trace, k, v)
    if sync:  # (pass sync=False when more changes follow; call sync_state after them)
        sync_state(fig)


def sync_state(fig) -> None:
    """Make a FigureWidget's widget state show its current traces and layout, silently.

    plotly sends updates as messages and keeps ``_widget_data`` / ``_widget_layout`` as they
    were at construction. A front end that connects later (Voila renders after the notebook
    ran; a reloaded page) builds the figure from that state and would show the construction
    data. Here the state lists point at plotly's own trace dicts (which its updates mutate in
    place), so the state stays current; nothing is sent (live views got the update messages)
    and nothing is copied.
    """
    fig._widget_data[:] = fig._data
    fig._widget_layout.update(fig._layout)
