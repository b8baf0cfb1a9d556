"""The symbolic function library, torch side: name -> exact function, safe variant, complexity.

``kan_widgets.symbolic.sympy_functions`` maps the same names to sympy; a test checks that both
agree on sample points for every name.

Safe variants
-------------
A symbolic edge is evaluated with ``safe_fn`` in the forward pass, so training never meets an
infinity or a NaN. The rule: ``safe_fn`` equals ``fn`` wherever the argument lies in the
function's real domain and ``|fn| <= 1e6`` (``SAFE_BOUND``); outside it the argument is clamped
to the edge of that region, which keeps values *and* gradients finite (``torch.where`` on the
argument, never on the result, so no ``0 * inf`` reaches a gradient). ``domain(z)`` says where
the two agree; the affine fit only accepts parameters that keep every sample inside it.

User functions
--------------
``register_function(name, torch_fn, sympy_def, complexity)`` adds an entry. ``sympy_def`` is
the sympy source of the function in the variable ``x`` (``"sin(x)**2"``): it is what ``save``
stores, and ``restore_user_functions`` (called by ``load``) rebuilds the torch function from
it with ``sympy.lambdify(..., "torch")``. That rebuild imports ``kan_widgets.symbolic``
*inside the function*, so ``kan_widgets.core`` itself never imports sympy; models without
user functions load without it. ``kan_widgets.register_function`` (the symbolic layer) accepts
sympy callables and expressions and fills in both sides.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["SymbolicFunction", "get_function", "register_function", "unregister_function",
           "function_names", "default_library", "user_function_definitions",
           "restore_user_functions", "domain_of", "SAFE_BOUND"]

SAFE_BOUND = 1e6  # |safe_fn| never exceeds about this near a singularity


@dataclass(frozen=True)
class SymbolicFunction:
    """One library entry.

    Attributes
    ----------
    name : key used everywhere (``"x^2"``, ``"sin"``, ...)
    fn : exact torch function, elementwise
    safe_fn : singularity-safe variant (finite values and gradients everywhere)
    complexity : cost used to rank suggestions (simpler wins ties)
    sympy_def : sympy source in ``x`` (user functions; ``None`` for built-ins)
    domain : ``z -> bool tensor``, True where ``safe_fn(z) == fn(z)``; ``None`` = everywhere
        the exact function is finite
    alias_of : built-in aliases (``"x^0.5"`` of ``"sqrt"``) are left out of the default
        suggestion library, so one function is not listed twice
    builtin : False for user functions
    """

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    safe_fn: Callable[[torch.Tensor], torch.Tensor]
    complexity: int
    sympy_def: str | None = None
    domain: Callable[[torch.Tensor], torch.Tensor] | None = None
    alias_of: str | None = None
    builtin: bool = True


LIBRARY: dict[str, SymbolicFunction] = {}


def _add(name, fn, complexity, safe_fn=None, domain=None, alias_of=None):
    LIBRARY[name] = SymbolicFunction(name, fn, safe_fn or fn, complexity, None, domain, alias_of)


# ----------------------------------------------------------------------------- safe helpers
def _away_from_zero(z, eps):
    """``z`` with ``|z| >= eps`` (sign kept, 0 -> +eps); the clamped part has zero gradient."""
    e = torch.full_like(z, eps)
    return torch.where(z.abs() < eps, torch.where(z < 0, -e, e), z)


def _inv_pow(n):
    eps = SAFE_BOUND ** (-1.0 / n)  # |1/z^n| <= SAFE_BOUND
    return (lambda z: 1 / z**n,
            lambda z: (_away_from_zero(z, eps) ** n).reciprocal(),
            lambda z: z.abs() >= eps)


_SQRT_EPS = SAFE_BOUND ** -2.0  # 1/sqrt(z) <= SAFE_BOUND; sqrt's gradient stays finite too
_LOG_EPS = 1e-6
_TAN_EPS = 1 / SAFE_BOUND
_ASIN_EPS = 1e-6  # arcsin/arccos/arctanh: argument kept in [-1 + eps, 1 - eps]
_EXP_MAX = 30.0  # exp(30) ~ 1e13; cosh and sinh as well


def _safe_tan(z):
    c = torch.cos(z)
    return torch.sin(z) / _away_from_zero(c, _TAN_EPS)


def _unit(z):
    return z.clamp(-1 + _ASIN_EPS, 1 - _ASIN_EPS)


def _inside_unit(z):
    return z.abs() <= 1 - _ASIN_EPS


def _gaussian(z):
    return torch.exp(-z * z)


# ----------------------------------------------------------------------------- the table
_add("0", lambda z: z * 0, 0)
_add("x", lambda z: z, 1)
for _n, _c in ((2, 2), (3, 3), (4, 3), (5, 3)):  # complexities as pykan 0.2.8
    _add(f"x^{_n}", (lambda n: lambda z: z**n)(_n), _c)
for _n, _c in ((1, 2), (2, 2), (3, 3), (4, 4), (5, 5)):
    _f, _s, _d = _inv_pow(_n)
    _add("1/x" if _n == 1 else f"1/x^{_n}", _f, _c, _s, _d)
_add("sqrt", torch.sqrt, 2, lambda z: torch.sqrt(z.clamp(min=_SQRT_EPS)), lambda z: z >= 0)
_add("x^0.5", torch.sqrt, 2, LIBRARY["sqrt"].safe_fn, LIBRARY["sqrt"].domain, "sqrt")
_add("x^1.5", lambda z: torch.sqrt(z) ** 3, 4, lambda z: z.clamp(min=0) ** 1.5, lambda z: z >= 0)
_add("1/sqrt(x)", torch.rsqrt, 2, lambda z: torch.rsqrt(z.clamp(min=_SQRT_EPS)),
     lambda z: z >= _SQRT_EPS)
_add("1/x^0.5", torch.rsqrt, 2, LIBRARY["1/sqrt(x)"].safe_fn, LIBRARY["1/sqrt(x)"].domain,
     "1/sqrt(x)")
_add("exp", torch.exp, 2, lambda z: torch.exp(z.clamp(max=_EXP_MAX)), lambda z: z <= _EXP_MAX)
_add("log", torch.log, 2, lambda z: torch.log(z.clamp(min=_LOG_EPS)), lambda z: z >= _LOG_EPS)
_add("abs", torch.abs, 3)
_add("sin", torch.sin, 2)
_add("cos", torch.cos, 2)
_add("tan", torch.tan, 3, _safe_tan, lambda z: torch.cos(z).abs() >= _TAN_EPS)
_add("tanh", torch.tanh, 3)
_add("sgn", torch.sign, 3)
_add("arcsin", torch.arcsin, 4, lambda z: torch.arcsin(_unit(z)), _inside_unit)
_add("arccos", torch.arccos, 4, lambda z: torch.arccos(_unit(z)), _inside_unit)
_add("arctan", torch.arctan, 4)
_add("arctanh", torch.arctanh, 4, lambda z: torch.arctanh(_unit(z)), _inside_unit)
_add("gaussian", _gaussian, 3)
_add("cosh", torch.cosh, 5, lambda z: torch.cosh(z.clamp(-_EXP_MAX, _EXP_MAX)),
     lambda z: z.abs() <= _EXP_MAX)
_add("sinh", torch.sinh, 5, lambda z: torch.sinh(z.clamp(-_EXP_MAX, _EXP_MAX)),
     lambda z: z.abs() <= _EXP_MAX)
_add("sigmoid", torch.sigmoid, 4)

BUILTIN_NAMES = tuple(LIBRARY)
PYKAN_NAMES = BUILTIN_NAMES[:-3]  # pykan 0.2.8's 29 names; cosh, sinh, sigmoid are extra


# ----------------------------------------------------------------------------- lookup
def function_names() -> list[str]:
    """Names of every known function, built-in and registered."""
    return list(LIBRARY)


def default_library() -> list[str]:
    """The names ``suggest_symbolic`` and ``auto_symbolic`` try by default: every function
    except aliases (``x^0.5``, ``1/x^0.5``), user functions included."""
    return [n for n, f in LIBRARY.items() if f.alias_of is None]


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


# ----------------------------------------------------------------------------- user functions
def register_function(name, torch_fn, sympy_def=None, complexity=3, safe_fn=None, domain=None):
    """Add (or replace) a user function. Returns its ``SymbolicFunction``.

    Parameters
    ----------
    name : new key; built-in names cannot be replaced
    torch_fn : elementwise torch function ``(...) -> (...)``
    sympy_def : sympy source in ``x`` (``"x*exp(-x)"``); needed for ``formula`` and to
        survive ``save``/``load``. Without it the function works in this session only.
    complexity : rank cost (built-ins: x 1, x^2 2, sin 2, tanh 3, arcsin 4)
    safe_fn : finite variant for the forward pass; default ``torch_fn`` itself
    domain : ``z -> bool tensor`` where ``safe_fn`` is valid; default where ``torch_fn`` is
        finite

    ``kan_widgets.register_function`` is the friendlier front end: it takes a sympy function
    or lambda and builds the torch side for you.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"a function name must be a non-empty str; got {name!r}")
    if name in BUILTIN_NAMES:
        raise ValueError(f"{name!r} is a built-in function and cannot be replaced; pick another "
                         "name")
    if not callable(torch_fn):
        raise TypeError(f"torch_fn must be callable; got {type(torch_fn).__name__}")
    if sympy_def is not None and not isinstance(sympy_def, str):
        raise TypeError("sympy_def is the sympy source of the function in x, as a str (use "
                        "kan_widgets.register_function to pass sympy objects)")
    complexity = int(complexity)
    if complexity < 0:
        raise ValueError(f"complexity must be >= 0; got {complexity}")
    LIBRARY[name] = SymbolicFunction(name, torch_fn, safe_fn or torch_fn, complexity, sympy_def,
                                     domain, None, builtin=False)
    return LIBRARY[name]


