"""Edge and node attribution (KAN 2.0 backward attribution, as pykan's ``attribute``).

Each edge's spread ``std_b phi_ij`` (spline edges by the covariance quadratic form, symbolic
edges from their values) is weighted by the score of the node it feeds, divided by that
node's own spread; a node's score is the sum of its outgoing edges' scores. Output nodes score 1.
"""

from __future__ import annotations

import torch

from .edges import as_edge
from .regularizer import spline_edge_std
from .threads import scoped
from .transaction import atomic

__all__ = ["AttributionMixin", "edge_spreads"]


def edge_spreads(model, x: torch.Tensor):
    """Per-layer spreads of edges and of node sums.

    Returns
    -------
    edge_std : list of (n_in, n_out) tensors, std over samples of each edge's value
    node_std : list of (n_out,) tensors, std of each layer's summed output (before node affine)
    """
    edge_std, node_std = [], []
    with torch.no_grad():
        for l, layer in enumerate(model.layers):
            feats = layer.features(x)
            weight = layer.packed_weight()
            std = spline_edge_std(feats, weight)  # symbolic and pruned edges have weight 0
            for name, (src, dst) in layer.symbolic_groups().items():
                vals = layer.symbolic_values(x, name, src, dst)  # (B, n_edges)
                std = std.index_put((src, dst), vals.std(0) if len(x) > 1 else vals[0] * 0)
            std = std * (layer.mask > 0)
            s = layer.edge_sum(x, feats, weight)
            edge_std.append(std)
            node_std.append(s.std(0) if len(x) > 1 else s[0] * 0)
            x = model.nodes_from_subnodes(l, layer.node_affine(s))
    return edge_std, node_std


class AttributionMixin:
    """``attribution`` (a query) and ``attribute`` (the verb that stores it) for ``KAN``."""

    @scoped("attribute")
    def attribution(self, X=None):
        """Edge and node scores on samples ``X`` (default: the last ``fit``'s inputs), computed
        and returned; nothing is stored (``attribute`` stores them).

        Returns
        -------
        edge_scores : list of ``depth`` tensors, ``edge_scores[l]`` is
            ``(width[l], width_out[l+1])`` indexed ``[src, dst]`` (``dst`` a sub-node)
        node_scores : list of ``depth + 1`` tensors, ``node_scores[l]`` is ``(width[l],)``;
            ``node_scores[0]`` ranks the input features, the outputs score 1
        """
        x = self._require_samples(X, "attribution")
        edge_std, node_std = edge_spreads(self, x)
        node = torch.ones(self.width[-1], dtype=self.dtype, device=self.device)
        edges, nodes = [], [node]
        for l in reversed(range(self.depth)):
            # pykan's rule: every sub-node of a multiplication node carries the node's score
            sub = node[torch.as_tensor(self.mult_layout(l + 1).node_of(), device=node.device)]
            e = edge_std[l] * (sub / (node_std[l] + 1e-4))[None, :]  # (n_in, n_out)
            node = e.sum(1)
            edges.append(e)
            nodes.append(node)
        return edges[::-1], nodes[::-1]

    @scoped("attribute")
    @atomic("attribute", check=False)
    def attribute(self, X=None):
        """Compute the scores of ``attribution(X)`` and keep them in ``edge_scores_`` and
        ``node_scores_`` (read by ``repr`` and ``edge_score``). Returns self.

        Scores are derived state: every verb that changes the model drops them.
        """
        self.edge_scores_, self.node_scores_ = self.attribution(X)
        return self

    def edge_score(self, edge, X=None) -> float:
        """Attribution score of one edge: the stored one (after ``attribute``) when ``X`` is
        None and scores are stored, else computed on ``X`` (default: the last ``fit``'s
        inputs) without storing anything."""
        l, i, j = as_edge(edge, self.width, self.width_out)
        scores = self.edge_scores_
        if X is not None or scores is None:
            scores, _ = self.attribution(X)
        return float(scores[l][i, j])
