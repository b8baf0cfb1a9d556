"""The symbolic function library, torch side: name -> torch function, safe variant, complexity.

``kan_widgets.symbolic.sympy_functions`` maps the same names to sympy.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["SymbolicFunction", "get_function", "register_function", "function_names"]


@dataclass(frozen=True)
class SymbolicFunction:
    """One library entry.

    Attributes
    ----------
    name : key used everywhere (``"x^2"``, ``"sin"``, ...)
    fn : exact torch function, elementwise
    safe_fn : singularity-safe variant (finite values and gradients everywhere)
    complexity : cost used to rank suggestions (simpler wins ties)
    sympy_def : for user functions, the sympy source in the variable ``x`` (kept by ``save``)
    """

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    safe_fn: Callable[[torch.Tensor], torch.Tensor]
    complexity: int
    sympy_def: str | None = None


LIBRARY: dict[str, SymbolicFunction] = {}


def _add(name, fn, complexity, safe_fn=None, sympy_def=None):
    LIBRARY[name] = SymbolicFunction(name, fn, safe_fn or fn, complexity, sympy_def)


_add("0", lambda x: x * 0, 0)
_add("x", lambda x: x, 1)
_add("x^2", lambda x: x**2, 2)
_add("sin", torch.sin, 2)
_add("exp", torch.exp, 2, lambda x: torch.exp(x.clamp(max=30.0)))


def function_names() -> list[str]:
    """Names of every known function, built-in and registered."""
    return list(LIBRARY)


def get_function(name: str) -> SymbolicFunction:
    """Look up ``name``; an unknown name raises ``KeyError`` listing the closest known names."""
    try:
        return LIBRARY[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), LIBRARY, n=5, cutoff=0.3)
        hint = f" Closest: {', '.join(close)}." if close else ""
        raise KeyError(
            f"unknown symbolic function {name!r}.{hint} Known names: {', '.join(LIBRARY)}; "
            "add your own with register_function(name, torch_fn, sympy_fn, complexity)."
        ) from None


def register_function(name, torch_fn, sympy_fn=None, complexity=3, safe_fn=None):
    """Add a user function to the library (see the symbolic module for the full version)."""
    _add(name, torch_fn, complexity, safe_fn, sympy_fn)
    return LIBRARY[name]


def user_function_definitions() -> list[dict]:
    """Registered user functions as plain data (name, sympy source, complexity) for ``save``."""
    return [{"name": f.name, "sympy_def": f.sympy_def, "complexity": f.complexity}
            for f in LIBRARY.values() if f.sympy_def is not None]


def restore_user_functions(defs: list[dict]) -> None:
    """Re-register user functions saved by ``user_function_definitions`` (used by ``load``)."""
    for d in defs:
        if d["name"] not in LIBRARY:
            raise NotImplementedError("user functions need the sympy bridge")
