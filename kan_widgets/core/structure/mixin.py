"""The structure verbs of ``KAN``: ``tree`` and ``connection_cost`` (queries), ``swap`` and
``auto_swap`` (reorder hidden nodes in place; atomic)."""

from __future__ import annotations

import numbers

from ..threads import scoped
from ..transaction import atomic
from . import reorder
from .tree import structure_tree

__all__ = ["StructureMixin"]


class StructureMixin:
    """``tree``, ``connection_cost``, ``swap`` and ``auto_swap`` for ``KAN``."""

    def tree(self, X=None, tol=1e-2, output=None, names=None, max_generalized=8):
        """The tree of the function this model computes (pykan's ``tree()``), tested at
        samples ``X`` (default: the last ``fit``'s inputs); see ``structure_tree``. Returns a
        ``StructureTree``: ``.plot()`` draws it, ``.text()`` summarises it. A query: the
        model is not changed."""
        x = self._require_samples(X, "tree")
        return structure_tree(self, x, tol=tol, output=output, names=names,
                              max_generalized=max_generalized)

    def _edge_scores_for(self, X, verb):
        if X is None and self.edge_scores_ is not None:
            return self.edge_scores_
        return self.attribution(self._require_samples(X, verb))[0]

    def connection_cost(self, X=None) -> float:
        """pykan's connection cost: ``sum over edges of score * |x_src - x_dst|``, the nodes
        of each layer evenly spaced on [0, 1]. Scores: the stored ones (``attribute``) when
        ``X`` is None, else computed on ``X`` (default: the last fit's inputs)."""
        return reorder.connection_cost(self, self._edge_scores_for(X, "connection_cost"))

    def _check_hidden(self, layer) -> int:
        if isinstance(layer, bool) or not isinstance(layer, numbers.Integral):
            raise TypeError(f"layer must be an int (a hidden node-layer); got {layer!r}")
        if not 1 <= int(layer) <= self.depth - 1:
            hidden = (f"1..{self.depth - 1}" if self.depth > 1
                      else "none: this model has no hidden layer")
            raise ValueError(f"layer {layer} is not a hidden layer (layer 0 holds the inputs, "
                             f"layer {self.depth} the outputs, whose order is the model's "
                             f"interface); hidden layers: {hidden}")
        return int(layer)

    def _reorder(self, orders: dict, scores, keep: bool):
        """Apply ``{m: order}``; returns the scores ``(edges, nodes)`` moved with their
        nodes, stored again when ``keep`` (they stay valid: the function is the same)."""
        edges = nodes = None
        if scores is not None:
            edges, nodes = list(scores[0]), list(scores[1])
        for m, order in orders.items():
            if edges is not None:  # sub-nodes of the layout before this reordering
                subs = [s for k in order for s in self.mult_layout(m).sub_nodes(k)]
                edges[m - 1] = edges[m - 1][:, subs]
                edges[m] = edges[m][order]
                nodes[m] = nodes[m][order]
            reorder.permute_nodes(self, m, order)
        self.mark_changed()
        if keep and edges is not None:
            self.edge_scores_, self.node_scores_ = edges, nodes
        return edges, nodes

    @atomic("swap")
    def swap(self, layer, i, j):
        """Exchange nodes ``i`` and ``j`` of hidden node-layer ``layer`` (pykan's
        ``swap(l, i1, i2)``), in place; returns self. The model computes the same function
        (to rounding: sums over inputs run in another order); edges, grids, masks, symbolic
        edges and fits move with their nodes, and stored attribution scores too. Two sum
        nodes or two multiplication nodes (of any arity). Atomic; bumps ``version``."""
        m = self._check_hidden(layer)
        w = self.width[m]
        for name, v in (("i", i), ("j", j)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 0 <= v < w:
                raise ValueError(f"{name} = {v!r} is not a node of layer {m}, which has nodes "
                                 f"0..{w - 1}")
        n_sum = self.mult_layout(m).n_sum
        if (i < n_sum) != (j < n_sum):
            raise ValueError(f"nodes {i} and {j} of layer {m} are a sum node and a "
                             f"multiplication node (sum nodes are 0..{n_sum - 1}): sum nodes "
                             "come first, so they swap only among themselves, and "
                             "multiplication nodes likewise")
        if i == j:
            return self
        order = list(range(w))
        order[i], order[j] = j, i
        scores = None if self.edge_scores_ is None else (self.edge_scores_, self.node_scores_)
        self._reorder({m: order}, scores, keep=True)
        return self

    @scoped("attribute")
    @atomic("auto_swap")
    def auto_swap(self, X=None, max_sweeps=20):
        """Reorder the hidden nodes of every layer to lower the connection cost (pykan's
        ``auto_swap``), in place; returns self. Scores: the stored ones when ``X`` is None
        and there are some, else ``attribution(X)`` (default: the last fit's inputs),
        computed once (reordering moves scores, it does not change them). Each hidden layer
        in turn gets the node order of least cost given its neighbours (an optimal
        assignment), until a sweep changes nothing (at most ``max_sweeps``). The function is
        unchanged; the cost never rises. ``auto_swap_report_`` holds the cost before and
        after and the sweeps made. Atomic; bumps ``version`` when an order changes."""
        if isinstance(max_sweeps, bool) or not isinstance(max_sweeps, numbers.Integral) \
                or max_sweeps < 1:
            raise ValueError(f"max_sweeps must be an int >= 1; got {max_sweeps!r}")
        stored = X is None and self.edge_scores_ is not None
        scores = ((self.edge_scores_, self.node_scores_) if stored
                  else self.attribution(self._require_samples(X, "auto_swap")))
        before = reorder.connection_cost(self, scores[0])
        orders, sweeps = reorder.permutation_plan(self, scores[0], int(max_sweeps))
        after = before
        if orders:
            after = reorder.connection_cost(self, self._reorder(orders, scores, stored)[0])
        self.auto_swap_report_ = {"cost_before": before, "cost_after": after,
                                  "sweeps": sweeps, "orders": orders}
        return self
