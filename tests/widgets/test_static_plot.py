"""``model.plot()``: the network as a static plotly figure, its image export, and the hook that
keeps plotly out of core; pykan's spellings that point to ours."""

import copy
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import plotly.graph_objects as go
import pytest

import kan_widgets as kw
from kan_widgets.core import plotting
from kan_widgets.explore.scene import ALPHA_LEVELS
from kan_widgets.widgets.static_plot import SCORE_LEVELS, find_browser


@pytest.fixture(scope="module")
def mixed(fitted):
    """The toy KAN with one symbolic and one pruned edge."""
    m = copy.deepcopy(fitted)
    m.fix_symbolic((0, 0, 0), "sin")
    m.prune_edge((0, 1, 4))
    return m


def _group(fig, mode):
    return [t for t in fig.data if t.legendgroup == mode]


def _n_curves(traces):
    """Curves in NaN-separated traces (each curve ends with one NaN)."""
    return sum(int(np.isnan(np.asarray(t.x, dtype=float)).sum()) for t in traces)


def test_plot_returns_one_trace_group_per_edge_mode(mixed):
    fig = mixed.plot()
    assert isinstance(fig, go.Figure)
    assert {t.legendgroup for t in fig.data if t.legendgroup} == {"spline", "symbolic", "pruned"}
    assert len(_group(fig, "spline")) == len(_group(fig, "symbolic")) == len(ALPHA_LEVELS)
    n = {m: len(mixed.edges(m)) for m in ("spline", "symbolic", "pruned")}
    assert n == {"spline": 13, "symbolic": 1, "pruned": 1}
    for mode, count in n.items():
        assert _n_curves(_group(fig, mode)) == count
    assert fig.layout.width == 640 and fig.layout.height > 200
    names = [t.text for t in fig.data if t.name == "nodes"][0]
    assert names[:2] == ("x", "y")  # the toy's variable names


def test_plot_options(mixed):
    fig = mixed.plot(color="score", show_pruned=False, title="toy", width_px=500)
    assert not _group(fig, "pruned")
    assert len(_group(fig, "spline")) == SCORE_LEVELS
    assert _n_curves(_group(fig, "spline")) == 13 and _n_curves(_group(fig, "symbolic")) == 1
    bar = [t for t in fig.data if t.name == "score scale"]
    assert len(bar) == 1 and bar[0].marker.showscale
    assert fig.layout.title.text == "toy" and fig.layout.width == 500
    plain = mixed.plot(scores=False)
    assert _n_curves(_group(plain, "spline")) == 13
    with pytest.raises(ValueError, match="color must be one of"):
        mixed.plot(color="rainbow")
    with pytest.raises(ValueError, match="width_px"):
        mixed.plot(width_px=10)
    with pytest.raises(ValueError, match="needs attribution scores"):
        kw.KAN([2, 3, 1]).plot(color="score")  # never fitted: no scores


def test_pykan_plot_arguments_say_what_to_do(mixed):
    with pytest.raises(TypeError, match=r"pykan's plot.*write_image"):
        mixed.plot(folder="./figures")
    with pytest.raises(TypeError, match="beta"):
        mixed.plot(beta=3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        mixed.plot(colour="mode")


def test_without_a_plotter_core_says_what_to_import(mixed):
    previous = plotting.set_plotter(None)
    try:
        with pytest.raises(RuntimeError, match="import kan_widgets"):
            mixed.plot()
    finally:
        plotting.set_plotter(previous)
    with pytest.raises(TypeError, match="callable"):
        plotting.set_plotter("plotly")


def test_plotly_is_imported_only_when_plot_is_called():
    code = ("import sys, kan_widgets\n"
            "before = 'plotly' in sys.modules\n"
            "kan_widgets.KAN([1, 2, 1]).plot(scores=False)\n"
            "print(before, 'plotly' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def _png_pixels(data: bytes) -> np.ndarray:
    """Decode an 8-bit, non-interlaced RGB(A) PNG (what Chromium writes) to (h, w, c)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, head = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = head
    assert depth == 8 and ctype in (2, 6) and interlace == 0
    c = 3 if ctype == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * c)
    out = np.zeros((h, w * c), np.int32)
    for r in range(h):  # undo the per-row filters
        f, line = raw[r, 0], raw[r, 1:].astype(np.int32)
        prev = out[r - 1] if r else np.zeros(w * c, np.int32)
        if f == 0:
            out[r] = line
        elif f == 2:
            out[r] = (line + prev) % 256
        else:
            cur = np.zeros(w * c, np.int32)
            for i in range(w * c):
                a = cur[i - c] if i >= c else 0
                b, d = prev[i], prev[i - c] if i >= c else 0
                if f == 1:
                    pred = a
                elif f == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - d
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - d)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else d)
                cur[i] = (line[i] + pred) % 256
            out[r] = cur
    return out.reshape(h, w, c)


def test_static_export_writes_a_png_with_the_drawing(mixed, tmp_path):
    if find_browser() is None and not os.environ.get("KW_REQUIRE_BROWSER"):
        pytest.skip("no Chrome or Chromium on this machine (set KW_REQUIRE_BROWSER=1 to fail)")
    pytest.importorskip("kaleido", reason="kaleido is in the test extra: pip install -e .[test]")
    fig = mixed.plot(width_px=400)
    path = tmp_path / "net.png"
    fig.write_image(path, scale=1)
    px = _png_pixels(path.read_bytes())
    assert px.shape[:2] == (fig.layout.height, 400)
    ink = (px[..., :3] < 235).any(-1)  # anything not (near) white
    assert 0.01 * ink.size < ink.sum() < 0.5 * ink.size
    svg = tmp_path / "net.svg"
    fig.write_image(svg)
    assert svg.read_text().lstrip().startswith("<svg") and "path" in svg.read_text()


def test_export_without_kaleido_says_what_to_install(mixed, monkeypatch):
    monkeypatch.setitem(sys.modules, "kaleido", None)  # import kaleido now fails
    with pytest.raises(RuntimeError, match=r"pip install 'kaleido>=1'.*Chromium"):
        mixed.plot().write_image("never.png")
    with pytest.raises(RuntimeError, match="kaleido is not installed"):
        mixed.plot().to_image(format="png")


def test_pykan_spellings_point_to_ours(mixed, toy):
    m = copy.deepcopy(mixed)
    with pytest.raises(TypeError, match=r"model\.fit\(dataset"):
        m.train(toy, steps=3)
    with pytest.raises(TypeError, match="fit"):
        m.train({"train_input": toy.X_train}, opt="LBFGS")
    for name, ours in [("update_grid_from_samples", "update_grid"), ("saveckpt", "save"),
                       ("loadckpt", "KAN.load"), ("get_act", "activations"),
                       ("symbolic_formula", "formula"), ("ckpt", "save")]:
        with pytest.raises(AttributeError, match=rf"pykan's name\); here use .*{ours}"):
            getattr(m, name)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'$"):
        m.nonsense  # noqa: B018
    assert m.eval() is m and not m.training
    assert m.train() is m and m.training
    assert hasattr(m, "layers") and not hasattr(m, "saveckpt")
