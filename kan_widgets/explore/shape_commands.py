"""Commands of ``Session`` that change the network's shape, as TF Playground's + and − do:
add a hidden node to a layer, remove one, add a hidden layer. Each is one undoable step whose
message says what changed (the width before and after) and the loss before and after.

Adding keeps the function the model computes (``KAN.expand_width``: the new node's outgoing
edges start at zero; ``KAN.expand_depth``: the new layer is the identity), so the loss stays
and training brings the new part to life. Removing a node prunes it and drops it
(``KAN.compact``): the loss after is shown first by ``preview_remove_node``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from .checks import read_int
from .layout import NetworkLayout

__all__ = ["ShapeCommands", "ShapePreview", "shape_of"]


def shape_of(model) -> tuple:
    """What the network's drawing depends on: nodes per layer and the products' arities."""
    return tuple(model.width), tuple(tuple(a) for a in model.mult_arity)


@dataclass(frozen=True)
class ShapePreview:
    """A shape edit before it is done: the width before and after, the loss before and
    after (``why_not``: why it cannot be done, "" when it can)."""

    what: str
    width_before: list
    width_after: list
    loss_before: float = float("nan")
    loss_after: float = float("nan")
    why_not: str = ""

    def text(self) -> str:
        if self.why_not:
            return self.why_not
        from .previews import _fmt, _worse_note

        return (f"{self.what}: width {self.width_before} → {self.width_after}, loss "
                f"{_fmt(self.loss_before)} → {_fmt(self.loss_after)}"
                f"{_worse_note(self.loss_before, self.loss_after)}")


class ShapeCommands:
    """Mixin of ``Session`` (which supplies ``model``, ``lock``, ``_mutate``, ``_report``,
    ``_on_copy``, ``_loss_of``, ``_cached``, ``losses``, ``layout``, ``samples``)."""

    def _new_shape(self):
        """The model has another width now: a new layout (same input and output names), the
        selection cleared (node and edge numbers may now name other ones), ``structure``
        bumped (the views rebuild)."""
        m, lay = self.model, self.layout
        self.layout = NetworkLayout.from_model(m, lay.node_labels[0], lay.node_labels[-1])
        self._shape_key = shape_of(m)
        self.selected = self.selected_node = None
        self.preview = []
        self.structure += 1

    def _hidden_layer(self, layer, verb) -> int:
        try:
            m = read_int(layer, "layer", 1, max(1, self.model.depth - 1))
            if self.model.depth < 2:
                raise ValueError("the network has no hidden layer: add one first "
                                 "(add_layer)")
        except ValueError as err:
            self._report(verb, err)
            raise
        return m

    def add_node(self, layer, kind="sum"):
        """Add a hidden node to node-layer ``layer`` (1 .. depth - 1): a sum node, or
        ``kind="mult"`` a multiplication node of two sub-nodes (``KAN.expand_width``). The
        function is unchanged; one undoable step."""
        m = self._hidden_layer(layer, "add node")
        if kind not in ("sum", "mult"):
            err = ValueError(f"kind must be 'sum' or 'mult'; got {kind!r}")
            self._report("add node", err)
            raise err
        before = self.model.width_spec
        after = [list(w) if isinstance(w, list) else w for w in before]
        if kind == "sum":
            after[m] = after[m] + 1 if isinstance(after[m], int) else [after[m][0] + 1,
                                                                        after[m][1]]
        else:
            after[m] = [after[m], 1] if isinstance(after[m], int) else [after[m][0],
                                                                         after[m][1] + 1]
        what = "multiplication node" if kind == "mult" else "node"
        return self._mutate("add_node", f"add a {what} to layer {m}: width {before} → {after}",
                            lambda: self.model.expand_width(m, 1, kind=kind),
                            show_before=True)

    def add_layer(self, at=None):
        """Add a hidden layer after node-layer ``at`` (default: after the last hidden layer,
        or after the inputs of a model without one): as many sum nodes as that layer, joined
        by spline edges that start as the identity on the samples (``KAN.expand_depth``), so
        the function is unchanged and the new layer trains. One undoable step."""
        d = self.model.depth
        try:
            at = d - 1 if at is None else read_int(at, "at", 0, d - 1)
        except ValueError as err:
            self._report("add layer", err)
            raise
        before = self.model.width_spec
        after = [*before[:at + 1], self.model.width[at], *before[at + 1:]]

        def action():
            self._call(self.model.expand_depth, at=at, kind="spline")

        return self._mutate("add_layer", f"add a hidden layer after layer {at}: width "
                            f"{before} → {after}", action, show_before=True)

    def _removable(self, layer, i):
        m = self._hidden_layer(layer, "remove node")
        w = self.model.width[m]
        if i is None:  # as TF Playground's −: the layer's last node
            sel = self.selected_node
            i = sel[1] if sel is not None and sel[0] == m else w - 1
        try:
            i = read_int(i, "node", 0, w - 1)
        except ValueError as err:
            self._report("remove node", err)
            raise
        return m, i

    def _removed(self, m, i):
        """A copy of the model without node ``(m, i)``: pruned, then compacted (other hidden
        nodes already dead go too: they only added constants, which compact keeps exactly)."""
        c = self.model.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c.prune_node(m, i)
            return c.compact()

    def preview_remove_node(self, layer, i=None) -> ShapePreview:
        """What ``remove_node(layer, i)`` would do: the width and the loss after."""
        m, i = self._removable(layer, i)
        name = self.layout.node_labels[m][i]
        what = f"remove node {name}"
        before = self.model.width_spec
        if self.model.width[m] < 2:
            return ShapePreview(what, before, before, self.losses()[0], float("nan"),
                                f"layer {m} has one node: it cannot go (a layer needs one)")

        def compute():
            c = self._removed(m, i)
            return ShapePreview(what, before, c.width_spec, self.losses()[0], self._loss_of(c))

        with self.lock:
            return self._cached(("remove_effect", m, i), compute)

    def remove_node(self, layer, i=None):
        """Remove hidden node ``i`` of node-layer ``layer`` (default: the selected node if it
        is in that layer, else the layer's last node): prune it and drop it (``KAN.compact``).
        The loss after is in ``preview_remove_node``; one undoable step."""
        p = self.preview_remove_node(layer, i)
        if p.why_not:
            err = ValueError(p.why_not)
            self._report("remove node", err)
            raise err
        m, i = self._removable(layer, i)

        def action():
            self.model.load_state(self._removed(m, i).state())

        return self._mutate("remove_node", f"{p.what}: width {p.width_before} → "
                            f"{p.width_after}", action, show_before=True)
