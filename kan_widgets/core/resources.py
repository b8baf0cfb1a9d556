"""Memory estimates: refuse a model that cannot fit before allocating it."""

from __future__ import annotations

import os

import torch

__all__ = ["model_bytes", "available_bytes", "check_size", "ModelTooLargeError"]


class ModelTooLargeError(MemoryError, ValueError):
    """The requested model cannot fit in the available memory (the message gives the
    estimate); a ``MemoryError`` and a ``ValueError``."""


def model_bytes(width, grid: int, k: int, dtype=torch.float32) -> int:
    """Bytes the parameters and buffers of ``KAN(width, grid, k)`` take.

    Per edge: ``G + k`` spline coefficients, two scales, four symbolic affine numbers, a mask
    and a symbolic flag; per input ``G + 2k + 1`` knots.
    """
    item = torch.empty((), dtype=dtype).element_size()
    total = 0
    for n_in, n_out in zip(width[:-1], width[1:]):
        edges = n_in * n_out
        total += item * (edges * (grid + k + 7) + n_in * (grid + 2 * k + 1) + 2 * n_out) + edges
    return total


def available_bytes() -> int | None:
    """Memory the process may still allocate: ``MemAvailable`` of ``/proc/meminfo`` (Linux),
    else ``None`` (unknown: nothing is refused)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# construction, a forward and fit's snapshots hold a few copies of the parameters at once
WORKING_COPIES = 4


def check_size(width, grid: int, k: int, dtype=torch.float32) -> int:
    """Refuse (``ModelTooLargeError`` with the estimate) a model whose parameters, with the working
    copies construction and training make, exceed the available memory. Returns the estimate
    of the parameters alone, in bytes. ``KW_MAX_MODEL_BYTES`` (an int) overrides the limit."""
    need = model_bytes(width, grid, k, dtype)
    limit = os.environ.get("KW_MAX_MODEL_BYTES")
    avail = int(limit) if limit else available_bytes()
    if avail is not None and need * WORKING_COPIES > avail:
        raise ModelTooLargeError(
            f"KAN(width={list(width)}, grid={grid}, k={k}) needs about {_fmt(need)} for its "
            f"parameters and {_fmt(need * WORKING_COPIES)} while it is built and trained; only "
            f"{_fmt(avail)} is available. Use a smaller grid or narrower layers")
    return need


def _fmt(n: int) -> str:
    x = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if x < 1024:
            return f"{x:.3g} {unit}"
        x /= 1024
    return f"{x:.3g} TB"
