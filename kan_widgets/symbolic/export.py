"""Export formulas: to a callable (numpy, torch or plain Python) or to Python source code."""

from __future__ import annotations

import keyword
import re

import numpy as np
import sympy as sp

from .parse import as_expression
from .special import lambdify, source_printer

__all__ = ["to_callable", "to_source", "BACKENDS"]

BACKENDS = {"numpy": "numpy", "torch": "torch", "python": "math"}


def _as_list(expr):
    if isinstance(expr, (list, tuple)):
        return [as_expression(e) for e in expr], False
    return [as_expression(expr)], True


def _numeric_constants(e):
    """``sqrt(2)``, ``log(3)``, ``pi``... as floats: torch functions do not take Python numbers."""
    return e.replace(lambda t: t.is_number and not t.is_Number and bool(t.is_real),
                     lambda t: sp.Float(t.evalf(17), 17))


def _natural(sym):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", sym.name)]


def _variables(exprs, variables):
    """Symbols in argument order: ``variables`` (names or Symbols), else the free symbols of
    ``exprs`` in natural order (x_2 before x_10)."""
    if variables is None:
        return sorted(set().union(*(e.free_symbols for e in exprs)), key=_natural)
    syms = [v if isinstance(v, sp.Symbol) else sp.Symbol(str(v)) for v in variables]
    by_name = {s.name: s for e in exprs for s in e.free_symbols}
    syms = [by_name.get(s.name, s) for s in syms]  # match by name, whatever the assumptions
    missing = set().union(*(e.free_symbols for e in exprs)) - set(syms)
    if missing:
        raise ValueError(f"the formula uses {sorted(s.name for s in missing)}, which are not in "
                         f"variables={[s.name for s in syms]}")
    return syms


def _check_backend(backend):
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {sorted(BACKENDS)}")


def to_callable(expr, variables=None, backend="numpy"):
    """A function that evaluates ``expr`` (one expression or a list, e.g. ``formula(model)``).

    Parameters
    ----------
    expr : sympy expression or list of them (formula text is read by the safe parser)
    variables : argument order, as names or Symbols; default the free symbols in natural
        order. Give the model's input names to evaluate on its ``X`` (a pruned input may be
        absent from the formula).
    backend : "numpy", "torch" or "python" (``math``, scalars)

    Returns
    -------
    callable. numpy/torch: ``f(X)`` with ``X`` of shape (n, n_vars), or ``f(x1, x2, ...)``
    with one array per variable; returns (n,) for one expression and (n, n_exprs) for a list.
    python: ``f(x1, x2, ...)`` on floats, returning a float (or a list).
    """
    _check_backend(backend)
    exprs, single = _as_list(expr)
    syms = _variables(exprs, variables)
    f = _EXPORTERS[backend](exprs, syms, single)
    f.__doc__ = f"{backend} version of {exprs[0] if single else exprs}; variables {syms}"
    return f


def _python_callable(exprs, syms, single):
    """Scalars in, float (or list of floats) out, through ``math``."""
    fn = lambdify(syms, exprs, "math")

    def f(*args):
        if len(args) != len(syms):
            raise TypeError(f"expected {len(syms)} arguments ({[s.name for s in syms]}); "
                            f"got {len(args)}")
        out = [float(v) for v in fn(*args)]
        return out[0] if single else out

    return f


def _numpy_callable(exprs, syms, single):
    fn = lambdify(syms, exprs, "numpy")

    def asarray(v, like=None):
        v = np.asarray(v)
        return v.astype(np.float64) if v.dtype.kind in "biu" else v

    def widen(v, shape):
        return np.broadcast_to(v, shape).copy()

    return _array_callable(fn, syms, single, asarray, widen, np.stack)


def _torch_callable(exprs, syms, single):
    import torch

    # torch functions do not take Python numbers: constants such as sqrt(2) become floats
    fn = lambdify(syms, [_numeric_constants(e) for e in exprs], "torch")

    def asarray(v, like=None):
        if like is not None:  # results follow the input's dtype and device
            return torch.as_tensor(v, dtype=like.dtype, device=like.device)
        return v if isinstance(v, torch.Tensor) else \
            torch.as_tensor(v, dtype=torch.get_default_dtype())

    def widen(v, shape):
        return v.expand(shape).clone()

    return _array_callable(fn, syms, single, asarray, widen, torch.stack, like_first=True)


def _array_callable(fn, syms, single, asarray, widen, stack, like_first=False):
    """The array calling convention shared by numpy and torch: ``f(X)`` with X (n, n_vars)
    or ``f(x1, x2, ...)``; constant results are broadcast to the inputs' shape."""
    def f(*args):
        if len(args) == 1 and getattr(args[0], "ndim", 0) == 2:
            X = args[0]
            if X.shape[1] != len(syms):
                raise ValueError(f"X has {X.shape[1]} columns; the formula takes {len(syms)} "
                                 f"({[s.name for s in syms]})")
            cols, shape = [X[:, k] for k in range(len(syms))], (X.shape[0],)
        else:
            if len(args) != len(syms):
                raise TypeError(f"expected X of shape (n, {len(syms)}) or {len(syms)} arrays "
                                f"({[s.name for s in syms]}); got {len(args)} arguments")
            cols = [asarray(a) for a in args]
            shape = tuple(np.broadcast_shapes(*(tuple(c.shape) for c in cols))) if cols else ()
        like = cols[0] if cols and like_first else None
        outs = [asarray(v, like) for v in fn(*cols)]
        outs = [v if tuple(v.shape) == shape else widen(v, shape) for v in outs]
        return outs[0] if single else stack(outs, -1)

    return f


_EXPORTERS = {"numpy": _numpy_callable, "torch": _torch_callable, "python": _python_callable}


def _identifier(name, k):
    ok = re.match(r"^[A-Za-z_]\w*$", name) and not keyword.iskeyword(name)
    return name if ok else f"x{k}"


def to_source(expr, variables=None, backend="numpy", name="f"):
    """Python source code of a function computing ``expr`` (one expression or a list).

    The code is self-contained (its own import) and keeps every digit of the constants::

        import numpy

        def f(x, y):
            return numpy.exp(y**2 + numpy.sin(3.14159265358979*x))

    A list of expressions returns a tuple. Variables whose names are not Python identifiers
    are renamed ``x0, x1, ...``.
    """
    _check_backend(backend)
    if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)):
        raise ValueError(f"name must be a Python identifier; got {name!r}")
    exprs, single = _as_list(expr)
    syms = _variables(exprs, variables)
    args = [sp.Symbol(_identifier(s.name, k)) for k, s in enumerate(syms)]
    exprs = [e.xreplace(dict(zip(syms, args))) for e in exprs]
    if backend == "torch":
        exprs = [_numeric_constants(e) for e in exprs]
    printer = source_printer(BACKENDS[backend])  # ValueError for a function it cannot write
    body = [printer.doprint(e) for e in exprs]
    ret = body[0] if single else "(" + ", ".join(body) + ",)"
    doc = f'    """{exprs[0] if single else exprs}"""'
    return (f"import {BACKENDS[backend]}\n\n\ndef {name}({', '.join(a.name for a in args)}):\n"
            f"{doc}\n    return {ret}\n")
