"""Where every node and edge cell of a KAN goes on the network plot, as plain numbers.

The layout is a stack of *bands*, inputs at the bottom and outputs at the top, one band per
layer between two rows of nodes. Inside the band of layer ``l`` the edge cells form a matrix:
column ``i`` sits right above source node ``i`` and row ``j`` holds the edges into destination
node ``j`` (labelled at the left). In a layer that feeds multiplication nodes the rows are
*sub-nodes*: a sum node has one row, a multiplication node one row per factor, and the rows of
one product are grouped (``groups``: a box behind them, drawn by the view) under the product
node, which the view draws with its own glyph (x in a circle). A pykan-style drawing (one
box on the line from source to destination) overlaps beyond a few dozen edges; the matrix
stays readable from ``[1, 1]`` to ``[4, 10, 10, 1]`` (200 edges) because each band grows with
its number of rows.

Coordinates are abstract: x in ``[0, 1]``, y from 0 (input nodes) upwards in row units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.edges import EdgeId
from ..core.mult import MultLayout

__all__ = ["NetworkLayout"]

NODE_GAP = 0.9  # height between a node row and the band next to it, in row units
CELL_FILL = 0.86  # a cell's box uses this fraction of its slot (the rest is the gutter)


@dataclass
class NetworkLayout:
    """Positions of nodes and edge cells of a KAN of ``width``.

    Attributes
    ----------
    width : nodes per layer, inputs first
    edges : every edge, in ``model.edges()`` order (layer, src, dst; ``dst`` is a sub-node);
        edge ``n`` owns ``cells[n]``
    cells : (n_edges, 4) float array ``[x0, x1, y0, y1]`` of each edge's box
    node_x, node_y : one (width[m],) array per node row ``m``
    node_labels : one list of names per node row (input and output names, hidden ``hm.j``)
    node_kinds : one list per node row: "sum" or "mult" (a multiplication node)
    sub_labels : one list per node row of the names of its sub-nodes (what edges go to): the
        node's name for a sum node, ``"h1.2 ×1"``, ``"h1.2 ×2"`` for the factors of a product
    row_labels : ``(x, y, text)`` of each matrix row, naming the destination (sub-)node
    groups : ``(m, j, x0, x1, y0, y1)`` per multiplication node ``j`` of node row ``m``: the
        box around the rows of its factors
    x_range, y_range : the axes' ranges that show everything
    height_px : a figure height in pixels that keeps the rows readable
    """

    width: list[int]
    edges: list[EdgeId]
    cells: np.ndarray
    node_x: list[np.ndarray]
    node_y: list[np.ndarray]
    node_labels: list[list[str]]
    row_labels: list[tuple[float, float, str]]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    height_px: int
    node_kinds: list = field(default_factory=list)
    sub_labels: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    index: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_model(cls, model, input_names=None, output_names=None, **kw):
        """Lay out ``model`` (its width and multiplication nodes)."""
        return cls.from_width(model.width, input_names, output_names,
                              mult_arity=model.mult_arity, **kw)

    @classmethod
    def from_width(cls, width, input_names=None, output_names=None, row_px=30, max_height=1100,
                   mult_arity=None):
        """Lay out a network of ``width``; names default to ``x_1..`` and ``y_1..``.

        ``width`` counts nodes per layer; ``mult_arity`` (``model.mult_arity``: one list per
        node row of the arities of its multiplication nodes, which are its last nodes) makes
        the rows of the band below such a row sub-nodes. ``row_px`` is the target height of
        one matrix row in pixels; the suggested figure height is capped at ``max_height``
        (rows then shrink).
        """
        width = [int(w) for w in width]
        if len(width) < 2 or min(width) < 1:
            raise ValueError(f"width needs at least two layers of >= 1 node; got {width}")
        arity = [list(a) for a in mult_arity] if mult_arity else [[] for _ in width]
        if len(arity) != len(width) or any(len(a) > w for a, w in zip(arity, width)):
            raise ValueError(f"mult_arity {mult_arity} does not fit width {width}")
        mults = [MultLayout(w - len(a), a) for w, a in zip(width, arity)]
        n_in, n_out = width[0], width[-1]
        inputs = list(input_names) if input_names else [f"x_{i + 1}" for i in range(n_in)]
        outputs = list(output_names) if output_names else (
            ["y"] if n_out == 1 else [f"y_{j + 1}" for j in range(n_out)])
        if len(inputs) != n_in or len(outputs) != n_out:
            raise ValueError(f"{len(inputs)} input / {len(outputs)} output names for width {width}")

        hidden = [[f"h{m}.{j}" for j in range(width[m])] for m in range(1, len(width) - 1)]
        node_labels = [inputs, *hidden, outputs]
        sub_labels = [[name if j < lay.n_sum else f"{name} ×{k + 1}"
                       for j, name in enumerate(names)
                       for k in range(len(lay.sub_nodes(j)))]
                      for names, lay in zip(node_labels, mults)]
        xs = [(np.arange(w) + 0.5) / w for w in width]  # nodes evenly spread over [0, 1]
        ys, cells, edges, row_labels, groups = [], [], [], [], []
        y = 0.0
        for l in range(len(width) - 1):
            ys.append(np.full(width[l], y))
            a, b = width[l], mults[l + 1].n_sub  # rows: the sub-nodes of the next node row
            y0 = y + NODE_GAP  # band bottom
            col_w = 1.0 / a
            # one (a, b) block of cells, built with array ops (no loop over edges)
            i, j = np.meshgrid(np.arange(a), np.arange(b), indexing="ij")
            cx = (i + 0.5) * col_w
            cy = y0 + j + 0.5
            hw, hh = 0.5 * col_w * CELL_FILL, 0.5 * CELL_FILL
            block = np.stack([cx - hw, cx + hw, cy - hh, cy + hh], -1).reshape(-1, 4)
            cells.append(block)
            edges += [EdgeId(l, int(s), int(d)) for s, d in zip(i.ravel(), j.ravel())]
            row_labels += [(-0.01, y0 + d + 0.5, f"→ {sub_labels[l + 1][d]}") for d in range(b)]
            nxt = mults[l + 1]
            for j in range(nxt.n_sum, nxt.n_nodes):  # the rows of one product, boxed
                subs = nxt.sub_nodes(j)
                groups.append((l + 1, j, -0.15, 1.0, y0 + subs[0] + 0.04,
                               y0 + subs[-1] + 0.96))
            y = y0 + b + NODE_GAP  # band top plus the gap to the next node row
        ys.append(np.full(n_out, y))
        rows = sum(m.n_sub for m in mults[1:]) + 2 * NODE_GAP * (len(width) - 1) + 1.2
        height = int(min(max_height, max(260, rows * row_px + 60)))
        layout = cls(width=width, edges=edges, cells=np.concatenate(cells), node_x=xs, node_y=ys,
                     node_labels=node_labels, row_labels=row_labels,
                     x_range=(-0.16, 1.01), y_range=(-0.6, y + 0.6), height_px=height,
                     node_kinds=[["sum"] * m.n_sum + ["mult"] * m.n_mult for m in mults],
                     sub_labels=sub_labels, groups=groups)
        layout.index = {e: n for n, e in enumerate(edges)}
        return layout

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    def cell_polygons(self) -> tuple[np.ndarray, np.ndarray]:
        """Closed outlines of every cell: two (n_edges, 5) arrays (x, y), for filled traces."""
        x0, x1, y0, y1 = self.cells.T
        px = np.stack([x0, x1, x1, x0, x0], 1)
        py = np.stack([y0, y0, y1, y1, y0], 1)
        return px, py

    def outline(self, edges) -> tuple[np.ndarray, np.ndarray]:
        """Outlines of ``edges`` joined into one NaN-separated path (x, y), for one trace."""
        idx = [self.index[EdgeId(*e)] for e in edges]
        if not idx:
            return np.array([]), np.array([])
        px, py = self.cell_polygons()
        gap = np.full((len(idx), 1), np.nan)
        return (np.concatenate([px[idx], gap], 1).ravel(),
                np.concatenate([py[idx], gap], 1).ravel())

    def wires(self) -> tuple[np.ndarray, np.ndarray]:
        """Faint guide lines: each node to the band above (its column) and the band below
        (its row), NaN-separated, so the matrix reads as a network."""
        segs = []
        for l in range(len(self.width) - 1):
            a, b = self.width[l], len(self.sub_labels[l + 1])
            block = self.cells[[self.index[EdgeId(l, 0, 0)]]][0]
            band_y0 = block[2] - (1 - CELL_FILL) / 2
            band_y1 = band_y0 + b
            for i in range(a):  # source node up to its column
                segs.append(((self.node_x[l][i], self.node_y[l][i]), (self.node_x[l][i], band_y0)))
            for j in range(self.width[l + 1]):  # band top down from each destination node
                segs.append(((self.node_x[l + 1][j], self.node_y[l + 1][j]),
                             (self.node_x[l + 1][j], band_y1)))
        x = np.array([[p[0][0], p[1][0], np.nan] for p in segs]).ravel()
        y = np.array([[p[0][1], p[1][1], np.nan] for p in segs]).ravel()
        return x, y
