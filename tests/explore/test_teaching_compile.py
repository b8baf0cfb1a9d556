"""CompileState (the KART demo's compile panel, no widgets) and its view through KARTDemo."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from kan_widgets.explore.teaching_compile import CompileState


def test_compiles_and_lists_every_edge_with_its_function():
    s = CompileState("x*y + sin(pi*x)")
    seen = []
    s.observe(lambda ch: seen.append(ch["new"]), "revision")
    m = s.model_
    assert m.width_spec == [2, [1, 1], 1] and s.error == ""
    assert [tuple(e.edge) for e in s.edges_] == [tuple(e) for e in m.edges("symbolic")]
    assert s.shown == len(s.edges_) == 5
    for ev in s.edges_:  # each edge's drawn values are the model's own edge values
        l, i, j = ev.edge
        x = torch.as_tensor(ev.t)[:, None].expand(-1, m.width[l]).contiguous()
        with torch.no_grad():
            ref = m.layers[l].activations(x)[:, j, i].numpy()
        np.testing.assert_allclose(ev.y, ref, rtol=0, atol=1e-12)
    sin = [ev for ev in s.edges_ if ev.name == "sin"][0]
    assert sin.text == "sin(3.142*x)"
    assert s.node_formulas_[1][1] == "x*y" and s.node_formulas_[0] == ["x", "y"]
    s.compile("exp(x)")
    assert seen == [s.revision] and s.model_.width_spec == [1, 1]


def test_bad_input_keeps_the_network_and_gives_the_parsers_reason():
    s = CompileState("x*y")
    model, rev = s.model_, s.revision
    s.compile("sin(x")
    assert "cannot read formula" in s.error and "never closed" in s.error
    assert s.model_ is model and s.text == "x*y" and s.revision == rev + 1
    s.compile("__import__('os')")
    assert "unknown function" in s.error
    s.compile("cot(x)")
    assert "not a function of the library" in s.error and "Rewrite it" in s.error
    s.compile("log(x)")
    assert "leaves the domain" in s.error
    s.compile("x + y")
    assert s.error == "" and s.text == "x + y"


def test_scene_draws_shown_edges_with_their_curves_in_boxes():
    s = CompileState("x*y + z*w")
    sc = s.scene()
    n_edges = len(s.edges_)
    assert n_edges == 6 and sc["height"] == 3
    assert sc["nodes"][3].count("mult") == 2 and sc["nodes"][3].count("input") == 4
    assert sc["curves"][0].count(None) == n_edges and sc["labels"][2] == [e.name for e in s.edges_]
    xs = [v for v in sc["curves"][0] if v is not None]
    assert 0 <= min(xs) and max(xs) <= 1.2
    s.show(2)
    sc = s.scene()
    assert s.shown == 2 and sc["curves"][0].count(None) == 2 and sc["faint"][0].count(None) == 4
    s.show(99)
    assert s.shown == n_edges
    with pytest.raises(ValueError, match="n must be an int"):
        s.show("all")


def test_state_module_imports_no_widgets():
    code = ("import sys\nimport kan_widgets.explore.teaching_compile\n"
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not {m for m in out.stdout.split() if m.split(".")[0] in ("ipywidgets", "plotly")}


def test_kart_demo_compile_panel():
    from kan_widgets import KARTDemo

    d = KARTDemo("x*y", steps=1)
    assert d._compiler is None  # nothing compiled until asked
    d.compile("exp(sin(pi*x) + y^2)")
    v = d.compile_view
    fig, ti = v.figure, v.trace_index
    assert d.compiler.model_.width_spec == [2, 1, 1]
    assert len([x for x in fig.data[ti["curves"]].x if x is not None]) == 3 * 60
    assert "[2, 1, 1]" in v.status.value and v.error_box.value == ""
    v.controls["text"].value = "sin(x"  # typed: the reason shows under the field
    assert "never closed" in v.error_box.value and v.controls["text"].value == "sin(x"
    assert d.compiler.text == "exp(sin(pi*x) + y^2)"
    v.controls["text"].value = "x*y*z"
    assert v.error_box.value == "" and "[3, [0, 1], 1]" in v.status.value
    v.controls["shown"].value = 1
    assert d.compiler.shown == 1 and len(fig.data[ti["labels"]].x) == 1
    assert v.table.value.count("<tr>") == 2  # header + the one shown edge
    d.show_edges(3)
    assert v.controls["shown"].value == 3
