"""Pruning by masks (in place, reversible) and ``compact`` (a new, smaller network)."""

from __future__ import annotations

import warnings

import torch

from .edges import EdgeId, as_edge, check_node
from .threads import scoped
from .transaction import atomic
from .validation import positional_thresholds

__all__ = ["PruningMixin"]


class PruningMixin:
    """Pruning verbs for ``KAN``."""

    @scoped("attribute")
    @atomic("prune", check=False)
    def prune(self, *args, node_th=1e-2, edge_th=3e-2, X=None):
        """Mask weak hidden nodes, then weak edges, by attribution score. In place; returns self.

        As pykan: hidden nodes scoring below ``node_th`` lose all their edges; scores are then
        recomputed and edges scoring below ``edge_th`` are masked. ``X=None`` uses the last
        ``fit``'s inputs. Undo with ``unprune`` (masks only: no parameter is changed).
        ``preview_prune`` answers, without changing anything, which edges this would mask.
        The thresholds are keyword-only (``prune(node_th, edge_th)`` positionally still works
        but is deprecated).
        """
        node_th, edge_th = positional_thresholds("KAN.prune", args, ("node_th", "edge_th"),
                                                 dict(node_th=node_th, edge_th=edge_th))
        x = self._require_samples(X, "prune")
        for th, name in ((node_th, "node_th"), (edge_th, "edge_th")):
            if not th >= 0:
                raise ValueError(f"{name} must be a number >= 0; got {th!r}")
        _, node_scores = self.attribution(x)
        for m in range(1, self.depth):  # hidden node layers
            weak = torch.nonzero(node_scores[m] <= node_th).flatten().tolist()
            for j in weak:
                self._mask_node(m, j)
        edge_scores, _ = self.attribution(x)
        for l, layer in enumerate(self.layers):
            keep = (edge_scores[l] > edge_th).to(layer.mask.dtype)
            layer.mask.mul_(keep)
        self._mask_broken_products()
        self.mark_changed()
        return self

    def preview_prune(self, *, node_th=1e-2, edge_th=3e-2, X=None) -> list[EdgeId]:
        """Live edges that ``prune(node_th=..., edge_th=..., X=...)`` would mask, exactly.

        Computed by pruning a copy: this model is unchanged (no parameter, mask or fitted
        attribute is written). Returns EdgeIds in ``edges()`` order.
        """
        x = self._require_samples(X, "preview_prune")
        pruned = self.copy().prune(node_th=node_th, edge_th=edge_th, X=x)
        return [e for e in self.edges() if self.edge_mode(e) != "pruned"
                and pruned.edge_mode(e) == "pruned"]

    def pruning_preview(self, edge_th=3e-2, X=None, node_th=1e-2) -> list[EdgeId]:
        """Deprecated: use ``preview_prune(node_th=..., edge_th=...)``, which it calls.

        (It used to list edges only, by their scores before the node step.)
        """
        warnings.warn("KAN.pruning_preview is deprecated; use "
                      "KAN.preview_prune(node_th=..., edge_th=...)", DeprecationWarning,
                      stacklevel=2)
        return self.preview_prune(node_th=node_th, edge_th=edge_th, X=X)

    @atomic("prune_edge", check=False)
    def prune_edge(self, edge):
        """Mask one edge. In place; returns self."""
        l, i, j = as_edge(edge, self.width, self.width_out)
        self.layers[l].mask[i, j] = 0
        self.mark_changed()
        return self

    def _mask_node(self, m: int, j: int):
        if m > 0:  # every sub-node of a multiplication node
            self.layers[m - 1].mask[:, self.mult_layout(m).sub_nodes(j)] = 0
        if m < self.depth:
            self.layers[m].mask[j, :] = 0

    def _mask_broken_products(self):
        """A multiplication node one of whose sub-nodes lost every input goes entirely: the
        product of a (near-)constant factor is not kept as a half-pruned node."""
        for m in range(1, self.depth):
            layout = self.mult_layout(m)
            into = self.layers[m - 1].mask.sum(0)  # (width_out[m],)
            for j in range(layout.n_sum, layout.n_nodes):
                subs = layout.sub_nodes(j)
                if (into[subs] == 0).any() and (into[subs] > 0).any():
                    self._mask_node(m, j)

    @atomic("prune_node", check=False)
    def prune_node(self, layer: int, i: int):
        """Mask every edge into and out of node ``i`` of node-layer ``layer`` (0 = inputs).
        In place; returns self."""
        m, j = check_node(layer, i, self.width)
        self._mask_node(m, j)
        self.mark_changed()
        return self

    @atomic("prune_input", check=False)
    def prune_input(self, i):
        """Mask every edge of input ``i`` (an index or a variable name). In place; returns self."""
        if isinstance(i, str):
            names = self.variables_ or []
            if i not in names:
                raise KeyError(f"no input named {i!r}; inputs are {names or 'unnamed'}")
            i = names.index(i)
        return self.prune_node(0, i)

    @atomic("unprune", check=False)
    def unprune(self, edge=None):
        """Unmask ``edge``, or every edge when ``edge`` is None. In place; returns self."""
        if edge is None:
            for layer in self.layers:
                layer.mask.fill_(1)
        else:
            l, i, j = as_edge(edge, self.width, self.width_out)
            self.layers[l].mask[i, j] = 1
        self.mark_changed()
        return self

    def dead_nodes(self) -> list[tuple[int, int]]:
        """Hidden nodes ``(node_layer, index)`` whose inputs or outputs are all masked."""
        out = []
        for m in range(1, self.depth):
            into = self.layers[m - 1].mask.sum(0)  # (width_out[m],) live inputs per sub-node
            outof = self.layers[m].mask.sum(1)
            layout = self.mult_layout(m)
            # a multiplication node has no live input when none of its sub-nodes has one
            # (then it is a constant, folded exactly by compact)
            out += [(m, j) for j in range(self.width[m])
                    if outof[j] == 0 or all(into[s] == 0 for s in layout.sub_nodes(j))]
        return out

    def compact(self):
        """Return a *new* KAN without dead hidden nodes; this model is unchanged.

        Exact: a node with no live input edges feeds its outgoing edges a constant, which is
        folded into the next layer's ``node_bias``; a node with no live output edges is dropped.
        A hidden layer keeps at least one node (a model with every edge pruned compacts to
        ``[n_in, 1, ..., n_out]``, a constant).
        """
        dead = set(self.dead_nodes())
        keep = [list(range(self.width[0]))]
        keep += [[j for j in range(self.width[m]) if (m, j) not in dead]
                 for m in range(1, self.depth)]
        # a layer with every node dead keeps its first one (its edges stay as they are, so
        # the model is still exact): with every edge pruned the result is a constant model
        keep = [k or [0] for k in keep]
        keep.append(list(range(self.width[-1])))
        new = self.copy()
        if not dead:
            return new
        with torch.no_grad():
            # constants of dead-input nodes, folded into the next layer's bias
            xs = self.layer_inputs(torch.zeros(1, self.width[0], dtype=self.dtype,
                                               device=self.device))
            subs = [[s for j in k for s in self.mult_layout(m).sub_nodes(j)]
                    for m, k in enumerate(keep)]  # kept sub-nodes (outputs of layer m - 1)
            for l, layer in enumerate(new.layers):
                gone = [i for i in range(layer.n_in) if i not in keep[l]]
                if gone:
                    acts = self.layers[l].activations(xs[l])[0]  # (n_out, n_in)
                    const = acts[:, gone].sum(1)  # (n_out,)
                    layer.node_bias += layer.node_scale * const
                layer.subset(keep[l], subs[l + 1])
        new._set_layouts([self.mult_layout(m).subset(k) for m, k in enumerate(keep)])
        new.symbolic_fits_ = _remap_fits(self.symbolic_fits_, keep, subs)
        new.mark_changed()
        return new


def _remap_fits(fits: dict, keep: list[list[int]], subs: list[list[int]]) -> dict:
    """Fits renumbered: ``keep`` the kept nodes (edge sources), ``subs`` the kept sub-nodes
    (edge destinations) per node-layer."""
    out = {}
    for (l, i, j), fit in fits.items():
        if i in keep[l] and j in subs[l + 1]:
            out[EdgeId(l, keep[l].index(i), subs[l + 1].index(j))] = fit
    return out
