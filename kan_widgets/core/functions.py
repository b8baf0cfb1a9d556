"""The symbolic function library: one table, one entry per function with everything about it.

Each entry (``SymbolicFunction``) holds the exact torch function, its singularity-safe
variant and their common domain, a complexity, an alias, the affine-search spec that
``core.affine_fit`` uses, and the sympy side as *source text in x* (``"sin(x)"``,
``"exp(-x**2)"``), exactly as user functions store theirs. ``kan_widgets.symbolic`` reads
that text with its safe parser to build the sympy callables; a test checks that both sides
agree on sample points for every name.

**Adding a built-in is one edit here**: one ``_add(...)`` line in the table below (torch
function, complexity, sympy text, search spec, and a safe variant/domain if it has
singularities). Nothing else in the package lists the built-ins.

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
the formula text of the function in the variable ``x`` (``"sin(x)**2"``): it is what ``save``
stores. ``restore_user_functions`` (called by ``load``) rebuilds the torch function from it
through a *definition compiler*, ``str -> torch function``, that the symbolic layer installs
with ``set_definition_compiler`` (``import kan_widgets`` installs one that imports the symbolic
layer on first use). ``kan_widgets.core`` never imports sympy nor the symbolic layer; models
without user functions load without it. ``kan_widgets.register_function`` (the symbolic
layer) accepts sympy callables and expressions and fills in both sides. A user function
registered without a search spec is searched with ``DEFAULT_SEARCH`` (no symmetry assumed).
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["SymbolicFunction", "SearchSpec", "get_function", "register_function",
           "unregister_function", "function_names", "default_library",
           "user_function_definitions", "restore_user_functions", "set_definition_compiler",
           "domain_of", "search_of", "SAFE_BOUND", "DEFAULT_SEARCH", "BUILTIN_NAMES"]

SAFE_BOUND = 1e6  # |safe_fn| never exceeds about this near a singularity


@dataclass(frozen=True)
class SearchSpec:
    """How ``core.affine_fit`` searches ``(a, b)`` for one function (see its module doc).

    kind : ``zero | linear | scale | shift | phase | center`` (and ``range``, built by
        ``core.affine_fit`` from a user's ``a_range``/``b_range``: ``th1``, ``th2`` are raw
        ``a`` and ``b`` values)
    th1, th2 : the coarse grid of the two search parameters (``th2 = (0,)`` for 1-D kinds)
    """

    kind: str
    th1: tuple = ()
    th2: tuple = (0.0,)


@dataclass(frozen=True)
class SymbolicFunction:
    """One library entry.

    Attributes
    ----------
    name : key used everywhere (``"x^2"``, ``"sin"``, ...)
    fn : exact torch function, elementwise
    safe_fn : singularity-safe variant (finite values and gradients everywhere)
    complexity : cost used to rank suggestions (simpler wins ties)
    sympy_def : formula text in ``x`` (``"sin(x)"``), read by ``kan_widgets.symbolic``; ``None``
        for a user function registered without one
    domain : ``z -> bool tensor``, True where ``safe_fn(z) == fn(z)``; ``None`` = everywhere
        the exact function is finite
    alias_of : built-in aliases (``"x^0.5"`` of ``"sqrt"``) are left out of the default
        suggestion library, so one function is not listed twice
    builtin : False for user functions
    search : the affine-search spec; ``None`` means ``DEFAULT_SEARCH`` (see ``search_of``)
    """

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    safe_fn: Callable[[torch.Tensor], torch.Tensor]
    complexity: int
    sympy_def: str | None = None
    domain: Callable[[torch.Tensor], torch.Tensor] | None = None
    alias_of: str | None = None
    builtin: bool = True
    search: SearchSpec | None = None


LIBRARY: dict[str, SymbolicFunction] = {}


def _add(name, fn, complexity, sympy, search, safe_fn=None, domain=None, alias_of=None):
    LIBRARY[name] = SymbolicFunction(name, fn, safe_fn or fn, complexity, sympy, domain, alias_of,
                                     True, search)


# ----------------------------------------------------------------------------- search specs
def _lin(lo, hi, n, endpoint=True):
    step = (hi - lo) / (n - 1 if endpoint else n)
    return tuple(lo + step * i for i in range(n))


_ZERO, _LINEAR = SearchSpec("zero"), SearchSpec("linear")
_SCALE = SearchSpec("scale", tuple(sorted(set(_lin(-3.0, 3.0, 49) + tuple(
    s * 10 ** (math.log10(3.5) + i * (2 - math.log10(3.5)) / 9)
    for s in (-1, 1) for i in range(10))))))
_EXP = SearchSpec("shift", _lin(-12.0, 12.0, 49))
_TRIG = SearchSpec("phase", _lin(0.25, 12.0, 48), _lin(-math.pi / 2, math.pi / 2, 12, False))
_TAN = SearchSpec("phase", _lin(0.05, 1.55, 16), _lin(-1.5, 1.5, 13))
_UNIT = SearchSpec("phase", _lin(0.05, 1.0, 20), _lin(-0.95, 0.95, 20))  # arcsin and co.
_LOG_A = _lin(math.log(0.1), math.log(20.0), 24)
_SIGMOID = SearchSpec("center", _lin(math.log(0.2), math.log(40.0), 24), _lin(-2.0, 2.0, 17))
_STEP = SearchSpec("center", _LOG_A, _lin(-2.0, 2.0, 17))  # tanh, arctan
_BUMP = SearchSpec("center", _lin(math.log(0.1), math.log(12.0), 24), _lin(-3.0, 3.0, 25))
_HYP = SearchSpec("center", _lin(math.log(0.1), math.log(8.0), 20), _lin(-3.0, 3.0, 25))
# user functions: no symmetry known, so both signs of alpha and a plain (alpha, beta) grid
DEFAULT_SEARCH = SearchSpec("phase", tuple(v for v in _lin(-10.0, 10.0, 41) if v != 0),
                            _lin(-5.0, 5.0, 21))


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
# name, torch fn, complexity (as pykan 0.2.8), sympy text in x, search spec[, safe, domain]
_add("0", lambda z: z * 0, 0, "0", _ZERO)
_add("x", lambda z: z, 1, "x", _LINEAR)
for _n, _c in ((2, 2), (3, 3), (4, 3), (5, 3)):
    _add(f"x^{_n}", (lambda n: lambda z: z**n)(_n), _c, f"x**{_n}", _SCALE)
for _n, _c in ((1, 2), (2, 2), (3, 3), (4, 4), (5, 5)):
    _f, _s, _d = _inv_pow(_n)
    _add("1/x" if _n == 1 else f"1/x^{_n}", _f, _c, f"x**(-{_n})", _SCALE, _s, _d)
_add("sqrt", torch.sqrt, 2, "sqrt(x)", _SCALE, lambda z: torch.sqrt(z.clamp(min=_SQRT_EPS)),
     lambda z: z >= 0)
_add("x^0.5", torch.sqrt, 2, "sqrt(x)", _SCALE, LIBRARY["sqrt"].safe_fn, LIBRARY["sqrt"].domain,
     "sqrt")
_add("x^1.5", lambda z: torch.sqrt(z) ** 3, 4, "x**(3/2)", _SCALE,
     lambda z: z.clamp(min=0) ** 1.5, lambda z: z >= 0)
_add("1/sqrt(x)", torch.rsqrt, 2, "1/sqrt(x)", _SCALE,
     lambda z: torch.rsqrt(z.clamp(min=_SQRT_EPS)), lambda z: z >= _SQRT_EPS)
_add("1/x^0.5", torch.rsqrt, 2, "1/sqrt(x)", _SCALE, LIBRARY["1/sqrt(x)"].safe_fn,
     LIBRARY["1/sqrt(x)"].domain, "1/sqrt(x)")
_add("exp", torch.exp, 2, "exp(x)", _EXP, lambda z: torch.exp(z.clamp(max=_EXP_MAX)),
     lambda z: z <= _EXP_MAX)
_add("log", torch.log, 2, "log(x)", _SCALE, lambda z: torch.log(z.clamp(min=_LOG_EPS)),
     lambda z: z >= _LOG_EPS)
_add("abs", torch.abs, 3, "Abs(x)", _SCALE)
_add("sin", torch.sin, 2, "sin(x)", _TRIG)
_add("cos", torch.cos, 2, "cos(x)", _TRIG)
_add("tan", torch.tan, 3, "tan(x)", _TAN, _safe_tan, lambda z: torch.cos(z).abs() >= _TAN_EPS)
_add("tanh", torch.tanh, 3, "tanh(x)", _STEP)
_add("sgn", torch.sign, 3, "sign(x)", _SCALE)
_add("arcsin", torch.arcsin, 4, "asin(x)", _UNIT, lambda z: torch.arcsin(_unit(z)), _inside_unit)
_add("arccos", torch.arccos, 4, "acos(x)", _UNIT, lambda z: torch.arccos(_unit(z)), _inside_unit)
_add("arctan", torch.arctan, 4, "atan(x)", _STEP)
_add("arctanh", torch.arctanh, 4, "atanh(x)", _UNIT, lambda z: torch.arctanh(_unit(z)),
     _inside_unit)
_add("gaussian", _gaussian, 3, "exp(-x**2)", _BUMP)
_add("cosh", torch.cosh, 5, "cosh(x)", _HYP, lambda z: torch.cosh(z.clamp(-_EXP_MAX, _EXP_MAX)),
     lambda z: z.abs() <= _EXP_MAX)
_add("sinh", torch.sinh, 5, "sinh(x)", _HYP, lambda z: torch.sinh(z.clamp(-_EXP_MAX, _EXP_MAX)),
     lambda z: z.abs() <= _EXP_MAX)
_add("sigmoid", torch.sigmoid, 4, "1/(1 + exp(-x))", _SIGMOID)

BUILTIN_NAMES = tuple(LIBRARY)


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
def register_function(name, torch_fn, sympy_def=None, complexity=3, safe_fn=None, domain=None,
                      search=None):
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
    search : ``SearchSpec`` for the affine fit; default ``DEFAULT_SEARCH`` (no symmetry)

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
    if search is not None and not isinstance(search, SearchSpec):
        raise TypeError(f"search must be a SearchSpec; got {type(search).__name__}")
    complexity = int(complexity)
    if complexity < 0:
        raise ValueError(f"complexity must be >= 0; got {complexity}")
    LIBRARY[name] = SymbolicFunction(name, torch_fn, safe_fn or torch_fn, complexity, sympy_def,
                                     domain, None, builtin=False, search=search)
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


# str -> torch function; installed by the symbolic layer (core never imports it)
_definition_compiler: Callable[[str], Callable] | None = None


def set_definition_compiler(compiler: Callable[[str], Callable] | None):
    """Install the function that turns a saved definition (formula text in ``x``) into a torch
    function; ``restore_user_functions`` uses it. Returns the previous one (``None`` removes).

    ``kan_widgets.symbolic`` installs its safe formula reader on import, and ``import
    kan_widgets`` installs a stand-in that imports the symbolic layer on first use.
    """
    global _definition_compiler
    if compiler is not None and not callable(compiler):
        raise TypeError(f"the definition compiler must be callable; got {compiler!r}")
    previous, _definition_compiler = _definition_compiler, compiler
    return previous


def _compile_definition(name, src):
    if _definition_compiler is None:
        raise RuntimeError(f"the model uses user function {name!r}, defined by the formula "
                           f"{src!r}; rebuilding it needs the symbolic layer: run "
                           "`import kan_widgets.symbolic` (or `import kan_widgets`) before "
                           "loading the model")
    return _definition_compiler(src)


def restore_user_functions(defs: list[dict]) -> None:
    """Re-register user functions saved by ``user_function_definitions`` (used by ``load``).

    A name already registered with the same definition is kept as is. A name registered with
    another definition (or without one) is refused with ``ValueError``: models of this
    session may use it, and silently redefining it would change them; unregister it first
    (``unregister_function``) or rename it. A function saved without a sympy definition
    cannot be rebuilt: if it is not registered in this session, a warning says to register
    it before using the model. Every definition is compiled (read by the safe formula reader,
    never evaluated as Python) before any is registered, so a bad one raises ``ValueError``
    and registers nothing.
    """
    todo = []
    for d in defs:
        name, src, cx = d["name"], d.get("sympy_def"), int(d.get("complexity", 3))
        cur = LIBRARY.get(name)
        if cur is not None and (cur.builtin or src is None or cur.sympy_def == src):
            continue
        if cur is not None:
            raise ValueError(
                f"the model defines user function {name!r} as {src!r}, but {name!r} is already "
                f"registered here as {cur.sympy_def!r}; models in this session may use it, so it "
                f"is not redefined. Unregister it first (unregister_function({name!r})) or "
                "register the loaded definition under another name")
        if src is None:
            warnings.warn(f"the model uses user function {name!r}, saved without a sympy "
                          "definition; register it again (register_function) before using the "
                          "model", RuntimeWarning, stacklevel=3)
            continue
        if not isinstance(src, str):
            raise ValueError(f"not a valid kan_widgets model: the definition of user function "
                             f"{name!r} is not text: {type(src).__name__}")
        try:
            todo.append((name, src, cx, _compile_definition(name, src)))
        except (ValueError, TypeError, KeyError, SyntaxError) as err:
            raise ValueError(f"not a valid kan_widgets model: the definition of user function "
                             f"{name!r} is refused: {err}") from None
    for name, src, cx, torch_fn in todo:
        register_function(name, torch_fn, src, cx)


def search_of(f: SymbolicFunction) -> SearchSpec:
    """The affine-search spec of ``f``: its own, else ``DEFAULT_SEARCH``."""
    return f.search or DEFAULT_SEARCH


def domain_of(f: SymbolicFunction):
    """Where ``f.safe_fn`` is valid: ``f.domain``; for a user function without one, where its
    exact function is finite; ``None`` (everywhere) for the remaining built-ins."""
    if f.domain is not None or f.builtin:
        return f.domain
    return lambda z: torch.isfinite(f.fn(z))
