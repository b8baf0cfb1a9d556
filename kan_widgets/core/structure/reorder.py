"""Reordering hidden nodes (pykan's ``swap`` / ``auto_swap``) and the connection cost.

Reordering the nodes of a hidden layer changes nothing the model computes: the layer before
writes its outputs (sub-nodes) in the new order and the layer after reads its inputs in the
new order, parameters, grids, masks and symbolic edges moving with them. Sum nodes stay
first and multiplication nodes after them (the layout of ``mult.py``), so a sum node is
reordered among sum nodes and a multiplication node among multiplication nodes.

The connection cost (pykan's ``connection_cost``) is ``sum over edges of score * |x_src -
x_dst|`` with the nodes of a layer at ``x = (k + 1/2) / width`` (an edge into a
multiplication node's sub-node ends at that node). Edge scores do not change when nodes are
reordered, they move with their edges; so ``auto_swap`` computes them once and, layer by
layer, places the nodes by an optimal assignment (the cost of a node at a place is linear in
its edges, given the neighbouring layers), sweeping until no layer changes. pykan instead
tries every pairwise swap and recomputes the attribution after each.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["node_positions", "connection_cost", "assignment", "permutation_plan"]


def node_positions(n: int) -> np.ndarray:
    return (np.arange(n) + 0.5) / n


def _node_weights(model, edge_scores):
    """Per layer ``l``, scores summed into nodes: (width[l], width[l + 1]) numpy arrays."""
    out = []
    for l, s in enumerate(edge_scores):
        node_of = model.mult_layout(l + 1).node_of()
        s = s.detach().double().cpu().numpy()
        w = np.zeros((s.shape[0], model.width[l + 1]))
        np.add.at(w.T, node_of, s.T)
        out.append(w)
    return out


def _cost(w: np.ndarray) -> float:
    """Cost of one layer's node-to-node weights (n_src, n_dst)."""
    d = np.abs(node_positions(w.shape[0])[:, None] - node_positions(w.shape[1])[None, :])
    return float((w * d).sum())


def connection_cost(model, edge_scores) -> float:
    """``sum_l sum_ij score_lij * |x_i - x_j|`` (see the module doc)."""
    return sum(_cost(w) for w in _node_weights(model, edge_scores))


def assignment(cost: np.ndarray) -> np.ndarray:
    """Optimal assignment (Hungarian method, shortest augmenting paths, O(n^3)): for a
    square ``cost (n, n)`` returns ``col`` with ``col[row]`` minimising
    ``sum cost[row, col[row]]``."""
    n = cost.shape[0]
    u, v = np.zeros(n + 1), np.zeros(n + 1)
    match = np.zeros(n + 1, dtype=int)  # match[col] = row (1-based; 0 = free)
    way = np.zeros(n + 1, dtype=int)
    for row in range(1, n + 1):
        match[0], col0 = row, 0
        minv = np.full(n + 1, np.inf)
        used = np.zeros(n + 1, dtype=bool)
        while True:
            used[col0] = True
            r = match[col0]
            free = ~used[1:]
            cur = cost[r - 1] - u[r] - v[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = col0
            cand = np.where(free, minv[1:], np.inf)
            col1 = int(np.argmin(cand)) + 1
            delta = cand[col1 - 1]
            u[match[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            col0 = col1
            if match[col0] == 0:
                break
        while col0:
            col1 = way[col0]
            match[col0] = match[col1]
            col0 = col1
    col = np.empty(n, dtype=int)
    col[match[1:] - 1] = np.arange(n)
    return col


def _layer_order(model, weights, m) -> list[int]:
    """The best order of node-layer ``m``'s nodes given the others: ``order[k]`` = the node
    that goes to place ``k``."""
    w_in, w_out = weights[m - 1], weights[m]  # (width[m-1], width[m]), (width[m], width[m+1])
    here = node_positions(model.width[m])
    cost = (w_in.T @ np.abs(node_positions(w_in.shape[0])[:, None] - here[None, :])
            + w_out @ np.abs(here[:, None] - node_positions(w_out.shape[1])[None, :]).T)
    n_sum = model.mult_layout(m).n_sum
    order = list(range(model.width[m]))
    for block in (range(n_sum), range(n_sum, model.width[m])):
        block = list(block)
        if len(block) > 1:
            col = assignment(cost[np.ix_(block, block)])
            for r, c in enumerate(col):
                order[block[c]] = block[r]
    return order


def permutation_plan(model, edge_scores, max_sweeps: int = 20):
    """Orders of every hidden node-layer that lower the connection cost, and the number of
    sweeps made. Returns ``{m: order}`` for the layers that change."""
    weights = _node_weights(model, edge_scores)
    orders = {m: list(range(model.width[m])) for m in range(1, model.depth)}
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        changed = False
        for m in range(1, model.depth):
            order = _layer_order(model, weights, m)
            if order != list(range(model.width[m])):
                old = _layer_cost(weights, m)
                new_w_in, new_w_out = weights[m - 1][:, order], weights[m][order]
                new = _layer_cost([*weights[:m - 1], new_w_in, new_w_out], m)
                if new < old - 1e-12 * max(1.0, abs(old)):  # ties keep the order
                    weights[m - 1], weights[m] = new_w_in, new_w_out
                    orders[m] = [orders[m][k] for k in order]
                    changed = True
        if not changed:
            break
    return {m: o for m, o in orders.items() if o != list(range(len(o)))}, sweeps


def _layer_cost(weights, m) -> float:
    return _cost(weights[m - 1]) + _cost(weights[m])


def permute_nodes(model, m: int, order) -> None:
    """Reorder node-layer ``m`` in place: new node ``k`` is old node ``order[k]``. Sum nodes
    must stay among the first ``n_sum``. The caller runs it inside a transaction."""
    from ..pruning import _remap_fits  # the renumbering compact uses

    layout = model.mult_layout(m)
    subs = [s for k in order for s in layout.sub_nodes(k)]
    keep = [list(range(w)) for w in model.width]
    keep[m] = list(order)
    sub_keep = [list(range(w)) for w in model.width_out]
    sub_keep[m] = subs
    with torch.no_grad():
        model.layers[m - 1].subset(range(model.layers[m - 1].n_in), subs)
        model.layers[m].subset(order, range(model.layers[m].n_out))
    layouts = [model.mult_layout(k) for k in range(len(model.width))]
    layouts[m] = layout.subset(order)
    model._set_layouts(layouts)
    model.symbolic_fits_ = _remap_fits(model.symbolic_fits_, keep, sub_keep)
