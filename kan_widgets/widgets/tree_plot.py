"""``StructureTree.plot()``: the tree of a function's structure as a static plotly figure.

Inputs sit on the bottom row, the root on top (as pykan's ``plot_tree``). Three traces: the
links (one line trace, segments separated by ``None``), the operation nodes (markers with
their symbol: ``+`` sum, ``×`` product, ``G`` generalized, ``F`` composite, ``?`` entangled,
the split's statistic on hover) and the inputs (text labels).
"""

from __future__ import annotations

import plotly.graph_objects as go

__all__ = ["tree_figure", "KIND_COLORS"]

KIND_COLORS = {"sum": "#1f77b4", "product": "#d62728", "generalized": "#2ca02c",
               "composite": "#9467bd", "entangled": "#7f7f7f"}


def tree_figure(tree, *, width_px=None, height_px=None, title=None) -> go.Figure:
    """The figure of ``tree`` (a ``StructureTree``); see the module doc for its traces."""
    lay = tree.layout()
    nodes, edges = lay["nodes"], lay["edges"]
    lx, ly = [], []
    for child, parent in edges:
        lx += [nodes[child][0], nodes[parent][0], None]
        ly += [nodes[child][1], nodes[parent][1], None]
    ops = [n for n in nodes if n[2] != "variable"]
    leaves = [n for n in nodes if n[2] == "variable"]
    hover = [f"{n[2]}" + ("" if n[4] is None else f"<br>statistic {n[4]:.2g}") for n in ops]
    traces = [
        go.Scatter(x=lx, y=ly, mode="lines", line=dict(color="#444", width=2),
                   hoverinfo="skip", name="links", showlegend=False),
        go.Scatter(x=[n[0] for n in ops], y=[n[1] for n in ops], mode="markers+text",
                   text=[n[3] for n in ops], textfont=dict(color="white", size=16),
                   marker=dict(size=30, color=[KIND_COLORS[n[2]] for n in ops],
                               line=dict(color="white", width=1)),
                   hovertext=hover, hoverinfo="text", name="operations", showlegend=False),
        go.Scatter(x=[n[0] for n in leaves], y=[n[1] for n in leaves], mode="markers+text",
                   text=[n[3] for n in leaves], textposition="bottom center",
                   textfont=dict(size=15), marker=dict(size=10, color="#444"),
                   hoverinfo="text", hovertext=[n[3] for n in leaves], name="inputs",
                   showlegend=False),
    ]
    n_leaves = max(1, len(leaves))
    height = max(1.0, max(n[1] for n in nodes))
    fig = go.Figure(traces)
    fig.update_layout(
        title=title or f"structure: {tree.text()}",
        width=width_px or max(320, 110 * n_leaves), height=height_px or 140 + 110 * height,
        plot_bgcolor="white", margin=dict(l=20, r=20, t=50, b=20),
        xaxis=dict(visible=False, range=[-0.6, n_leaves - 0.4]),
        yaxis=dict(visible=False, range=[-0.5, height + 0.4]))
    return fig
