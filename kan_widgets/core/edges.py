"""Addressing edges and nodes: ``EdgeId(layer, src, dst)`` and the checks behind it."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["EdgeId", "as_edge", "check_node"]


class EdgeId(NamedTuple):
    """One edge of a KAN: ``layer`` index, ``src`` node of that layer's input, ``dst`` node of
    its output. A plain tuple ``(layer, src, dst)`` is accepted wherever an ``EdgeId`` is."""

    layer: int
    src: int
    dst: int

    def __str__(self) -> str:
        return f"{self.layer},{self.src},{self.dst}"


def as_edge(edge, width: list[int], width_out: list[int] | None = None) -> EdgeId:
    """Validate ``edge`` against a network of ``width`` and return it as an ``EdgeId``.

    ``width_out[l + 1]`` is the number of outputs (sub-nodes) of layer ``l`` when it differs
    from ``width[l + 1]`` (multiplication nodes); default ``width``."""
    width_out = width if width_out is None else width_out
    try:
        layer, src, dst = (int(v) for v in edge)
        if any(int(v) != v for v in edge):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(
            f"an edge is addressed as EdgeId(layer, src, dst) or a tuple of three ints; got {edge!r}"
        ) from None
    n_layers = len(width) - 1
    if not 0 <= layer < n_layers:
        raise IndexError(
            f"edge {tuple(edge)} does not exist: layer must be in 0..{n_layers - 1} "
            f"for a KAN of width {width}"
        )
    if not 0 <= src < width[layer]:
        raise IndexError(
            f"edge {tuple(edge)} does not exist: layer {layer} has inputs 0..{width[layer] - 1}"
        )
    if not 0 <= dst < width_out[layer + 1]:
        raise IndexError(
            f"edge {tuple(edge)} does not exist: layer {layer} has outputs "
            f"0..{width_out[layer + 1] - 1}"
        )
    return EdgeId(layer, src, dst)


def check_node(layer: int, index: int, width: list[int]) -> tuple[int, int]:
    """Validate node ``index`` of node-layer ``layer`` (0 = inputs, len(width)-1 = outputs)."""
    if not 0 <= int(layer) < len(width):
        raise IndexError(
            f"node layer {layer} does not exist: node layers are 0..{len(width) - 1} "
            f"(0 = inputs) for width {width}"
        )
    if not 0 <= int(index) < width[layer]:
        raise IndexError(
            f"node ({layer}, {index}) does not exist: node layer {layer} has nodes "
            f"0..{width[layer] - 1}"
        )
    return int(layer), int(index)
