"""The symbolic function library, sympy side, built from the one table in
``kan_widgets.core.functions``: every entry carries its sympy side as formula text in ``x``,
read here by the safe parser (``symbolic.parse``) and cached. ``register_function`` adds a
user function on both sides at once. Importing this module installs the definition compiler
that ``KAN.load`` uses to rebuild user functions.
"""

from __future__ import annotations

import functools
import warnings
from types import MappingProxyType

import numpy as np
import sympy as sp
import torch

from kan_widgets.core import functions as _core

from .parse import parse_formula
from .special import lambdify

__all__ = ["SYMPY_FUNCTIONS", "sympy_function", "register_function", "torch_from_sympy_def", "X"]

X = sp.Symbol("x")  # the variable definitions are written in


def _library_calls():
    """Library names usable as calls in a definition (``sgn(x)``, ``gaussian(x)``): the
    identifiers among them (but ``x``, the variable), each expanding to its definition."""
    return {n: sympy_function(n) for n, f in _core.LIBRARY.items()
            if n.isidentifier() and n != X.name and f.builtin}


@functools.lru_cache(maxsize=256)
def _parse(src: str) -> sp.Expr:
    """A definition (formula text in ``x``) as an expression, read by the safe parser."""
    if not isinstance(src, str):
        raise ValueError(f"a function definition must be text; got {type(src).__name__}")
    extra = {} if src in _BUILTIN_SOURCES else _library_calls()
    try:
        expr = parse_formula(src, functions=extra)
    except ValueError as e:
        raise ValueError(f"cannot read the function definition {src!r}: {e}") from None
    others = expr.free_symbols - {X}
    if others:
        raise ValueError(f"a function definition may use only the variable x; {src!r} also uses "
                         f"{sorted(map(str, others))}")
    return expr


def _substituting(expr):
    def f(arg):
        return expr.xreplace({X: arg})

    return f


def sympy_function(name: str):
    """``name`` as a callable on sympy expressions (built-in or registered with a definition).

    Raises KeyError for unknown names (with the closest names), ValueError for a user function
    registered without a sympy definition.
    """
    f = _core.get_function(name)
    if f.sympy_def is None:
        raise ValueError(f"user function {name!r} was registered without a sympy definition, so it "
                         "has no formula; register it with kan_widgets.register_function(name, "
                         "sympy_fn=...)")
    return _substituting(_parse(f.sympy_def))


_BUILTIN_SOURCES = frozenset(_core.LIBRARY[n].sympy_def for n in _core.BUILTIN_NAMES)
# name -> callable on sympy expressions, for every built-in (derived from the one table)
SYMPY_FUNCTIONS = MappingProxyType({n: sympy_function(n) for n in _core.BUILTIN_NAMES})


def torch_from_sympy_def(src: str):
    """A torch function ``(tensor) -> tensor`` from a sympy definition in ``x`` (lambdify)."""
    fn = lambdify(X, _parse(src), "torch")  # ValueError for a function torch lacks

    def torch_fn(z):
        out = fn(z)
        if not isinstance(out, torch.Tensor):  # a constant expression gives a number
            out = torch.full_like(z, float(out))
        return out

    torch_fn.__doc__ = f"torch version of {src}"
    return torch_fn


def _as_expr(sympy_fn) -> sp.Expr:
    """A str, an expression in ``x``, a sympy function class or a lambda -> expression in x."""
    if isinstance(sympy_fn, str):
        return _parse(sympy_fn)
    if isinstance(sympy_fn, sp.Basic) and not isinstance(sympy_fn, sp.FunctionClass):
        expr = sympy_fn
        if len(expr.free_symbols) > 1:
            raise ValueError(f"{expr} has more than one variable: {sorted(map(str, expr.free_symbols))}")
        return expr.xreplace({s: X for s in expr.free_symbols})
    if callable(sympy_fn):
        out = sympy_fn(X)
        if not isinstance(out, sp.Basic):
            raise TypeError("sympy_fn(x) must return a sympy expression for a sympy Symbol x; got "
                            f"{type(out).__name__}")
        return out
    raise TypeError(f"sympy_fn must be a str, a sympy expression or a callable; got {sympy_fn!r}")


