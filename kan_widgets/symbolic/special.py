"""Special functions in formulas: the ones the safe reader accepts, and how each backend
computes them.

Accepted (see ``symbolic.parse``): ``besselj``, ``bessely``, ``besseli``, ``besselk`` with an
integer order as first argument (``besselj(0, x)``), ``erf``, ``erfc``, ``gamma`` and
``loggamma``. sympy prints them itself (formulas, LaTeX); numerical backends need help,
since sympy's torch printer knows none of them and its numpy printer calls ``math`` (scalars
only). What each backend computes:

==========================  ======================================  ==========================
function                    torch (and numpy, through torch)        python (``math``)
==========================  ======================================  ==========================
``besselj/bessely(n, x)``   ``torch.special.bessel_j0/j1/y0/y1``    ``mpmath``, any order
``besseli/besselk(n, x)``   ``torch.special.modified_bessel_i0``..  ``mpmath``, any order
``erf``, ``erfc``           ``torch.special.erf/erfc``              ``math.erf/erfc``
``gamma``                   ``sign * exp(lgamma)``                  ``math.gamma``
``loggamma``                ``torch.lgamma`` (log abs gamma)        ``math.lgamma``
==========================  ======================================  ==========================

torch has Bessel functions of orders 0 and 1 only: any other order is refused with a
``ValueError`` when the torch or numpy function is built (at ``register_function``, ``load``
or ``to_callable``), never at evaluation time.
"""

from __future__ import annotations

import mpmath  # a dependency of sympy
import numpy as np
import sympy as sp
import torch
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import PythonCodePrinter
from sympy.printing.pytorch import TorchPrinter

__all__ = ["SPECIAL_FUNCTIONS", "ORDERED", "MAX_ORDER", "lambdify", "source_printer"]

MAX_ORDER = 100  # |order| of a Bessel function accepted by the reader

# name as read -> sympy function; ORDERED take (integer order, argument)
SPECIAL_FUNCTIONS = {"besselj": sp.besselj, "bessely": sp.bessely, "besseli": sp.besseli,
                     "besselk": sp.besselk, "erf": sp.erf, "erfc": sp.erfc, "gamma": sp.gamma,
                     "loggamma": sp.loggamma}
ORDERED = frozenset({"besselj", "bessely", "besseli", "besselk"})

_TORCH_BESSEL = {
    ("besselj", 0): "bessel_j0", ("besselj", 1): "bessel_j1",
    ("bessely", 0): "bessel_y0", ("bessely", 1): "bessel_y1",
    ("besseli", 0): "modified_bessel_i0", ("besseli", 1): "modified_bessel_i1",
    ("besselk", 0): "modified_bessel_k0", ("besselk", 1): "modified_bessel_k1",
}


def _torch_gamma(z):
    """Gamma on real tensors: ``exp(lgamma)`` with the sign of gamma (negative on
    (-1, 0), (-3, -2), ...); inf at the poles, as ``math.gamma`` raises there."""
    neg_odd = torch.remainder(torch.floor(-z), 2) == 0  # z in (-1, 0), (-3, -2) ...
    sign = torch.where((z < 0) & neg_odd, -1.0, 1.0).to(z.dtype)
    return sign * torch.exp(torch.lgamma(z))


_TORCH_NS = {f"_kw_{f}": getattr(torch.special, f) for f in _TORCH_BESSEL.values()}
_TORCH_NS.update(_kw_erf=torch.special.erf, _kw_erfc=torch.special.erfc, _kw_gamma=_torch_gamma,
                 _kw_loggamma=torch.lgamma)


def _via_torch(fn):
    def f(z):
        out = fn(torch.as_tensor(np.asarray(z, dtype=np.float64)))
        return out.numpy() if out.ndim else float(out)

    return f


_NUMPY_NS = {name: _via_torch(fn) for name, fn in _TORCH_NS.items()}


