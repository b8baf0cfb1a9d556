"""What a destructive action would do, computed on a copy of the model before it is done.

Pruning by threshold, auto-symbolic, refine / coarsen and pruning a node can each make the
model much worse in one click. The Explorer shows their effect first: which edges go or which
functions would be picked, and the loss after, exactly as the action would leave it (the
action itself runs on a ``model.copy()``; the model is not touched). Results are cached in the
session until the model changes.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..core.edges import EdgeId
from .checks import HUGE_GRID, read_grid
from .task import CLASSIFICATION, measure

__all__ = ["PreviewCommands", "PrunePreview", "RefinePreview", "AutoSymbolicPreview",
           "NodePreview", "WORSE_FACTOR"]

WORSE_FACTOR = 10.0  # an action that multiplies the loss by more than this is flagged


@dataclass(frozen=True)
class PrunePreview:
    """``prune(node_th, edge_th)`` before it is done: ``edges`` that go, loss before/after."""

    node_th: float
    edge_th: float
    edges: list = field(default_factory=list)
    loss_before: float = float("nan")
    loss_after: float = float("nan")

    def text(self) -> str:
        n = len(self.edges)
        if not n:
            return f"edge_th {self.edge_th:.3g}: no edge goes"
        return (f"{n} edge{'s' * (n != 1)} go, loss {_fmt(self.loss_before)} → "
                f"{_fmt(self.loss_after)}{_worse_note(self.loss_before, self.loss_after)}")


@dataclass(frozen=True)
class RefinePreview:
    """``refine(grid)`` before it is done. ``kind`` is "refine" (finer), "coarsen" (coarser)
    or "same"; ``huge``: the grid is above ``HUGE_GRID`` (the loss is not computed then, and
    ``warning`` says what it costs)."""

    grid: int
    old_grid: int
    kind: str
    loss_before: float = float("nan")
    loss_after: float = float("nan")
    parameters: int = 0
    huge: bool = False
    warning: str = ""

    def text(self) -> str:
        if self.kind == "same":
            return f"the grid already has {self.grid} intervals"
        head = f"{self.kind} grid {self.old_grid} → {self.grid}"
        if self.huge:
            return f"{head}: {self.warning}"
        return (f"{head}: loss {_fmt(self.loss_before)} → {_fmt(self.loss_after)}"
                f"{_worse_note(self.loss_before, self.loss_after)}")


@dataclass(frozen=True)
class AutoSymbolicPreview:
    """``auto_symbolic(lib)`` before it is done: ``picks`` maps each live spline edge to the
    function it would get (None: it stays a spline), and the loss after."""

    lib: tuple | None
    picks: dict = field(default_factory=dict)
    loss_before: float = float("nan")
    loss_after: float = float("nan")

    def text(self) -> str:
        fixed = [f"{e}→{n}" for e, n in self.picks.items() if n is not None]
        kept = sum(n is None for n in self.picks.values())
        return (f"{len(fixed)} edge{'s' * (len(fixed) != 1)} fixed ({', '.join(fixed) or '—'})"
                f"{f', {kept} stay splines' if kept else ''}; loss {_fmt(self.loss_before)} → "
                f"{_fmt(self.loss_after)}{_worse_note(self.loss_before, self.loss_after)}")


@dataclass(frozen=True)
class NodePreview:
    """Pruning node ``i`` of node-layer ``layer`` (0 = inputs: dropping that input)."""

    layer: int
    index: int
    name: str
    edges: list = field(default_factory=list)
    loss_before: float = float("nan")
    loss_after: float = float("nan")

    def text(self) -> str:
        what = "drop input" if self.layer == 0 else "prune node"
        return (f"{what} {self.name}: {len(self.edges)} edges go, loss {_fmt(self.loss_before)}"
                f" → {_fmt(self.loss_after)}{_worse_note(self.loss_before, self.loss_after)}")


def _fmt(v) -> str:
    return "n/a" if v is None or math.isnan(v) else f"{v:.3g}"


def worse_by(before: float, after: float) -> float:
    """``after / before`` (losses), or NaN when either is unknown."""
    if math.isnan(before) or math.isnan(after) or before <= 0:
        return float("nan")
    return after / before


def _worse_note(before, after) -> str:
    ratio = worse_by(before, after)
    return f" ({ratio:.0f}x worse)" if ratio > WORSE_FACTOR else ""


class PreviewCommands:
    """Previews of ``Session`` (which supplies ``model``, ``lock``, ``X``, ``_cached``,
    ``losses``, ``layout``)."""

    def _loss_of(self, model) -> float:
        """Test loss (train without a test split) of another model on the session's data:
        RMSE, or a classifier's cross-entropy (as ``losses``)."""
        if self.X is None:
            return float("nan")
        X, y = (self.X_test, self.y_test) if self.X_test is not None else (self.X, self.y)
        if self.task == CLASSIFICATION:
            return measure(model, X, y, self.task)[0]
        return model.score(X, y)

    def _on_copy(self, action):
        """Run ``action(copy)`` on a copy of the model (warnings silenced); the copy."""
        c = self.model.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            action(c)
        return c

    def prune_preview(self, *, node_th=1e-2, edge_th=3e-2) -> PrunePreview:
        """``prune(node_th=..., edge_th=...)`` on a copy: the edges that go and the loss."""
        node_th, edge_th = float(node_th), float(edge_th)

        def compute():
            c = self._on_copy(lambda m: self._call(m.prune, node_th=node_th, edge_th=edge_th))
            gone = [e for e in self.model.edges() if self.model.edge_mode(e) != "pruned"
                    and c.edge_mode(e) == "pruned"]
            return PrunePreview(node_th, edge_th, gone, self.losses()[0], self._loss_of(c))

        with self.lock:
            return self._cached(("prune_effect", node_th, edge_th), compute)

    def edge_score_thresholds(self) -> np.ndarray:
        """Sorted distinct attribution scores of the live edges: the thresholds at which one
        more edge would go (the prune slider steps through these). Empty without samples."""
        scores = self.scores()
        if scores is None:
            return np.array([])
        live = [e for e in self.model.edges() if self.model.edge_mode(e) != "pruned"]
        vals = [float(scores[e.layer][e.src, e.dst]) for e in live]  # scores[l]: [src, dst]
        return np.unique(np.asarray(vals, dtype=float))

    def preview_refine(self, grid) -> RefinePreview:
        """``refine(grid)`` on a copy: refine or coarsen, and the loss after the least-squares
        transfer; a grid above ``HUGE_GRID`` only gets a cost estimate (it is slow)."""
        grid = read_grid(grid)
        old = self.model.grid
        kind = "same" if grid == old else ("refine" if grid > old else "coarsen")
        params = sum(l.n_in * l.n_out * (grid + l.k) for l in self.model.layers)
        if grid > HUGE_GRID:
            # the least-squares transfer and every training step build a (samples, grid + k)
            # basis per edge: that is what costs time and memory
            n = 0 if self.samples is None else int(self.samples.shape[0])
            cells = n * sum(l.n_in * l.n_out * (grid + l.k) for l in self.model.layers)
            mb = cells * self.model.dtype.itemsize / 1e6
            warn = (f"grid {grid} is huge: spline bases of ~{mb:,.0f} MB per pass over "
                    f"{n} samples; the transfer can take many seconds, each training step "
                    "too, and so many intervals overfit the samples. Press Refine again to "
                    "run it")
            return RefinePreview(grid, old, kind, self.losses()[0], float("nan"), params,
                                 True, warn)
        if kind == "same":
            return RefinePreview(grid, old, kind, self.losses()[0], self.losses()[0], params)

        def compute():
            c = self._on_copy(lambda m: self._call(m.refine, grid))
            return RefinePreview(grid, old, kind, self.losses()[0], self._loss_of(c), params)

        with self.lock:
            return self._cached(("refine_effect", grid), compute)

    def preview_auto_symbolic(self, lib=None, **kw) -> AutoSymbolicPreview:
        """``auto_symbolic(lib=...)`` on a copy: each spline edge's pick and the loss after."""
        key_lib = None if lib is None else tuple(lib)

        def compute():
            c = self._on_copy(lambda m: self._call(m.auto_symbolic, lib=lib, **kw))
            picks = {}
            for row in getattr(c, "auto_symbolic_report_", []):
                e = EdgeId(*row["edge"])
                picks[e] = row["fit"].name if row["action"] == "fixed" else None
            return AutoSymbolicPreview(key_lib, picks, self.losses()[0], self._loss_of(c))

        with self.lock:
            return self._cached(("auto_effect", key_lib, tuple(sorted(kw.items()))), compute)

    def preview_prune_node(self, layer, i) -> NodePreview:
        """Pruning node ``(layer, i)`` (layer 0: dropping input ``i``) on a copy."""
        layer, i = int(layer), int(i)

        def compute():
            c = self._on_copy(lambda m: m.prune_node(layer, i))
            gone = [e for e in self.model.edges() if self.model.edge_mode(e) != "pruned"
                    and c.edge_mode(e) == "pruned"]
            name = self.layout.node_labels[layer][i]
            return NodePreview(layer, i, name, gone, self.losses()[0], self._loss_of(c))

        with self.lock:
            return self._cached(("node_effect", layer, i), compute)