def unregister_function(name: str) -> None:
    """Remove a user function (models that use it can no longer be evaluated)."""
    f = get_function(name)
    if f.builtin:
        raise ValueError(f"{name!r} is a built-in function and cannot be removed")
    del LIBRARY[name]


def user_function_definitions() -> list[dict]:
    """Registered user functions as plain data, for ``save``.

    Returns
    -------
    list of ``{"name", "sympy_def", "complexity"}``; ``sympy_def`` is None for functions
    registered without one (they cannot be rebuilt by ``load``).
    """
    return [{"name": f.name, "sympy_def": f.sympy_def, "complexity": f.complexity}
            for f in LIBRARY.values() if not f.builtin]


def restore_user_functions(defs: list[dict]) -> None:
    """Re-register user functions saved by ``user_function_definitions`` (used by ``load``).

    A name already registered with the same definition is kept as is. A different definition
    under the same name is replaced by the saved one, with a warning (the loaded model was
    trained with it). A function saved without a sympy definition cannot be rebuilt: if it is
    not registered in this session, a warning says to register it before using the model.
    """
    for d in defs:
        name, src, cx = d["name"], d.get("sympy_def"), int(d.get("complexity", 3))
        cur = LIBRARY.get(name)
        if cur is not None and (cur.builtin or src is None or cur.sympy_def == src):
            continue
        if src is None:
            warnings.warn(f"the model uses user function {name!r}, saved without a sympy "
                          "definition; register it again (register_function) before using the "
                          "model", RuntimeWarning, stacklevel=3)
            continue
        from kan_widgets.symbolic.sympy_functions import torch_from_sympy_def  # lazy: see module doc

        if cur is not None:
            warnings.warn(f"user function {name!r} is registered as {cur.sympy_def!r}; the loaded "
                          f"model defines it as {src!r}, which replaces it", RuntimeWarning,
                          stacklevel=3)
        register_function(name, torch_from_sympy_def(src), src, cx)


def domain_of(f: SymbolicFunction):
    """Where ``f.safe_fn`` is valid: ``f.domain``; for a user function without one, where its
    exact function is finite; ``None`` (everywhere) for the remaining built-ins."""
    if f.domain is not None or f.builtin:
        return f.domain
    return lambda z: torch.isfinite(f.fn(z))
