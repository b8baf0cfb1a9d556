"""The structure verbs of ``KAN``: ``tree`` (a query)."""

from __future__ import annotations

from .tree import structure_tree

__all__ = ["StructureMixin"]


class StructureMixin:
    """``tree`` for ``KAN``."""

    def tree(self, X=None, tol=1e-2, output=None, names=None, max_generalized=8):
        """The tree of the function this model computes (pykan's ``tree()``), tested at
        samples ``X`` (default: the last ``fit``'s inputs); see ``structure_tree``. Returns a
        ``StructureTree``: ``.plot()`` draws it, ``.text()`` summarises it. A query: the
        model is not changed."""
        x = self._require_samples(X, "tree")
        return structure_tree(self, x, tol=tol, output=output, names=names,
                              max_generalized=max_generalized)
