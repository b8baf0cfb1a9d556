"""Change the network's shape, as TF Playground's + and − buttons do: add a node to a hidden
layer, remove one (its effect on the loss shown first), add a hidden layer. Each click is one
undoable step (``Session.add_node`` / ``remove_node`` / ``add_layer``)."""

from __future__ import annotations

import html

import ipywidgets as widgets

from ._explorer_common import button, guard, set_enabled

__all__ = ["ShapePanel"]


class ShapePanel:
    """Shape controls of one session.

    Attributes
    ----------
    widget : the row (CSS class ``kw-shape``)
    layer : Dropdown of the hidden layers (``kw-shape-layer``)
    add_node_button, remove_node_button, add_layer_button : ``+ node`` (``kw-add-node``),
        ``− node`` (``kw-remove-node``: the selected node of that layer, else its last one),
        ``+ layer`` (``kw-add-layer``: a hidden layer after the last one)
    info : HTML (``kw-shape-info``): the width, and what ``− node`` would do to the loss
    """

    def __init__(self, session):
        self.session = s = session
        self.layer = widgets.Dropdown(description="layer", style={"description_width": "38px"},
                                      layout={"width": "120px"})
        self.layer.add_class("kw-shape-layer")
        self.add_node_button = button("+ node", "kw-add-node",
                                      "Add a node to this hidden layer (the function stays)")
        self.remove_node_button = button("− node", "kw-remove-node",
                                         "Remove the selected node of this layer, else its "
                                         "last node (the loss after is shown)", "warning")
        self.add_layer_button = button("+ layer", "kw-add-layer",
                                       "Add a hidden layer after the last one, starting as "
                                       "the identity (the function stays)")
        self.info = widgets.HTML("")
        self.info.add_class("kw-shape-info")
        self.add_node_button.on_click(guard(lambda b: self.add_node(), s, "add node"))
        self.remove_node_button.on_click(guard(lambda b: self.remove_node(), s, "remove node"))
        self.add_layer_button.on_click(guard(lambda b: s.add_layer(), s, "add layer"))
        self.layer.observe(guard(lambda ch: self.show(), s, "shape"), "value")
        title = widgets.HTML("<div class='kw-panel-title'>Shape</div>")
        self.widget = widgets.Box([title, self.layer, self.add_node_button,
                                   self.remove_node_button, self.add_layer_button, self.info])
        self.widget.add_class("kw-row")
        self.widget.add_class("kw-shape")
        s.observe(guard(lambda ch: self.refresh(), s, "shape"), ["revision", "selected_node"])
        s.observe(guard(lambda ch: self._set_buttons(), s, "shape"), "training")
        self.refresh()

    def add_node(self):
        """``+ node``: a sum node in the chosen layer."""
        return self.session.add_node(self.layer.value)

    def remove_node(self):
        """``− node``: the selected node of the chosen layer, else its last node."""
        return self.session.remove_node(self.layer.value)

    def refresh(self):
        """The hidden layers of the model now, and the preview of ``− node``."""
        m = self.session.model
        hidden = [(f"{q} ({m.width[q]} nodes)", q) for q in range(1, m.depth)]
        with self.widget.hold_sync():
            value = self.layer.value
            self.layer.options = hidden
            if hidden:
                self.layer.value = value if value in [q for _, q in hidden] else hidden[-1][1]
            self.show()

    def show(self):
        s = self.session
        width = f"width {s.model.width_spec}"
        if self.layer.value is None:
            self.info.value = html.escape(f"{width} · no hidden layer: + layer adds one")
        else:
            p = s.preview_remove_node(self.layer.value)
            self.info.value = html.escape(f"{width} · − node: {p.text()}")
        self._set_buttons()

    def _set_buttons(self):
        s = self.session
        busy = "training is running (Stop it first)" if s.training else ""
        none = "" if self.layer.value is not None else "the network has no hidden layer"
        one = (self.layer.value is not None and s.model.width[self.layer.value] < 2
               and "a layer needs one node")
        with self.widget.hold_sync():
            set_enabled(self.add_node_button, not (busy or none), busy or none)
            set_enabled(self.remove_node_button, not (busy or none or one),
                        busy or none or one or "")
            set_enabled(self.add_layer_button, not busy, busy)
