"""Helpers of the core tests: bitwise comparison of a model's whole state."""

import math
import sys
import types

import torch

FITTED = ("history_", "X_fit_", "variables_", "output_names_", "edge_scores_", "node_scores_",
          "symbolic_fits_", "config", "width")


def _plain(v):
    if isinstance(v, torch.Tensor):
        return ("tensor", v.dtype, tuple(v.shape), v.detach().clone())
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if type(v) in (list, tuple):
        return type(v)(_plain(x) for x in v)
    return v


def full_state(model) -> dict:
    """Every tensor of the state dict, the fitted attributes, symbolic names and version."""
    return {
        "sd": {k: _plain(v) for k, v in model.state_dict().items()},
        "fitted": {k: _plain(getattr(model, k, None)) for k in FITTED},
        "sym": [dict(layer.sym_names) for layer in model.layers],
        "G": [layer.G for layer in model.layers],
        "report": hasattr(model, "auto_symbolic_report_"),
        "version": model.version,
    }


def assert_same(a, b, path="state"):
    """Bitwise equality of two ``full_state`` results (``torch.equal`` on every tensor)."""
    if isinstance(a, tuple) and a and a[0] == "tensor":
        assert isinstance(b, tuple) and b[:3] == a[:3], path
        assert torch.equal(a[3], b[3]), f"{path} differs"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: keys differ"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif type(a) in (list, tuple):
        assert type(a) is type(b) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), path
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


# importable as ``tests_bitwise`` by the test modules of this folder, whatever pytest's
# import mode (tests/ has no __init__.py)
sys.modules.setdefault("tests_bitwise", types.SimpleNamespace(full_state=full_state,
                                                             assert_same=assert_same))
