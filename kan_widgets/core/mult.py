"""Multiplication nodes (pykan's MultKAN, "KAN 2.0"): the width notation and the product.

A hidden layer written ``[n_sum, n_mult]`` has ``n_sum`` sum nodes and ``n_mult``
multiplication nodes. The layer *before* it outputs ``n_sum + sum(arity)`` sub-nodes: the
first ``n_sum`` pass through as the sum nodes, then each multiplication node takes the next
``arity[m]`` sub-nodes (contiguous, in order) and outputs their product. The layer *after* it
reads the ``n_sum + n_mult`` nodes.

Vocabulary used by the model: ``width[m]`` = nodes of node-layer ``m`` (``n_sum + n_mult``);
``width_out[m]`` = sub-nodes (outputs of layer ``m - 1``) of node-layer ``m``;
``mult_arity[m]`` = list of arities of its multiplication nodes (empty for sum-only layers).
"""

from __future__ import annotations

import numbers

import torch

__all__ = ["parse_mult_width", "MultLayout", "combine"]


def _count(name: str, v, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} = {v!r} is not an int")
    if v < low:
        raise ValueError(f"{name} = {v} must be >= {low}")
    return int(v)


class MultLayout:
    """The node / sub-node structure of one node-layer.

    Parameters
    ----------
    n_sum : int, sum nodes
    arity : list of int, one per multiplication node (each >= 2)
    """

    def __init__(self, n_sum: int, arity):
        self.n_sum = int(n_sum)
        self.arity = [int(a) for a in arity]
        starts, s = [], self.n_sum
        for a in self.arity:
            starts.append(s)
            s += a
        self.starts = starts

    @property
    def n_mult(self) -> int:
        return len(self.arity)

    @property
    def n_nodes(self) -> int:
        return self.n_sum + self.n_mult

    @property
    def n_sub(self) -> int:
        return self.n_sum + sum(self.arity)

    def sub_nodes(self, node: int) -> list[int]:
        """Sub-node indices feeding node ``node`` (a sum node: itself only)."""
        if node < self.n_sum:
            return [node]
        m = node - self.n_sum
        return list(range(self.starts[m], self.starts[m] + self.arity[m]))

    def node_of(self) -> list[int]:
        """For each sub-node, the node it feeds: (n_sub,) list."""
        out = list(range(self.n_sum))
        for m, a in enumerate(self.arity):
            out += [self.n_sum + m] * a
        return out

    def gather_index(self) -> torch.Tensor:
        """(n_mult, max_arity) int64 columns of the sub-node tensor; short groups are padded
        with ``n_sub`` (a column of ones appended by ``combine``)."""
        amax = max(self.arity)
        idx = torch.full((self.n_mult, amax), self.n_sub, dtype=torch.long)
        for m, (s, a) in enumerate(zip(self.starts, self.arity)):
            idx[m, :a] = torch.arange(s, s + a)
        return idx

    def subset(self, keep_nodes) -> MultLayout:
        """The layout after keeping nodes ``keep_nodes`` (sorted indices)."""
        n_sum = sum(1 for j in keep_nodes if j < self.n_sum)
        return MultLayout(n_sum, [self.arity[j - self.n_sum] for j in keep_nodes
                                  if j >= self.n_sum])

    def spec(self):
        """The width entry as pykan writes it: an int for sum-only, else [n_sum, n_mult]."""
        return self.n_sum if not self.arity else [self.n_sum, self.n_mult]


