"""Updating a plotly ``FigureWidget`` safely: the one place that works around its pitfalls.

Every redraw of the Explorer's panels and of the teaching widgets goes through
``update_figure``; ``sync_state`` is public for the few layout-only edits made with plotly's
object API (``with fig.batch_update(): shape.update(...)``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["update_figure", "sync_state"]


def update_figure(fig, traces, layout: dict | None = None, *, sync: bool = True) -> None:
    """Apply trace and layout edits to a ``FigureWidget`` in as few messages as possible.

    Parameters
    ----------
    fig : plotly.graph_objects.FigureWidget
    traces : mapping or iterable of pairs
        ``{trace: {prop: value}}`` or ``[(trace, {prop: value}), ...]``; ``trace`` is a trace
        of ``fig`` or its index, ``prop`` a property path (``"x"``, ``"line.width"``).
        Empty edits are skipped.
    layout : dict, optional
        Layout edits by property path (``{"xaxis.range": [0, 1]}``), sent with the first
        trace update (or alone).
    sync : bool
        Call ``sync_state`` afterwards (pass False when more changes follow; call it after).

    Pitfalls this works around (plotly 7.1 widget, JupyterLab 4.6 and Voila):

    1. **Mixed property sets erase data.** ``fig.batch_update()`` that sets ``x`` on one
       trace and only ``text`` on another sends ``x: undefined`` for the second, and the
       browser erases its ``x`` (or resets its colours to the default cycle) instead of
       leaving it alone. Here traces of one type go in one ``plotly_update`` where every
       trace gets an explicit value for every edited property (its current one where it has
       no edit); trace types with different edited properties (scatter vs histogram) go in
       separate updates, as a property of one type may not exist on the other.
    2. **Non-contiguous arrays are refused.** ``plotly_update`` sends values as given (no copy,
       unlike assigning a trace property) and the kernel refuses to send a non-contiguous
       numpy array as a binary buffer: arrays are made contiguous first.
    3. **Stale widget state** (see ``sync_state``): with ``sync=True`` the figure's synced
       state is pointed at its current traces and layout, so Voila (and a reloaded page)
       shows the figure as it is now, not as it was built.

    Values are not validated by plotly (pass plain lists / numpy arrays) and are stored in
    the figure as given: do not mutate an array after passing it.
    """
    items = traces.items() if hasattr(traces, "items") else traces
    edits: dict[int, dict] = {}
    index = None  # id(trace) -> index, built when a trace object is given
    for trace, props in items:
        if not props:
            continue
        if not isinstance(trace, (int, np.integer)):
            index = index or {id(t): n for n, t in enumerate(fig.data)}
            if id(trace) not in index:
                raise ValueError(f"trace {getattr(trace, 'name', trace)!r} is not in this figure")
            trace = index[id(trace)]
        edits.setdefault(int(trace), {}).update(props)
    # one group per trace type; types whose edited property sets are equal share a group
    by_type: dict[type, list[int]] = {}
    for i in sorted(edits):
        by_type.setdefault(type(fig.data[i]), []).append(i)
    groups: dict[tuple, list[int]] = {}
    for idx in by_type.values():
        keys = tuple(sorted({k for i in idx for k in edits[i]}))
        groups.setdefault(keys, []).extend(idx)
    relayout = dict(layout or {})
    for keys, idx in groups.items() or [((), [])]:
        idx = sorted(idx)
        data = {k: [_contiguous(edits[i][k] if k in edits[i] else fig.data[i][k]) for i in idx]
                for k in keys}
        if data or relayout:
            fig.plotly_update(restyle_data=data, relayout_data=relayout, trace_indexes=idx)
        relayout = {}
    if sync:
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


def _contiguous(v):
    return np.ascontiguousarray(v) if isinstance(v, np.ndarray) else v
