"""End-to-end proof that the browser harness works: a plotly click reaches a Python callback.

The notebook shows a FigureWidget whose trace ``pt`` has three markers and a Label
(``.kw-test-label``) that ``on_click`` sets to the clicked point index. If the click does
not reach the kernel, or hits the wrong point, the label assertions fail.
"""

from __future__ import annotations

import time

import nbformat

from .lab import (
    open_notebook,
    open_voila,
    plotly_click,
    plotly_click_trace,
    run_all,
    screenshot,
    wait_for_plotly,
    wait_for_text,
)

CELL = """\
import ipywidgets as widgets
import plotly.graph_objects as go
from IPython.display import display

fig = go.FigureWidget(
    data=[go.Scatter(x=[0, 1, 2], y=[0, 2, 1], mode="markers", name="pt",
                     marker={"size": 16})],
    layout={"width": 520, "height": 360, "margin": {"l": 40, "r": 20, "t": 20, "b": 40}},
)
label = widgets.Label("none")
label.add_class("kw-test-label")


def on_click(trace, points, state):
    if points.point_inds:
        label.value = str(points.point_inds[0])


fig.data[0].on_click(on_click)
display(widgets.VBox([fig, label]))
"""


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    return nb


def _click_and_expect(page, graph, timings, prefix):
    # First point of the trace by name.
    t0 = time.monotonic()
    res = plotly_click_trace(page, graph, "pt")
    t1 = time.monotonic()
    wait_for_text(page, ".kw-test-label", "0")
    t2 = time.monotonic()
    timings[f"{prefix}click_helper_s"] = round(t1 - t0, 3)
    timings[f"{prefix}click_to_label_s"] = round(t2 - t1, 3)
    assert res["trace_index"] == 0
    assert res["hovered"], "plotly showed no hover data at the computed pixel"
    # A later point by index, then one by data coordinates: a wrong pixel mapping or a
    # stale hover would give another index.
    plotly_click_trace(page, graph, "pt", point=2)
    wait_for_text(page, ".kw-test-label", "2")
    plotly_click(page, graph, 1, 2)
    wait_for_text(page, ".kw-test-label", "1")


def test_lab_plotly_click_updates_label(lab, page, timings):
    lab.write_notebook("harness.ipynb", _notebook())
    timings["lab_server_start_s"] = round(lab.startup_s, 2)
    timings["open_to_idle_kernel_s"] = round(open_notebook(page, lab, "harness.ipynb"), 2)
    t0 = time.monotonic()
    run_all(page)
    graph = wait_for_plotly(page)
    wait_for_text(page, ".kw-test-label", "none")
    timings["run_all_to_figure_s"] = round(time.monotonic() - t0, 2)

    _click_and_expect(page, graph, timings, "")
    screenshot(page, "harness-lab")


def test_voila_plotly_click_updates_label(voila_server, page, timings, tmp_path):
    path = tmp_path / "harness.ipynb"
    nbformat.write(_notebook(), str(path))
    voila = voila_server(path)
    timings["voila_server_start_s"] = round(voila.startup_s, 2)
    t0 = time.monotonic()
    open_voila(page, voila)
    graph = wait_for_plotly(page)
    wait_for_text(page, ".kw-test-label", "none")
    timings["voila_page_to_figure_s"] = round(time.monotonic() - t0, 2)

    _click_and_expect(page, graph, timings, "voila_")
    screenshot(page, "harness-voila")