def parse_mult_width(width, mult_arity=2) -> list[MultLayout]:
    """Validate a width list (ints, or ``[n_sum, n_mult]`` pairs for hidden layers) and
    ``mult_arity`` (an int for every multiplication node; or a list with one entry per
    node-layer, each an int or a list with one arity per multiplication node of that layer).

    Returns one ``MultLayout`` per node-layer.
    """
    if isinstance(width, (str, bytes)) or not hasattr(width, "__iter__"):
        raise TypeError(f"width must be a list of layer sizes like [2, 5, 1] or, with "
                        f"multiplication nodes, [2, [3, 2], 1]; got {width!r}")
    width = list(width)
    if len(width) < 2:
        raise ValueError(
            f"width needs at least an input and an output size, like [2, 5, 1]; got {width!r}")
    pairs = []
    for m, w in enumerate(width):
        if isinstance(w, (list, tuple)):
            if len(w) != 2:
                raise ValueError(f"width[{m}] = {w!r}: a layer with multiplication nodes is "
                                 "written [n_sum, n_mult], two ints")
            n_sum = _count(f"width[{m}][0] (sum nodes)", w[0], 0)
            n_mult = _count(f"width[{m}][1] (multiplication nodes)", w[1], 0)
            if n_mult and m in (0, len(width) - 1):
                which = "inputs" if m == 0 else "outputs"
                raise ValueError(f"width[{m}] = {list(w)}: the {which} cannot be "
                                 "multiplication nodes; put them in a hidden layer, e.g. "
                                 "[2, [0, 1], 1]")
        else:
            if isinstance(w, bool) or not isinstance(w, numbers.Integral):
                raise TypeError(f"width[{m}] = {w!r} is not an int; layer sizes are positive "
                                "ints, or [n_sum, n_mult] pairs for multiplication nodes")
            n_sum, n_mult = int(w), 0
        if n_sum + n_mult < 1:
            raise ValueError(f"width[{m}] = {w!r}: every layer needs at least one node")
        pairs.append((n_sum, n_mult))
    arities = _parse_arity(mult_arity, pairs)
    return [MultLayout(s, a) for (s, _), a in zip(pairs, arities)]


def _parse_arity(mult_arity, pairs) -> list[list[int]]:
    hint = ("mult_arity is an int >= 2 (every multiplication node), or a list with one entry "
            "per layer of width, each an int or a list of one int per multiplication node")
    if isinstance(mult_arity, numbers.Integral) and not isinstance(mult_arity, bool):
        a = _count("mult_arity", mult_arity, 2)
        return [[a] * n for _, n in pairs]
    if not isinstance(mult_arity, (list, tuple)) or len(mult_arity) != len(pairs):
        raise ValueError(f"{hint}; got {mult_arity!r} for {len(pairs)} layers")
    out = []
    for m, (entry, (_, n)) in enumerate(zip(mult_arity, pairs)):
        if isinstance(entry, (list, tuple)):
            if len(entry) != n:
                raise ValueError(f"mult_arity[{m}] = {list(entry)!r}: layer {m} has {n} "
                                 f"multiplication nodes, give {n} arities")
            out.append([_count(f"mult_arity[{m}][{i}]", a, 2) for i, a in enumerate(entry)])
        elif n == 0:  # a layer without products: its entry is not used
            out.append([])
        else:
            out.append([_count(f"mult_arity[{m}]", entry, 2)] * n)
    return out


def combine(sub: torch.Tensor, layout: MultLayout, index: torch.Tensor) -> torch.Tensor:
    """Sub-node values -> node values, one batched product for all multiplication nodes.

    Parameters
    ----------
    sub : (batch, n_sub) tensor
    layout : MultLayout of the node-layer
    index : (n_mult, max_arity) from ``layout.gather_index()`` on ``sub``'s device

    Returns
    -------
    (batch, n_sum + n_mult) tensor: the sum nodes as they are, then the products.
    """
    if layout.n_sub != layout.n_sum + layout.n_mult * index.shape[1]:  # mixed arities: pad
        sub_ext = torch.cat([sub, sub.new_ones(sub.shape[0], 1)], dim=1)
    else:
        sub_ext = sub
    cols = sub_ext[:, index]  # (batch, n_mult, max_arity)
    # a product over the (few) arity slots, each one op over all nodes: plain multiplies keep
    # derivatives of any order exact, also where a factor is zero
    prod = cols[:, :, 0]
    for a in range(1, cols.shape[2]):
        prod = prod * cols[:, :, a]
    return torch.cat([sub[:, :layout.n_sum], prod], dim=1)
