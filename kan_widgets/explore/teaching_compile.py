"""``CompileState``: a typed formula and the KAN that computes it, edge by edge (no widgets).

``compile(text)`` reads the formula with the safe parser and builds the network with
``compile_formula``: every edge a library function, sums at sum nodes, products at
multiplication nodes. ``scene()`` gives what ``KARTDemo``'s compile panel draws, as plain
numbers: the nodes, each edge as a line, and each edge's function as a small curve drawn at
the middle of its edge (its input over the domain on the x axis of a little box, its output
on the y axis). ``show(n)`` reveals the edges one at a time, input side first, so a learner
can follow how the value is built.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from traitlets import Int, Unicode

from ..core.edges import EdgeId
from .teaching_common import TeachingState

__all__ = ["CompileState", "EdgeView"]

BOX_W, BOX_H = 0.13, 0.3  # an edge's function box, in layout units (layers are 1 apart)
SUB_DROP = 0.2  # sub-nodes of a multiplication node sit this far below it
N_CURVE = 60  # points per edge curve


class EdgeView(NamedTuple):
    """One live edge of the compiled network.

    edge : EdgeId; name : library function; text : ``c*f(a*u + b) + d`` with numbers;
    t, y : (N_CURVE,) its input over the domain and its output there
    """

    edge: EdgeId
    name: str
    text: str
    t: np.ndarray
    y: np.ndarray


def _num(v: float) -> str:
    return f"{v:.4g}"


def _edge_text(name, a, b, c, d, u="u") -> str:
    arg = u if a == 1.0 else f"{_num(a)}*{u}"
    arg = arg if b == 0 else f"{arg} {'+' if b >= 0 else '-'} {_num(abs(b))}"
    par = arg if arg == u and (u.isidentifier() or u.startswith("[")) else f"({arg})"
    if name == "x":
        core = par if par != arg else arg
    elif name.startswith("x^"):
        core = f"{par}^{name[2:]}"
    elif name.startswith("1/x"):
        core = f"1/{par}{name[3:]}"
    elif name == "1/sqrt(x)":
        core = f"1/sqrt({arg})"
    else:
        core = f"{name}({arg})"
    out = core if c == 1.0 else f"{_num(c)}*{core}"
    return out if d == 0 else f"{out} {'+' if d >= 0 else '-'} {_num(abs(d))}"


class CompileState(TeachingState):
    """A formula typed by the learner and the KAN ``compile_formula`` builds for it.

    Parameters
    ----------
    text : the first formula (``^`` is a power); any variable names
    ranges : the domain of every variable, ``(low, high)``

    Traits (read-only; change them with ``compile`` and ``show``)
    -------------------------------------------------------------
    text : the formula last compiled without error
    error : the reason the last typed formula was refused (the parser's or the compiler's
        message), ``""`` when it compiled
    shown : edges revealed (``show``); all of them after each ``compile``
    revision : bumped after every command

    Attributes
    ----------
    model_ : the compiled KAN (None before the first good formula)
    node_formulas_ : per node-layer, what each node computes (text, 4 decimals)
    edges_ : list of EdgeView, layer by layer (the order ``show`` reveals them in)
    """

    text = Unicode("", read_only=True)
    error = Unicode("", read_only=True)
    shown = Int(0, read_only=True)

    def __init__(self, text="exp(sin(pi*x) + y^2)", ranges=(-1.0, 1.0)):
        super().__init__()
        self.ranges = tuple(float(v) for v in ranges)
        self.model_, self.edges_, self.node_formulas_ = None, [], []
        self.compile(text)

    # ------------------------------------------------------------------ commands
    def compile(self, text):
        """Compile ``text``; on a bad formula keep the last network and set ``error`` to the
        reason (nothing raised: the view shows it in place). Returns self."""
        from ..symbolic.compiler import compile_formula, node_formulas  # sympy: on first use

        with self.lock:
            try:
                model = compile_formula(str(text), ranges=self.ranges, n_samples=500)
            except (ValueError, TypeError) as e:
                self._update(error=str(e))
                self._changed()
                return self
            self.node_formulas_ = [[str(e) for e in layer] for layer in node_formulas(model)]
            self.model_, self.edges_ = model, self._edge_views(model)
            self._update(text=str(text), error="", shown=len(self.edges_))
            self._changed()
        return self

    def show(self, n):
        """Reveal the first ``n`` edges (clamped to 0 .. all). Returns self."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise ValueError(f"show(n): n must be an int; got {n!r}")
        with self.lock:
            self._update(shown=max(0, min(int(n), len(self.edges_))))
            self._changed()
        return self

    # ------------------------------------------------------------------ reading
    def _edge_views(self, model) -> list[EdgeView]:
        out = []
        with torch.no_grad():
            for l, layer in enumerate(model.layers):
                lo, hi = layer.knots[:, layer.k], layer.knots[:, -layer.k - 1]  # inputs' span
                t = lo + (hi - lo) * torch.linspace(0, 1, N_CURVE, dtype=lo.dtype)[:, None]
                acts = layer.activations(t)  # (N, n_out, n_in)
                for i, j in sorted(layer.sym_names):
                    if layer.mask[i, j] == 0:
                        continue
                    a, b, c, d = (float(v) for v in layer.sym_affine[i, j])
                    name = layer.sym_names[(i, j)]
                    u = self.node_formulas_[l][i]
                    u = u if len(u) <= 24 and (l == 0 or u.isidentifier()) else f"[{u[:40]}]"
                    out.append(EdgeView(EdgeId(l, i, j), name, _edge_text(name, a, b, c, d, u),
                                        t[:, i].numpy().copy(), acts[:, j, i].numpy().copy()))
        return out

    def node_label(self, m: int, i: int, model=None) -> str:
        """Input names for node-layer 0; else ``"+"`` (sum node) or ``"×"`` (product)."""
        model = self.model_ if model is None else model
        if m == 0:
            return model.variables_[i]
        lay = model.mult_layout(m)
        return "+" if i < lay.n_sum else "\u00d7"

    def node_positions(self) -> dict:
        """``{(m, i): (x, y)}`` of every node, and ``("sub", m, s)`` of every sub-node of a
        multiplication node (where its factor's edges end). Inputs at y = 0, outputs on top."""
        model, pos = self.model_, {}
        for m, n in enumerate(model.width):
            for i in range(n):
                pos[(m, i)] = ((i + 0.5) / n, float(m))
            if m == 0:
                continue
            lay = model.mult_layout(m)
            for i in range(n):
                subs = lay.sub_nodes(i)
                for r, s in enumerate(subs):
                    off = 0.0 if len(subs) == 1 else (r - (len(subs) - 1) / 2) * 0.5 / max(n, 2)
                    pos[("sub", m, s)] = (pos[(m, i)][0] + off,
                                          float(m) - (0.0 if len(subs) == 1 else SUB_DROP))
        return pos

    def scene(self) -> dict:
        """What the view draws, as plain lists (``None`` separates polylines).

        Returns
        -------
        dict with ``nodes`` (x, y, text, kind, formula per node; kind ``"sub"`` for the
        factors of a multiplication node, linked to it in ``edges``), ``edges`` (x, y polylines of the
        shown edges; ``faint`` the hidden ones), ``curves`` (x, y of each shown edge's
        function in its box), ``boxes`` (x, y outlines), ``labels`` (x, y, text of each shown
        edge: its function name; ``hover`` its full text) and ``height`` in layers.
        """
        if self.model_ is None:
            return {"nodes": ([], [], [], [], []), "edges": ([], []), "faint": ([], []),
                    "curves": ([], []), "boxes": ([], []), "labels": ([], [], [], []),
                    "height": 1}
        pos = self.node_positions()
        model = self.model_
        nodes = ([], [], [], [], [])
        for m, n in enumerate(model.width):
            for i in range(n):
                x, y = pos[(m, i)]
                kind = "input" if m == 0 else ("sum" if i < model.mult_layout(m).n_sum
                                                 else "mult")
                for lst, v in zip(nodes, (x, y, self.node_label(m, i), kind,
                                          self.node_formulas_[m][i])):
                    lst.append(v)
        links = ([], [])  # sub-node -> its multiplication node
        for m in range(1, len(model.width)):
            lay = model.mult_layout(m)
            for i in range(lay.n_sum, lay.n_nodes):
                for r, s in enumerate(lay.sub_nodes(i)):
                    (sx, sy), (x, y) = pos[("sub", m, s)], pos[(m, i)]
                    for lst, v in zip(nodes, (sx, sy, "", "sub", f"factor {r + 1} of "
                                              f"{self.node_formulas_[m][i]}")):
                        lst.append(v)
                    links[0].extend([sx, x, None])
                    links[1].extend([sy, y, None])
        edges, faint, curves, boxes, labels = links, ([], []), ([], []), ([], []), \
            ([], [], [], [])
        for k, ev in enumerate(self.edges_):
            l, i, j = ev.edge
            (x0, y0), (x1, y1) = pos[(l, i)], pos[("sub", l + 1, j)]
            target = edges if k < self.shown else faint
            target[0].extend([x0, x1, None])
            target[1].extend([y0, y1, None])
            if k >= self.shown:
                continue
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            w = min(BOX_W, 0.45 / max(model.width[l], model.width_out[l + 1], 1))
            tt = (ev.t - ev.t[0]) / max(ev.t[-1] - ev.t[0], 1e-12)
            span = float(np.ptp(ev.y))
            yy = (ev.y - ev.y.min()) / span if span > 1e-12 * max(1.0, abs(ev.y).max()) \
                else np.full_like(ev.y, 0.5)
            curves[0].extend([*(mx - w / 2 + w * tt).tolist(), None])
            curves[1].extend([*(my - BOX_H / 2 + BOX_H * yy).tolist(), None])
            bx = [mx - w / 2, mx + w / 2, mx + w / 2, mx - w / 2, mx - w / 2, None]
            by = [my - BOX_H / 2, my - BOX_H / 2, my + BOX_H / 2, my + BOX_H / 2,
                  my - BOX_H / 2, None]
            boxes[0].extend(bx)
            boxes[1].extend(by)
            for lst, v in zip(labels, (mx + w / 2, my + BOX_H / 2, ev.name, ev.text)):
                lst.append(v)
        return {"nodes": nodes, "edges": edges, "faint": faint, "curves": curves,
                "boxes": boxes, "labels": labels, "height": len(model.width)}

    def summary(self) -> str:
        """One line: the width and what the network does."""
        if self.model_ is None:
            return "no network yet"
        m = self.model_
        n_mult = sum(len(a) for a in m.mult_arity)
        return (f"{self.text}: KAN width {m.width_spec}, {len(self.edges_)} edges, "
                f"{n_mult} multiplication node{'s' * (n_mult != 1)}, depth {m.depth}")

    def describe(self) -> str:
        return f"text={self.text!r}, ranges={self.ranges}, shown={self.shown}" + (
            f", error={self.error[:40]!r}" if self.error else "")
