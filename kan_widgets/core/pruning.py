"""Pruning by masks (in place, reversible) and ``compact`` (a new, smaller network)."""

from __future__ import annotations

import torch

from .edges import EdgeId, as_edge, check_node

__all__ = ["PruningMixin"]


class PruningMixin:
    """Pruning verbs for ``KAN``."""

    def prune(self, node_th=1e-2, edge_th=3e-2, X=None):
        """Mask weak hidden nodes, then weak edges, by attribution score. In place; returns self.

        As pykan: hidden nodes scoring below ``node_th`` lose all their edges; scores are then
        recomputed and edges scoring below ``edge_th`` are masked. ``X=None`` uses the last
        ``fit``'s inputs. Undo with ``unprune`` (masks only: no parameter is changed).
        """
        x = self._require_samples(X, "prune")
        for th, name in ((node_th, "node_th"), (edge_th, "edge_th")):
            if not th >= 0:
                raise ValueError(f"{name} must be a number >= 0; got {th!r}")
        self.attribute(x)
        for m in range(1, self.depth):  # hidden node layers
            weak = torch.nonzero(self.node_scores_[m] <= node_th).flatten().tolist()
            for j in weak:
                self._mask_node(m, j)
        self.attribute(x)
        for l, layer in enumerate(self.layers):
            keep = (self.edge_scores_[l] > edge_th).to(layer.mask.dtype)
            layer.mask.mul_(keep)
        self._model_changed()
        return self

    def pruning_preview(self, edge_th=3e-2, X=None) -> list[EdgeId]:
        """Live edges that ``prune(edge_th=...)`` would mask by their current score (no change)."""
        x = self._require_samples(X, "pruning_preview")
        if self.edge_scores_ is None:
            self.attribute(x)
        out = []
        for l, layer in enumerate(self.layers):
            weak = (self.edge_scores_[l] <= edge_th) & (layer.mask > 0)
            out += [EdgeId(l, int(i), int(j)) for i, j in torch.nonzero(weak).tolist()]
        return out

    def prune_edge(self, edge):
        """Mask one edge. In place; returns self."""
        l, i, j = as_edge(edge, self.width)
        self.layers[l].mask[i, j] = 0
        self._model_changed()
        return self

    def _mask_node(self, m: int, j: int):
        if m > 0:
            self.layers[m - 1].mask[:, j] = 0
        if m < self.depth:
            self.layers[m].mask[j, :] = 0

    def prune_node(self, layer: int, i: int):
        """Mask every edge into and out of node ``i`` of node-layer ``layer`` (0 = inputs).
        In place; returns self."""
        m, j = check_node(layer, i, self.width)
        self._mask_node(m, j)
        self._model_changed()
        return self

    def prune_input(self, i):
        """Mask every edge of input ``i`` (an index or a variable name). In place; returns self."""
        if isinstance(i, str):
            names = self.variables_ or []
            if i not in names:
                raise KeyError(f"no input named {i!r}; inputs are {names or 'unnamed'}")
            i = names.index(i)
        return self.prune_node(0, i)

    def unprune(self, edge=None):
        """Unmask ``edge``, or every edge when ``edge`` is None. In place; returns self."""
        if edge is None:
            for layer in self.layers:
                layer.mask.fill_(1)
        else:
            l, i, j = as_edge(edge, self.width)
            self.layers[l].mask[i, j] = 1
        self._model_changed()
        return self

    def dead_nodes(self) -> list[tuple[int, int]]:
        """Hidden nodes ``(node_layer, index)`` whose inputs or outputs are all masked."""
        out = []
        for m in range(1, self.depth):
            into = self.layers[m - 1].mask.sum(0)  # (width[m],)
            outof = self.layers[m].mask.sum(1)
            out += [(m, j) for j in range(self.width[m]) if into[j] == 0 or outof[j] == 0]
        return out

    def compact(self):
        """Return a *new* KAN without dead hidden nodes; this model is unchanged.

        Exact: a node with no live input edges feeds its outgoing edges a constant, which is
        folded into the next layer's ``node_bias``; a node with no live output edges is dropped.
        """
        dead = set(self.dead_nodes())
        keep = [list(range(self.width[0]))]
        keep += [[j for j in range(self.width[m]) if (m, j) not in dead]
                 for m in range(1, self.depth)]
        keep.append(list(range(self.width[-1])))
        new = self.copy()
        if not dead:
            return new
        with torch.no_grad():
            # constants of dead-input nodes, folded into the next layer's bias
            xs = self.layer_inputs(torch.zeros(1, self.width[0], dtype=self.dtype,
                                               device=self.device))
            for l, layer in enumerate(new.layers):
                ki = torch.tensor(keep[l], dtype=torch.long, device=self.device)
                ko = torch.tensor(keep[l + 1], dtype=torch.long, device=self.device)
                gone = [i for i in range(layer.n_in) if i not in keep[l]]
                if gone:
                    acts = self.layers[l].activations(xs[l])[0]  # (n_out, n_in)
                    const = acts[:, gone].sum(1)  # (n_out,)
                    layer.node_bias += layer.node_scale * const
                _slice_layer(layer, ki, ko)
        new.width = [len(k) for k in keep]
        new.symbolic_fits_ = _remap_fits(self.symbolic_fits_, keep)
        new._model_changed()
        return new


def _slice_layer(layer, ki, ko):
    """Keep inputs ``ki`` and outputs ``ko`` of ``layer`` (in place)."""
    pos_i = {int(v): n for n, v in enumerate(ki)}
    pos_o = {int(v): n for n, v in enumerate(ko)}
    for name in ("coef", "scale_base", "scale_sp", "sym_affine"):
        p = getattr(layer, name)
        p.data = p.data[ki][:, ko].contiguous()
    for name in ("node_scale", "node_bias"):
        p = getattr(layer, name)
        p.data = p.data[ko].contiguous()
    layer.knots = layer.knots[ki].contiguous()
    layer.grid_changed()
    layer.mask = layer.mask[ki][:, ko].contiguous()
    layer.symbolic = layer.symbolic[ki][:, ko].contiguous()
    layer.sym_names = {(pos_i[i], pos_o[j]): f for (i, j), f in layer.sym_names.items()
                       if i in pos_i and j in pos_o}
    layer.n_in, layer.n_out = len(ki), len(ko)
    layer._groups = None


def _remap_fits(fits: dict, keep: list[list[int]]) -> dict:
    out = {}
    for (l, i, j), fit in fits.items():
        if i in keep[l] and j in keep[l + 1]:
            out[EdgeId(l, keep[l].index(i), keep[l + 1].index(j))] = fit
    return out
