"""Derivatives of a scalar function of samples, for the structure tests.

The function is a trained ``KAN`` (one output chosen) or any torch function ``f(X)`` of a
batch ``X (n, d)`` returning ``(n,)``, ``(n, 1)`` or ``(n, m)`` (one column chosen), that
treats rows independently (as every model does): then the gradient of ``f(X).sum()`` with
respect to ``X`` is each sample's own gradient, and every order is one autograd pass per
input dimension (``create_graph``), never a Python loop over samples.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import torch

from ..validation import as_matrix

__all__ = ["ScalarFunction", "as_function", "Derivatives", "derivatives"]


@dataclass
class ScalarFunction:
    """``fn``: (n, d) tensor -> (n,) tensor; ``d`` inputs; ``names``: input labels."""

    fn: object
    d: int
    names: list
    dtype: torch.dtype
    device: torch.device

    def restricted(self, keep, ref: torch.Tensor) -> ScalarFunction:
        """The function with the inputs outside ``keep`` held at ``ref`` (d,) values."""
        mask = torch.zeros(self.d, dtype=torch.bool, device=self.device)
        mask[list(keep)] = True
        ref = ref.detach()
        inner = self.fn
        return ScalarFunction(lambda x: inner(torch.where(mask, x, ref)), self.d, self.names,
                              self.dtype, self.device)

    def shifted(self, c: float) -> ScalarFunction:
        """``fn + c``."""
        inner = self.fn
        return ScalarFunction(lambda x: inner(x) + c, self.d, self.names, self.dtype,
                              self.device)


def _is_kan(f) -> bool:
    """A model of this package (``KAN``, ``MLP``): samples go in as its dtype and device."""
    return all(hasattr(f, a) for a in ("width", "dtype", "device", "check_input"))


def as_function(f, X, output=None, names=None):
    """Check ``f`` and ``X``; return ``(ScalarFunction, X as a (n, d) tensor)``.

    ``f``: a ``KAN`` (``X`` takes its dtype and device) or a callable of torch tensors.
    ``output``: the output column when ``f`` has several (required then).
    """
    if not callable(f):
        raise TypeError(f"f must be a KAN or a function of a torch tensor X (n, d); got "
                        f"{type(f).__name__}")
    if _is_kan(f):
        d = f.width[0]
        X = as_matrix(X, "X", n_cols=d, dtype=f.dtype, device=f.device, what="input columns")
        n_out = f.width[-1]
        default_names = list(f.variables_) if getattr(f, "variables_", None) else None
    else:
        if isinstance(X, torch.Tensor) and X.is_floating_point():
            dtype, device = X.dtype, X.device
        else:
            dtype, device = torch.float64, None
        X = as_matrix(X, "X", dtype=dtype, device=device)
        d, n_out, default_names = X.shape[1], None, None
    if X.shape[0] < 3:
        raise ValueError(f"X has {X.shape[0]} sample(s); the tests take medians and spreads over "
                         "samples: give at least 3 (a few hundred is typical)")
    spread = X.std(0)
    flat = torch.nonzero(spread == 0).flatten().tolist()
    if flat:
        raise ValueError(f"X column(s) {flat} are constant: the tests need samples spread along "
                         "every input; draw X over the inputs' ranges")
    names = _names(names if names is not None else default_names, X.shape[1])
    col = _output_index(output, n_out)

    def fn(x):
        y = f(x)
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"f(X) returned {type(y).__name__}; it must return a torch tensor "
                            "computed from X with torch operations (not numpy), so it can be "
                            "differentiated")
        return _column(y, x.shape[0], col)

    return ScalarFunction(fn, X.shape[1], names, X.dtype, X.device), X


def _names(names, d):
    if names is None:
        return [f"x{i + 1}" for i in range(d)]
    if isinstance(names, str) or len(names) != d:
        raise ValueError(f"names must be a list of {d} labels, one per input column; got "
                         f"{names!r}")
    return [str(v) for v in names]


def _output_index(output, n_out):
    if output is None:
        if n_out is not None and n_out > 1:
            raise ValueError(f"the model has {n_out} outputs: choose one with output=0.."
                             f"{n_out - 1}")
        return None
    if isinstance(output, bool) or not isinstance(output, numbers.Integral):
        raise TypeError(f"output must be an int (the output column); got {output!r}")
    if n_out is not None and not 0 <= int(output) < n_out:
        raise ValueError(f"output={output} is out of range: the model has {n_out} output(s)")
    return int(output)


def _column(y, n, col):
    if y.ndim == 1 and y.shape[0] == n and col in (None, 0):
        return y
    if y.ndim == 2 and y.shape[0] == n:
        if col is None:
            if y.shape[1] != 1:
                raise ValueError(f"f(X) has {y.shape[1]} columns: choose one with output=0.."
                                 f"{y.shape[1] - 1}")
            return y[:, 0]
        if not 0 <= col < y.shape[1]:
            raise ValueError(f"output={col} is out of range: f(X) has {y.shape[1]} column(s)")
        return y[:, col]
    raise ValueError(f"f(X) must return one value per sample, shape ({n},) or ({n}, m); got "
                     f"shape {tuple(y.shape)} for X of {n} rows")


@dataclass
class Derivatives:
    """Values and derivatives at every sample.

    value : (n,); grad : (n, d); hess : (n, d, d); third : (n, d, d, d) or None
    """

    value: torch.Tensor
    grad: torch.Tensor
    hess: torch.Tensor
    third: torch.Tensor | None = None


def _grad_rows(y, x, create_graph):
    """d(y.sum())/dx: (n, d); zeros where ``y`` does not depend on ``x``."""
    if not y.requires_grad:
        return torch.zeros_like(x)
    # retain_graph: the same graph serves one pass per input dimension
    g = torch.autograd.grad(y.sum(), x, create_graph=create_graph, retain_graph=True,
                            allow_unused=True)[0]
    return torch.zeros_like(x) if g is None else g


def derivatives(sf: ScalarFunction, X: torch.Tensor, order: int = 2) -> Derivatives:
    """Value, gradient, Hessian (and third derivatives with ``order=3``) of ``sf`` at the
    rows of ``X`` (n, d), detached. One backward pass per input dimension (per pair for the
    third order)."""
    x = X.detach().clone().requires_grad_(True)
    d = x.shape[1]
    with torch.enable_grad():
        y = sf.fn(x)
        if not y.requires_grad:
            raise TypeError("f(X) is not differentiable with respect to X (its result carries "
                            "no gradient): write f with torch operations on X, without numpy, "
                            ".detach(), .item() or torch.no_grad()")
        if not bool(torch.isfinite(y).all()):
            raise ValueError("f(X) is not finite at some samples: choose X inside f's domain")
        g = torch.autograd.grad(y.sum(), x, create_graph=True, retain_graph=True,
                                allow_unused=True)[0]
        if g is None:  # y carries a gradient, but not from X (parameters only)
            raise TypeError("f(X) does not depend on X through torch operations (its gradient "
                            "with respect to X is missing): f must compute from the X it is "
                            "given, without converting it (dtype casts of a copy, numpy, "
                            ".detach())")
        hess_rows = [_grad_rows(g[:, i], x, order > 2) for i in range(d)]
        third = None
        if order > 2:
            third = torch.stack([torch.stack([_grad_rows(h[:, j], x, False).detach()
                                              for j in range(d)], 1) for h in hess_rows], 1)
    hess = torch.stack([h.detach() for h in hess_rows], 1)
    out = Derivatives(y.detach(), g.detach(), hess, third)
    for name in ("grad", "hess", "third"):
        t = getattr(out, name)
        if t is not None and not bool(torch.isfinite(t).all()):
            raise ValueError(f"the derivatives of f ({name}) are not finite at some samples: "
                             "choose X away from f's singularities")
    return out


def as_numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy()
