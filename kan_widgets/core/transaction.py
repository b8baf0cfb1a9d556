"""Atomic verbs: one transaction helper that every public mutating verb of ``KAN`` runs in.

A verb either completes or leaves the model exactly as it was, bit for bit, also when it is
interrupted (``KeyboardInterrupt``) or produces non-finite parameters. ``Snapshot`` records
everything a verb may touch:

- every parameter and buffer (values cloned; the ``Parameter`` objects themselves are put
  back, so optimisers and hooks holding them keep working);
- the plain attributes of the model and of its layers (fitted ``_`` attributes, ``config``,
  grid sizes, symbolic names, derived caches), containers copied, tensors by reference
  (verbs replace those tensors, they never write into them);
- ``model.version`` (a verb rolled back leaves the version as it found it);
- with ``registry=True``, the table of user functions (``load_state`` registers functions).

``atomic`` wraps a verb: the outermost atomic call on a model (per thread) takes the snapshot,
nested verbs (``fit`` calls ``update_grid``) run inside it. After the verb, parameters and
buffers are checked for finiteness; a non-finite result is rolled back and raises
``NonFiniteError`` (a ``ValueError``).
"""

from __future__ import annotations

import functools
import threading

import torch
from torch import nn

from . import functions as _functions

__all__ = ["Snapshot", "atomic", "transaction", "NonFiniteError", "non_finite_tensors"]

# attributes nn.Module keeps for itself (hooks, the parameter tables): never copied back
_MODULE_KEYS = frozenset(nn.Module().__dict__)


class NonFiniteError(ValueError):
    """A verb produced non-finite (NaN or inf) parameters or grids; the model was left as it
    was before the call."""


def _copy_plain(v, depth=0):
    """Containers copied (three levels: ``history_`` is a dict of lists), everything else
    (tensors, numbers, named tuples, functions) by reference."""
    if depth > 3:
        return v
    t = type(v)
    if t is dict:
        return {k: _copy_plain(x, depth + 1) for k, x in v.items()}
    if t is list:
        return [_copy_plain(x, depth + 1) for x in v]
    if t is set:
        return set(v)
    return v


def _plain_state(module: nn.Module) -> dict:
    return {k: _copy_plain(v) for k, v in module.__dict__.items() if k not in _MODULE_KEYS}


def non_finite_tensors(model) -> list[str]:
    """Names of the floating parameters and buffers of ``model`` holding NaN or inf."""
    out = []
    for name, t in (*model.named_parameters(), *model.named_buffers()):
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            out.append(name)
    return out


class Snapshot:
    """Everything a verb may change on ``model`` (see the module doc); ``restore()`` puts it
    back bit for bit. Single use: after ``restore`` the snapshot's tensors belong to the model.
    """

    def __init__(self, model, registry: bool = False):
        self.model = model
        self.version = model.version  # notices hand edits first, so they are not undone twice
        self.modules = []
        for module in model.modules():
            params = {n: (p, p.detach().clone()) for n, p in module._parameters.items()
                      if p is not None}
            buffers = {n: b.detach().clone() for n, b in module._buffers.items()
                       if b is not None}
            self.modules.append((module, params, buffers, _plain_state(module),
                                 dict(module._modules)))
        self.library = dict(_functions.LIBRARY) if registry else None

    def restore(self) -> None:
        for module, params, buffers, plain, children in self.modules:
            module._modules.clear()
            module._modules.update(children)
            for name, (p, value) in params.items():
                module._parameters[name] = p
                with torch.no_grad():
                    p.data = value
            for name in [n for n in module._parameters if n not in params]:
                del module._parameters[name]
            module._buffers.update(buffers)
            for name in [n for n in module._buffers if n not in buffers]:
                del module._buffers[name]
            for key in [k for k in module.__dict__ if k not in _MODULE_KEYS and k not in plain]:
                del module.__dict__[key]  # attributes the verb added (auto_symbolic_report_)
            module.__dict__.update(plain)
        if self.library is not None:
            _functions.LIBRARY.clear()
            _functions.LIBRARY.update(self.library)
        model = self.model
        model._fingerprint = model._tensor_fingerprint()
        model._version_count = self.version


_active = threading.local()  # ids of the models inside a transaction, per thread


class transaction:
    """``with transaction(model, what="refine"):`` runs the block atomically (see module doc).

    Re-entrant per model and thread: an inner transaction on the same model is a no-op.
    ``check=False`` skips the finiteness check (verbs that only read or mask).
    """

    def __init__(self, model, what: str = "the call", *, check: bool = True,
                 registry: bool = False):
        self.model, self.what, self.check, self.registry = model, what, check, registry
        self.snapshot = None

    def __enter__(self):
        active = _active.__dict__.setdefault("ids", set())
        if id(self.model) in active:
            return self
        self.snapshot = Snapshot(self.model, self.registry)
        active.add(id(self.model))
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.snapshot is None:
            return False
        _active.ids.discard(id(self.model))
        if exc_type is not None:
            self.snapshot.restore()
            return False
        if self.check:
            bad = non_finite_tensors(self.model)
            if bad:
                self.snapshot.restore()
                raise NonFiniteError(
                    f"{self.what} produced non-finite values in {', '.join(bad[:4])}; the model "
                    "was left as it was. The inputs may be too large or far outside the grids: "
                    "rescale them (e.g. standardise each column)")
        return False


def atomic(what: str | None = None, *, check: bool = True, registry: bool = False):
    """Decorator: run a ``KAN`` method inside ``transaction(self, ...)``."""
    def wrap(fn):
        label = what or fn.__name__

        @functools.wraps(fn)
        def verb(self, *args, **kwargs):
            with transaction(self, label, check=check, registry=registry):
                return fn(self, *args, **kwargs)
        return verb
    return wrap
