"""``model.plot()``: the Explorer's network drawing as a static plotly ``Figure``, for papers,
slides and files; ``write_image`` exports it to PNG, SVG or PDF.

The drawing is the Explorer's (``explore.layout`` places the cells, ``explore.scene`` the
curves, ``network_view`` the colours): one matrix of edge cells per layer, each edge's curve in
its cell. Curves are grouped into traces per edge mode (``legendgroup`` = ``"spline"``,
``"symbolic"``, ``"pruned"``) and, within a mode, per opacity or colour level, so even a large
model is a few dozen traces.

Static export goes through plotly's ``write_image``, which needs the ``kaleido`` package
(version 1 or later) and a Chrome or Chromium browser on the machine; kaleido finds a system
Chromium (``/usr/bin/chromium``) by itself, or the one named by ``BROWSER_PATH``. When either
is missing, ``write_image`` and ``to_image`` of the returned figure say what to install.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from ..explore.layout import NetworkLayout
from ..explore.scene import ALPHA_LEVELS, build_scene
from .network_view import MODE_COLORS, _rgba, group_shapes, node_marker

__all__ = ["network_figure", "NetworkFigure", "find_browser", "COLOR_MODES"]

COLOR_MODES = ("mode", "score")
SCORE_LEVELS = 8  # colour buckets of color="score"
SCORE_SCALE = "Viridis"
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_INSTALL = ("static image export needs the kaleido package (pip install 'kaleido>=1', or "
            "pip install 'kan_widgets[test]') and a Chrome or Chromium browser (e.g. apt install "
            "chromium, or run plotly_get_chrome); if the browser is installed in an unusual "
            "place, set the environment variable BROWSER_PATH to its executable")


def find_browser() -> str | None:
    """The Chrome/Chromium executable kaleido can use: ``BROWSER_PATH``, else the first of
    the usual names on ``PATH``; None when there is none."""
    env = os.environ.get("BROWSER_PATH")
    if env and os.path.isfile(env) and os.access(env, os.X_OK):
        return env
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class NetworkFigure(go.Figure):
    """A plotly ``Figure`` whose image export explains what is missing (see module doc)."""

    def to_image(self, *args, **kwargs):
        _check_export()
        try:
            return super().to_image(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - re-raised unless it is the missing browser
            _explain(err)
            raise

    def write_image(self, *args, **kwargs):
        _check_export()
        try:
            return super().write_image(*args, **kwargs)
        except Exception as err:  # noqa: BLE001
            _explain(err)
            raise


def _check_export():
    try:
        import kaleido  # noqa: F401
    except ImportError:
        raise RuntimeError(f"kaleido is not installed: {_INSTALL}") from None


def _explain(err):
    if find_browser() is None and "chrom" in f"{type(err).__name__} {err}".lower():
        raise RuntimeError(f"no Chrome or Chromium found: {_INSTALL}") from err


def network_figure(model, *, color="mode", show_pruned=True, scores=True, width_px=640,
                   title=None) -> NetworkFigure:
    """The network of ``model`` as a static plotly figure (what ``KAN.plot`` returns).

    Parameters
    ----------
    model : KAN
    color : ``"mode"`` (the Explorer's colours: splines dark, symbolic edges red, opacity by
        attribution score) or ``"score"`` (every live edge coloured by its attribution score,
        on a colour bar; symbolic edges drawn thicker)
    show_pruned : draw pruned edges (dotted grey) or leave their cells empty
    scores : attribution scores per layer (``model.attribution(X)[0]``); True uses the stored
        ``edge_scores_`` or computes them on the last fit's inputs; False draws without
    width_px : figure width in pixels (the height follows the layout)
    title : optional figure title

    Returns
    -------
    NetworkFigure (a ``plotly.graph_objects.Figure``)
    """
    if color not in COLOR_MODES:
        raise ValueError(f"color must be one of {COLOR_MODES}; got {color!r}")
    if isinstance(width_px, bool) or not isinstance(width_px, (int, np.integer)) \
            or width_px < 100:
        raise ValueError(f"width_px must be an int >= 100; got {width_px!r}")
    lay = NetworkLayout.from_model(model, model.variables_, model.output_names_)
    scene = build_scene(model, lay, scores=scores)
    live = scene.modes != "pruned"
    if color == "score" and (not live.any() or np.isnan(scene.scores[live]).all()):
        raise ValueError("color='score' needs attribution scores: fit the model first, call "
                         "model.attribute(X), or pass scores=model.attribution(X)[0]")
    quiet = dict(hoverinfo="skip", showlegend=False)
    wx, wy = lay.wires()
    traces = [go.Scatter(x=wx, y=wy, mode="lines", name="wires",
                         line=dict(color="rgba(120,120,120,0.35)", width=1), **quiet)]
    traces += _mode_traces(scene) if color == "mode" else _score_traces(scene)
    if show_pruned:
        x, y = scene.paths("pruned")
        traces.append(go.Scatter(x=x, y=y, mode="lines", name="pruned", legendgroup="pruned",
                                 line=dict(color=_rgba(MODE_COLORS["pruned"], 0.8), width=1,
                                           dash="dot"), **quiet))
    traces += _node_traces(lay)
    axis = dict(visible=False)
    top = 40 if title else 8
    fig = NetworkFigure(data=traces, layout=go.Layout(
        width=int(width_px), height=lay.height_px + top - 8, showlegend=False,
        margin=dict(l=8, r=8 + (70 if color == "score" else 0), t=top, b=8),
        xaxis=dict(range=list(lay.x_range), **axis), yaxis=dict(range=list(lay.y_range), **axis),
        plot_bgcolor="white", paper_bgcolor="white", title=title, shapes=group_shapes(lay)))
    return fig


def _mode_traces(scene):
    """The Explorer's groups: one trace per (mode, opacity level)."""
    out = []
    for m in ("spline", "symbolic"):
        for k, alpha in enumerate(ALPHA_LEVELS):
            x, y = scene.paths(m, k)
            out.append(go.Scatter(x=x, y=y, mode="lines", name=f"{m} {alpha:.2f}",
                                  legendgroup=m, hoverinfo="skip", showlegend=False,
                                  line=dict(color=_rgba(MODE_COLORS[m], alpha), width=1.6)))
    return out


