"""What a node computes over the data, as plain numbers: no widgets, no plotly.

A click on a node shows its value on every sample. What it is drawn against depends on the
model: for one input, against that input (the node's function of x); for two inputs, over the
plane of both (a scatter coloured by the value); for more, against the samples sorted by the
model's output, so a node that tracks the output shows as a rising curve. A multiplication
node also gives the values of the sub-nodes it multiplies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["NodeActivation", "node_activation", "node_summaries"]

MAX_SAMPLES = 2000  # samples drawn at most (evenly strided)


@dataclass
class NodeActivation:
    """The values of node ``index`` of node-layer ``layer`` on the samples.

    Attributes
    ----------
    layer, index, name : the node (layer 0 = inputs, ``depth`` = outputs)
    kind : "input", "sum", "mult" (a multiplication node) or "output"
    arity : sub-nodes a multiplication node multiplies (0 for the other kinds)
    live_in : live edges into the node (for a multiplication node: into its sub-nodes)
    against : "input" (x is the model's only input), "inputs" (x, x2 are the two inputs; the
        value is the colour) or "rank" (x is the sample's rank by the model's first output)
    x, x2 : (n,) coordinates of each sample (``x2`` empty unless ``against == "inputs"``)
    values : (n,) the node's value on each sample, in the order of ``x``
    factors : (n, arity) values of the sub-nodes of a multiplication node ((n, 0) otherwise)
    x_label, x2_label : axis titles
    n_samples : samples available (``len(values)`` may be fewer: strided)
    """

    layer: int
    index: int
    name: str
    kind: str
    arity: int
    live_in: int
    against: str
    x: np.ndarray
    x2: np.ndarray
    values: np.ndarray
    factors: np.ndarray
    x_label: str
    x2_label: str = ""
    n_samples: int = 0
    hist: tuple = field(default=(np.array([]), np.array([])), repr=False)

    def summary(self) -> str:
        """One line: value range and mean over the samples (or why there are none)."""
        if not len(self.values):
            return "no samples: build the Explorer with data (or fit the model) to see them"
        v = self.values
        return (f"values {v.min():.3g} … {v.max():.3g}, mean {v.mean():.3g} "
                f"({self.n_samples} samples)")

    def describe(self) -> str:
        """What the node is: "input", "sum of 3 live edges", "product of 2 sub-nodes"."""
        if self.kind == "input":
            return "input"
        if self.kind == "mult":
            return (f"multiplication node: product of {self.arity} sub-nodes "
                    f"({self.live_in} live edges into them)")
        what = "output" if self.kind == "output" else "sum node"
        return f"{what}: sum of {self.live_in} live edge{'s' * (self.live_in != 1)}"


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy().copy()


def node_kind(model, layer: int, i: int) -> str:
    if layer == 0:
        return "input"
    if layer == model.depth:
        return "output"
    return "mult" if i >= model.mult_layout(layer).n_sum else "sum"


def _live_in(model, layer: int, i: int) -> int:
    if layer == 0:
        return 0
    subs = model.mult_layout(layer).sub_nodes(i)
    return int(model.layers[layer - 1].mask[:, subs].sum())


def node_activation(model, layer: int, i: int, X=None, names=None,
                    max_samples: int = MAX_SAMPLES) -> NodeActivation:
    """Values of node ``(layer, i)`` on the samples ``X`` (default: the last fit's inputs).

    Parameters
    ----------
    model : KAN
    layer, i : the node (``0 <= layer <= model.depth``, ``0 <= i < model.width[layer]``)
    X : (n, width[0]) samples, or None
    names : node labels per node-layer (``NetworkLayout.node_labels``); default ``l.i``
    max_samples : at most this many samples are returned (evenly strided)
    """
    layer, i = int(layer), int(i)
    if not 0 <= layer <= model.depth or not 0 <= i < model.width[layer]:
        raise IndexError(f"node ({layer}, {i}) does not exist: node-layers 0..{model.depth}, "
                         f"widths {model.width}")
    kind = node_kind(model, layer, i)
    lay = model.mult_layout(layer)
    arity = len(lay.sub_nodes(i)) if kind == "mult" else 0
    label = (lambda m, j: names[m][j]) if names else (lambda m, j: f"{m}.{j}")
    n_in = model.width[0]
    against = "input" if n_in == 1 else ("inputs" if n_in == 2 else "rank")
    empty = np.array([])
    base = dict(layer=layer, index=i, name=label(layer, i), kind=kind, arity=arity,
                live_in=_live_in(model, layer, i), against=against)
    X = model.X_fit_ if X is None else X
    if X is None:
        return NodeActivation(**base, x=empty, x2=empty, values=empty,
                              factors=np.zeros((0, arity)), x_label=label(0, 0))
    with torch.no_grad():
        X = model.check_input(X)
        n = X.shape[0]
        X = X[::max(1, -(-n // max_samples))]
        xs = model.layer_inputs(X)  # node values of every node-layer
        values = xs[layer][:, i]
        factors = (model.layers[layer - 1](xs[layer - 1])[:, lay.sub_nodes(i)] if arity
                   else values.new_zeros(len(values), 0))
        if against == "rank":
            order = torch.argsort(xs[-1][:, 0], stable=True)
            x, x2 = torch.arange(len(values), dtype=values.dtype), None
            values, factors = values[order], factors[order]
            out_name = names[-1][0] if names else "the output"
            x_label = f"samples, sorted by {out_name}"
        else:
            x, x2 = X[:, 0], (X[:, 1] if against == "inputs" else None)
            x_label = label(0, 0)
    v = _np(values)
    fin = v[np.isfinite(v)]
    hist = np.histogram(fin, bins=30) if len(fin) else (empty, empty)
    return NodeActivation(**base, x=_np(x), x2=empty if x2 is None else _np(x2), values=v,
                          factors=_np(factors), x_label=x_label,
                          x2_label=label(0, 1) if against == "inputs" else "",
                          n_samples=int(n), hist=hist)


def node_summaries(model, X) -> list[np.ndarray]:
    """(min, max, mean) of every node's values on ``X``: one (width[m], 3) array per
    node-layer (NaN without samples); the hover texts of the node dots."""
    if X is None:
        return [np.full((w, 3), np.nan) for w in model.width]
    with torch.no_grad():
        X = model.check_input(X)
        X = X[::max(1, -(-X.shape[0] // MAX_SAMPLES))]
        return [np.stack([_np(v.min(0).values), _np(v.max(0).values), _np(v.mean(0))], 1)
                for v in model.layer_inputs(X)]