def register_function(name, torch_fn=None, sympy_fn=None, complexity=3, safe_fn=None, domain=None,
                      search=None):
    """Add a user function to the library, torch and sympy sides at once.

    Parameters
    ----------
    name : new library key
    torch_fn : elementwise torch function; default built from ``sympy_fn`` by
        ``sympy.lambdify(..., "torch")``. A lambda that works on sympy symbols
        (``lambda x: sp.sin(x)**2``) may be passed here alone: it is taken as ``sympy_fn``.
    sympy_fn : ``"sin(x)**2"``, an expression in one symbol, a sympy function (``sp.sinh``) or a
        lambda over sympy expressions
    complexity : rank cost (built-ins: x 1, x^2 2, sin 2, tanh 3, arcsin 4)
    safe_fn, domain : optional singularity-safe variant and its validity mask (see
        ``kan_widgets.core.functions``)
    search : optional ``SearchSpec`` for the affine fit; default ``DEFAULT_SEARCH``

    The function is stored by its sympy definition, so models that use it survive
    ``save``/``load`` (``load`` rebuilds the torch side), it appears in formulas, and
    ``suggest_symbolic``/``auto_symbolic`` try it by default.

    Returns
    -------
    SymbolicFunction
    """
    if sympy_fn is None and torch_fn is not None:
        try:  # a sympy-capable lambda passed positionally
            probe = torch_fn(X)
        except Exception:  # noqa: BLE001 - any failure means: not a sympy function
            probe = None
        if isinstance(probe, sp.Basic):
            sympy_fn, torch_fn = torch_fn, None
    if sympy_fn is None:
        raise TypeError("register_function needs sympy_fn (a str like 'sin(x)**2', a sympy "
                        "expression or a lambda over sympy); for a torch-only function use "
                        "kan_widgets.core.functions.register_function")
    expr = _as_expr(sympy_fn)
    src = sp.sstr(expr)
    try:
        back = _parse(src)
    except ValueError as e:
        raise ValueError(f"the definition {expr} cannot be stored as formula text: {e}") from None
    if back != expr:  # the stored text must rebuild the same function
        raise ValueError(f"the definition {src!r} does not read back as {expr}")
    if torch_fn is None:
        torch_fn = torch_from_sympy_def(src)
    else:
        _check_agree(name, torch_fn, expr)
        try:
            torch_from_sympy_def(src)
        except ValueError as e:
            warnings.warn(f"{name!r} works in this session, but load cannot rebuild it from "
                          f"{src!r} ({e}); register it again before loading a model that uses "
                          "it", RuntimeWarning, stacklevel=2)
    return _core.register_function(name, torch_fn, src, complexity, safe_fn, domain, search)


def _reference(expr):
    """numpy values of ``expr``; through mpmath when numpy cannot compute a special function
    in it (a Bessel order torch lacks), so any definition can be checked."""
    try:
        return lambdify(X, expr, "numpy")
    except ValueError:
        f = sp.lambdify(X, expr, "mpmath")
        return np.vectorize(lambda v: complex(f(v)))


def _check_agree(name, torch_fn, expr):
    """torch_fn and the sympy definition must agree where both are finite."""
    z = np.linspace(-2.3, 2.1, 23)
    with np.errstate(all="ignore"):
        ref = np.asarray(_reference(expr)(z), dtype=complex) * np.ones_like(z)
    got = torch_fn(torch.tensor(z, dtype=torch.float64)).detach().numpy()
    real = np.isfinite(ref) & (np.abs(ref.imag) < 1e-12) & np.isfinite(got)
    bad = real & ~np.isclose(got, ref.real, rtol=1e-6, atol=1e-9)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"torch_fn and sympy_fn of {name!r} disagree at x={z[k]:.3g}: "
                         f"{got[k]:.6g} vs {ref.real[k]:.6g}")


_core.set_definition_compiler(torch_from_sympy_def)
