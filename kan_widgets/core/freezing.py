"""Freezing parts of a KAN: per-edge masks that keep chosen parameters as they are in ``fit``.

Each layer holds ``frozen`` (4, n_in, n_out) bool, one plane per kind in ``FREEZABLE``. In
``fit`` a fully frozen parameter is left out of the optimiser, a partly frozen one gets a
gradient hook that zeroes the frozen entries (so L-BFGS and Adam never move them), and after
every step the frozen entries are written back from the values they had when ``fit``
started: frozen edges stay bitwise equal. Whole-model switches at construction are pykan's
``sb_trainable`` / ``sp_trainable`` (``requires_grad`` of every ``scale_base`` / ``scale_sp``).
"""

from __future__ import annotations

import torch

from .edges import as_edge
from .transaction import atomic

__all__ = ["FREEZABLE", "FreezeMixin", "FrozenGuard"]

FREEZABLE = ("coef", "scale_base", "scale_sp", "sym_affine")


def _kinds(what) -> list[int]:
    what = (what,) if isinstance(what, str) else tuple(what)
    bad = [w for w in what if w not in FREEZABLE]
    if bad or not what:
        raise ValueError(f"what must name parameters among {list(FREEZABLE)}; got {list(what)}")
    return [FREEZABLE.index(w) for w in what]


class FreezeMixin:
    """``freeze`` / ``unfreeze`` for ``KAN``."""

    def _set_frozen(self, value: bool, edges, layers, what):
        kinds = _kinds(what)
        if edges is not None and layers is not None:
            raise TypeError("give edges=... or layers=..., not both")
        if edges is not None:
            edges = [as_edge(e, self.width) for e in (
                [edges] if isinstance(edges, tuple) and len(edges) == 3
                and all(isinstance(v, int) for v in edges) else edges)]
        elif layers is not None:
            layers = [layers] if isinstance(layers, int) else list(layers)
            for l in layers:
                if not isinstance(l, int) or not 0 <= l < self.depth:
                    raise IndexError(f"layer {l!r} does not exist: layers are 0..{self.depth - 1}")
        with torch.no_grad():
            if edges is not None:
                for l, i, j in edges:
                    self.layers[l].frozen[kinds, i, j] = value
            else:
                for l in (range(self.depth) if layers is None else layers):
                    self.layers[l].frozen[kinds] = value
        self.mark_changed()
        return self

    @atomic("freeze")
    def freeze(self, edges=None, *, layers=None, what=FREEZABLE):
        """Keep parameters of some edges as they are through ``fit``. In place; returns self.

        Parameters
        ----------
        edges : an edge ``(l, i, j)`` or a list of them; None: every edge (of ``layers``)
        layers : a layer index or a list of them (instead of ``edges``)
        what : names among ``"coef"`` (the spline), ``"scale_base"``, ``"scale_sp"`` and
            ``"sym_affine"`` (a, b, c, d of a symbolic edge); default all four

        Notes
        -----
        Frozen entries stay bitwise equal through ``fit`` with LBFGS or Adam. A grid update
        refits every spline of a layer, so ``fit`` moves no grid while any ``coef`` is frozen
        (as ``update_grid=False``); ``refine`` and ``update_grid`` called directly still do.
        """
        return self._set_frozen(True, edges, layers, what)

    @atomic("unfreeze")
    def unfreeze(self, edges=None, *, layers=None, what=FREEZABLE):
        """Undo ``freeze`` for the named edges (default all) and parameters. In place; returns
        self. (``sb_trainable=False`` / ``sp_trainable=False`` of the constructor set
        ``requires_grad``; ``layer.scale_base.requires_grad_(True)`` undoes those.)"""
        return self._set_frozen(False, edges, layers, what)

    def frozen_edges(self, what: str = "coef") -> list:
        """The edges whose ``what`` is frozen, as ``EdgeId``s."""
        k = _kinds(what)[0]
        return [e for e in self.edges() if bool(self.layers[e.layer].frozen[k, e.src, e.dst])]

    def any_frozen_coef(self) -> bool:
        return any(bool(layer.frozen[0].any()) for layer in self.layers)


class FrozenGuard:
    """Used by ``fit``: gradient hooks on partly frozen parameters, ``skip`` the fully frozen
    ones, ``restore()`` writes the frozen entries back after a step, ``remove()`` the hooks."""

    def __init__(self, model):
        self.hooks, self.skip, self.saved = [], set(), []
        for layer in model.layers:
            for k, name in enumerate(FREEZABLE):
                mask = layer.frozen[k]
                if not bool(mask.any()):
                    continue
                p = getattr(layer, name)
                if bool(mask.all()):
                    self.skip.add(id(p))
                    continue
                m = mask.reshape(*mask.shape, *([1] * (p.ndim - 2))).expand_as(p)
                keep = (~m).to(p.dtype)
                self.hooks.append(p.register_hook(lambda g, keep=keep: g * keep))
                self.saved.append((layer, name, m, p.detach()[m].clone()))

    def restore(self):
        with torch.no_grad():
            for layer, name, m, values in self.saved:
                getattr(layer, name)[m] = values

    def remove(self):
        for h in self.hooks:
            h.remove()
        self.hooks = []
