"""The symbolic function library, sympy side: the names of ``kan_widgets.core.functions``
mapped to sympy, plus ``register_function`` for user functions (both sides at once)."""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp
import torch

from kan_widgets.core import functions as _core

__all__ = ["SYMPY_FUNCTIONS", "sympy_function", "register_function", "torch_from_sympy_def", "X"]

X = sp.Symbol("x")  # the variable user definitions are written in

SYMPY_FUNCTIONS = {
    "0": lambda x: sp.Integer(0),
    "x": lambda x: x,
    "x^2": lambda x: x**2,
    "x^3": lambda x: x**3,
    "x^4": lambda x: x**4,
    "x^5": lambda x: x**5,
    "1/x": lambda x: 1 / x,
    "1/x^2": lambda x: x**-2,
    "1/x^3": lambda x: x**-3,
    "1/x^4": lambda x: x**-4,
    "1/x^5": lambda x: x**-5,
    "sqrt": sp.sqrt,
    "x^0.5": sp.sqrt,
    "x^1.5": lambda x: x ** sp.Rational(3, 2),
    "1/sqrt(x)": lambda x: 1 / sp.sqrt(x),
    "1/x^0.5": lambda x: 1 / sp.sqrt(x),
    "exp": sp.exp,
    "log": sp.log,
    "abs": sp.Abs,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "tanh": sp.tanh,
    "sgn": sp.sign,
    "arcsin": sp.asin,
    "arccos": sp.acos,
    "arctan": sp.atan,
    "arctanh": sp.atanh,
    "gaussian": lambda x: sp.exp(-(x**2)),
    "cosh": sp.cosh,
    "sinh": sp.sinh,
    "sigmoid": lambda x: 1 / (1 + sp.exp(-x)),
}


@functools.lru_cache(maxsize=256)
def _parse(src: str) -> sp.Expr:
    """A user definition (sympy source in ``x``) as an expression."""
    try:
        expr = sp.sympify(src, locals={"x": X})
    except (sp.SympifyError, SyntaxError, TypeError) as e:
        raise ValueError(f"cannot read the function definition {src!r} as sympy: {e}") from None
    extra = expr.free_symbols - {X}
    if extra:
        raise ValueError(f"a function definition may use only the variable x; {src!r} also uses "
                         f"{sorted(map(str, extra))}")
    return expr


def sympy_function(name: str):
    """``name`` as a callable on sympy expressions (built-in or registered with a definition).

    Raises KeyError for unknown names (with the closest names), ValueError for a user function
    registered without a sympy definition.
    """
    f = _core.get_function(name)
    if name in SYMPY_FUNCTIONS:
        return SYMPY_FUNCTIONS[name]
    if f.sympy_def is None:
        raise ValueError(f"user function {name!r} was registered without a sympy definition, so it "
                         "has no formula; register it with kan_widgets.register_function(name, "
                         "sympy_fn=...)")
    expr = _parse(f.sympy_def)
    return lambda arg: expr.xreplace({X: arg})


def torch_from_sympy_def(src: str):
    """A torch function ``(tensor) -> tensor`` from a sympy definition in ``x`` (lambdify)."""
    fn = sp.lambdify(X, _parse(src), modules="torch")

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
        expr = sp.sympify(sympy_fn)
        if len(expr.free_symbols) > 1:
            raise ValueError(f"{expr} has more than one variable: {sorted(map(str, expr.free_symbols))}")
        return expr.xreplace({s: X for s in expr.free_symbols})
    if callable(sympy_fn):
        out = sympy_fn(X)
        if not isinstance(out, sp.Basic):
            raise TypeError("sympy_fn(x) must return a sympy expression for a sympy Symbol x; got "
                            f"{type(out).__name__}")
        return sp.sympify(out)
    raise TypeError(f"sympy_fn must be a str, a sympy expression or a callable; got {sympy_fn!r}")


def register_function(name, torch_fn=None, sympy_fn=None, complexity=3, safe_fn=None, domain=None):
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
    if _parse(src) != expr:  # the stored text must rebuild the same function
        raise ValueError(f"the definition {src!r} does not read back as {expr}")
    if torch_fn is None:
        torch_fn = torch_from_sympy_def(src)
    else:
        _check_agree(name, torch_fn, expr)
    return _core.register_function(name, torch_fn, src, complexity, safe_fn, domain)


def _check_agree(name, torch_fn, expr):
    """torch_fn and the sympy definition must agree where both are finite."""
    z = np.linspace(-2.3, 2.1, 23)
    with np.errstate(all="ignore"):
        ref = np.asarray(sp.lambdify(X, expr, "numpy")(z), dtype=complex) * np.ones_like(z)
    got = torch_fn(torch.tensor(z, dtype=torch.float64)).detach().numpy()
    real = np.isfinite(ref) & (np.abs(ref.imag) < 1e-12) & np.isfinite(got)
    bad = real & ~np.isclose(got, ref.real, rtol=1e-6, atol=1e-9)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"torch_fn and sympy_fn of {name!r} disagree at x={z[k]:.3g}: "
                         f"{got[k]:.6g} vs {ref.real[k]:.6g}")