def _mp(name):
    fn = getattr(mpmath, name)
    return lambda n, z: float(fn(int(n), z))


_PYTHON_NS = {f"_kw_{n}": _mp(n) for n in ORDERED}


def _name(expr) -> str:
    return type(expr).__name__


def _torch_call(printer, expr, fully_qualified):
    """The torch (or torch-backed numpy) call of a special function, or None when it is not
    one; refuses a Bessel order torch does not have."""
    name = _name(expr)
    if name not in SPECIAL_FUNCTIONS:
        return None
    if name in ORDERED:
        order, arg = expr.args
        fn = _TORCH_BESSEL.get((name, int(order)) if order.is_Integer else None)
        if fn is None:
            raise ValueError(
                f"{expr} cannot be computed in torch: torch.special has {name} of orders 0 "
                "and 1 only; use order 0 or 1, or evaluate it with to_callable(..., backend='python') "
                "(mpmath)")
    else:
        (arg,), fn = expr.args, name
    if fully_qualified:
        path = {"erf": "torch.special.erf", "erfc": "torch.special.erfc",
                "loggamma": "torch.special.gammaln"}.get(fn, f"torch.special.{fn}")
        if name == "gamma":
            raise ValueError(f"{expr}: torch has no gamma function to write in source code; "
                             "use to_callable(..., backend='torch') or backend='python'")
        return f"{path}({printer._print(arg)})"
    return f"_kw_{fn}({printer._print(arg)})"


class _TorchSpecial(TorchPrinter):
    def _print_Function(self, expr):
        call = _torch_call(self, expr, self._settings["fully_qualified_modules"])
        return call if call is not None else super()._print_Function(expr)

    # sympy's printers have methods for some of these (``gamma``, ``erf``): ours win
    _print_besselj = _print_bessely = _print_besseli = _print_besselk = _print_Function
    _print_erf = _print_erfc = _print_gamma = _print_loggamma = _print_Function


class _NumPySpecial(NumPyPrinter):
    def _print_Function(self, expr):
        if _name(expr) in SPECIAL_FUNCTIONS and self._settings["fully_qualified_modules"]:
            raise ValueError(f"{expr}: numpy has no {_name(expr)} function to write in source "
                             "code; use to_source(..., backend='torch') or backend='python'")
        call = _torch_call(self, expr, False)
        return call if call is not None else super()._print_Function(expr)

    _print_besselj = _print_bessely = _print_besseli = _print_besselk = _print_Function
    _print_erf = _print_erfc = _print_gamma = _print_loggamma = _print_Function


class _PythonSpecial(PythonCodePrinter):
    def _print_Function(self, expr):
        name = _name(expr)
        if name in ORDERED:
            if self._settings["fully_qualified_modules"]:
                raise ValueError(f"{expr}: the math module has no {name}; use "
                                 "to_source(..., backend='torch') for orders 0 and 1")
            order, arg = expr.args
            return f"_kw_{name}({self._print(order)}, {self._print(arg)})"
        return super()._print_Function(expr)

    _print_besselj = _print_bessely = _print_besseli = _print_besselk = _print_Function


_PRINTERS = {"torch": (_TorchSpecial, _TORCH_NS), "numpy": (_NumPySpecial, _NUMPY_NS),
             "math": (_PythonSpecial, _PYTHON_NS)}


def lambdify(args, expr, module: str):
    """``sympy.lambdify`` for ``module`` in ``torch | numpy | math`` that also computes the
    special functions (see the module doc). Raises ValueError for one the backend lacks."""
    printer, namespace = _PRINTERS[module]
    settings = {"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                "user_functions": {n: n for n in namespace}}
    return sp.lambdify(args, expr, modules=[namespace, module], printer=printer(settings))


def source_printer(module: str):
    """A code printer for ``to_source``: fully qualified names; special functions written as
    the backend's own calls, or refused with a ValueError saying which backend has them."""
    return _PRINTERS[module][0]({"fully_qualified_modules": True})