def _score_traces(scene):
    """One trace per (mode, score bucket), coloured on ``SCORE_SCALE``, and a colour bar."""
    s = np.nan_to_num(scene.scores, nan=0.0)
    top = float(s[scene.modes != "pruned"].max(initial=0.0)) or 1.0
    bucket = np.minimum((s / top * SCORE_LEVELS).astype(int), SCORE_LEVELS - 1)
    colors = sample_colorscale(SCORE_SCALE, [(b + 0.5) / SCORE_LEVELS
                                             for b in range(SCORE_LEVELS)])
    out = []
    for m, w in (("spline", 1.6), ("symbolic", 2.8)):
        for b in range(SCORE_LEVELS):
            sel = (scene.modes == m) & (bucket == b)
            x, y = _paths(scene, np.flatnonzero(sel))
            out.append(go.Scatter(x=x, y=y, mode="lines", name=f"{m} score {b}", legendgroup=m,
                                  hoverinfo="skip", showlegend=False,
                                  line=dict(color=colors[b], width=w)))
    out.append(go.Scatter(x=[None], y=[None], mode="markers", name="score scale",
                          hoverinfo="skip", showlegend=False,
                          marker=dict(colorscale=SCORE_SCALE, cmin=0.0, cmax=top, color=[0.0],
                                      showscale=True, colorbar=dict(title="score", len=0.6))))
    return out


def _paths(scene, idx):
    return scene.curves_of(idx) if len(idx) else (np.array([]), np.array([]))


def _node_traces(lay):
    """Nodes with their names (hidden names left out when they would overlap) and the row
    labels of each band, as the Explorer draws them."""
    quiet = dict(hoverinfo="skip", showlegend=False)
    nx, ny = np.concatenate(lay.node_x), np.concatenate(lay.node_y)
    labels = [s for row in lay.node_labels for s in row]
    n_in, n_out = lay.width[0], lay.width[-1]
    pos = (["bottom center"] * n_in + ["middle right"] * (len(labels) - n_in - n_out)
           + ["top center"] * n_out)
    shown = list(labels)
    if sum(lay.width[1:-1]) > 12:
        shown[n_in:len(labels) - n_out] = [""] * (len(labels) - n_in - n_out)
    rx, ry, rt = zip(*lay.row_labels)
    return [go.Scatter(x=nx, y=ny, mode="markers+text", name="nodes", text=shown,
                       textposition=pos, textfont=dict(size=12),
                       marker=node_marker(lay), **quiet),
            go.Scatter(x=rx, y=ry, mode="text", text=rt, name="rows",
                       textposition="middle left",
                       textfont=dict(size=10, color="rgb(110,110,110)"), **quiet)]
