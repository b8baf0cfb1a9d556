"""Commands of ``Session`` on nodes and on the whole model: select a node (and see what it
computes over the data), prune a node, drop an input, re-initialise (Reset), one training step
(Step). Each command is one undoable step; selecting and looking change nothing."""

from __future__ import annotations

from ..core.edges import check_node
from .checks import read_int
from .node_view import NodeActivation, node_activation, node_summaries

__all__ = ["NodeCommands"]


class NodeCommands:
    """Mixin of ``Session`` (which supplies ``model``, ``lock``, ``_mutate``, ``_report``,
    ``layout``, ``train`` and the ``selected_node`` trait)."""

    def _node(self, layer, i) -> tuple[int, int]:
        if layer is None and i is None:
            if self.selected_node is None:
                err = ValueError("no node selected: click a node first or pass (layer, i)")
                self._report("node", err)
                raise err
            return self.selected_node
        try:
            m, j = check_node(layer, i, self.model.width)
        except (ValueError, IndexError, TypeError) as err:
            self._report("node", err)
            raise
        return int(m), int(j)

    def select_node(self, layer, i=None):
        """Select node ``i`` of node-layer ``layer`` (0 = inputs; a click on the node's dot);
        ``select_node(None)`` clears. Selecting a node clears the edge selection (the panel
        shows one or the other: ``node_activation`` for a node). Does not change the model;
        pruning it is a separate command (``prune_node``, previewed by
        ``preview_prune_node``)."""
        self.poll()
        if layer is None:
            self.selected_node = None
            return self
        node = self._node(layer, i)
        self.selected = None
        self.selected_node = node
        return self

    def node_activation(self, layer=None, i=None) -> NodeActivation:
        """What node ``(layer, i)`` (default: the selected one) computes over the session's
        samples (``explore.node_view.NodeActivation``): its value against the input (one
        input), over the plane of both inputs (two), or against the samples sorted by the
        output; cached until the model changes."""
        m, j = self._node(layer, i)
        with self.lock:
            return self._cached(("node_activation", m, j), lambda: node_activation(
                self.model, m, j, self.samples, names=self.layout.node_labels))

    def node_summaries(self):
        """(min, max, mean) of every node over the samples, one (width[m], 3) array per
        node-layer (NaN without samples): the hover texts of the node dots."""
        with self.lock:
            return self._cached(("node_summaries",),
                                lambda: node_summaries(self.model, self.samples))

    def node_name(self, layer, i) -> str:
        return self.layout.node_labels[layer][i]

    def prune_node(self, layer=None, i=None):
        """Mask every edge into and out of a node (``model.prune_node``); on an input node
        (layer 0) this drops that input (``model.prune_input``). Default: the selected node."""
        m, j = self._node(layer, i)
        name = self.node_name(m, j)
        if m == 0:
            return self._mutate("prune_input", f"drop input {name}",
                                lambda: self.model.prune_input(j))
        return self._mutate("prune_node", f"prune node {name}",
                            lambda: self.model.prune_node(m, j))

    def prune_input(self, i):
        """Drop input ``i`` (an index or a variable name): ``model.prune_input``."""
        if isinstance(i, str):
            names = list(self.layout.node_labels[0])
            if i not in names:
                err = KeyError(f"no input named {i!r}; inputs are {names}")
                self._report("drop input", err)
                raise err
            i = names.index(i)
        return self.prune_node(0, i)

    def reset(self, seed=None):
        """Re-initialise the model's parameters with ``seed`` (default: the model's own), as a
        new ``KAN`` of the same width, grid and settings would start; undoable. The training
        log is emptied; names of inputs and outputs are kept."""
        seed = self.model.seed if seed is None else read_int(seed, "seed", 0, 2**63 - 1)

        def action():
            m = self.model
            fresh = type(m)(m.width_spec, **{**m.config, "grid": m.grid, "seed": seed},
                            dtype=m.dtype, device=m.device)
            st = fresh.state()
            st["variables"], st["output_names"] = m.variables_, m.output_names_
            m.load_state(st)
            m.seed = seed

        return self._mutate("reset", f"reset (seed {seed})", action)

    def step(self, **fit_kw):
        """One training step with ``fit_kw`` (the Step button); an undoable step."""
        fit_kw.pop("steps", None)
        return self.train(steps=1, **fit_kw)

    def steps_done(self) -> int:
        """Training steps the model has taken (its training log's length): the step counter."""
        with self.lock:
            return len(self.model.history_.get("step", []))
