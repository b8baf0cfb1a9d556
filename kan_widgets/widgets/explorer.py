"""``Explorer(model, data)``: click an edge, fix it to a formula or prune it, retrain, undo.

The Explorer is a plain object: state and commands live in its
:class:`~kan_widgets.explore.Session`, the widget tree is built on first display (or first
access to a panel), and every button has a method twin used by scripts and tests.

Automation hooks (stable): CSS class ``kw-explorer`` on the root; ``kw-network``,
``kw-edge-panel``, ``kw-train-panel``, ``kw-formula``, ``kw-history``, ``kw-message`` on the
panels; the clickable cell of each edge is the plotly trace named ``edge l,i,j``; buttons are
labelled Fix, Prune, Restore, Train, Stop, Undo, Redo. Also: ``kw-toolbar`` (Undo, Redo,
History and the message), ``kw-history-popup`` (the list of steps), ``kw-edge-title``,
``kw-pick-info``, ``kw-formula-math``, ``kw-copy-status``, ``kw-train-status``,
``kw-message-undo`` (the Undo shown next to a message saying the loss got 10x worse),
``kw-actions`` (prune by threshold, refine / coarsen, auto-symbolic, save; see
``ActionsPanel``), ``kw-node-panel`` (the selected node in the edge panel's place: its value
over the data, ``kw-node-title``, ``kw-node-info`` and Prune node / Drop input, see
``NodePanel``), ``kw-shape`` (+ node, − node, + layer: ``kw-add-node``, ``kw-remove-node``,
``kw-add-layer``, ``kw-shape-info``; see ``ShapePanel``), ``kw-play``, ``kw-step``,
``kw-reset``, ``kw-step-counter``, ``kw-preset``, ``kw-data-view`` (predicted vs true; for
one input the fitted function over the samples), and the plotly traces ``nodes l`` (the
clickable dots of node-layer ``l``).
Discover (folded below the layout, ``kw-discover-box``): the panel ``kw-discover`` with
``kw-discover-budget``, the buttons Discover and Stop (``kw-discover-run``,
``kw-discover-stop``), ``kw-discover-progress``, ``kw-discover-status`` and the plotly trace
``front`` (one point per candidate; a click loads it).

Fast from the first click: once displayed in a kernel, what a click on each edge shows is
computed while the kernel is idle (``warmup.start_warm_up``), one piece per event-loop turn.

Never stale: when displayed in a kernel the Explorer polls its model after every executed
cell (``kernel_sync.watch_cells``), and every click polls first; a change made outside
becomes an undoable "changed outside the Explorer" step. A disabled button's tooltip says
why.
"""

from __future__ import annotations

import html
import os
import warnings

import ipywidgets as widgets
from traitlets import All

from ..explore.discover import DiscoverState
from ..explore.session import Session
from ._explorer_common import button, guard, style_widget
from ._fit import FitPlots
from .data_panel import DataPanel
from .discover_panel import DiscoverPanel
from .edge_panel import EdgePanel
from .formula_panel import FormulaPanel
from .history_panel import HistoryPanel
from .kernel_sync import watch_cells
from .network_view import NetworkView
from .node_panel import NodePanel
from .train_panel import TrainPanel
from .warmup import start_warm_up

__all__ = ["Explorer"]


def _save_dir(folder):
    """``save_dir`` checked: an existing folder (its real path), or None (the working
    directory at each save)."""
    if folder is None:
        return None
    real = os.path.realpath(os.fspath(folder))
    if not os.path.isdir(real):
        raise ValueError(f"save_dir {os.fspath(folder)!r} is not an existing folder")
    return real


def _deprecated(old, new):
    warnings.warn(f"{old} is deprecated: use {new}", DeprecationWarning, stacklevel=3)


class Explorer:
    """Interactive explorer of a KAN in Jupyter.

    Parameters
    ----------
    model : KAN, changed in place by the actions (undo restores it bit for bit)
    data : Dataset (or pykan dict) to train on and to measure the loss; None to only look
    network_width : pixels of the network plot (default 380, what the two-column layout of
        JupyterLab at 1280 px with the file browser open has room for); None fills the
        column (the other figures always do; the layout uses the width of the output area:
        two columns from ~760 px, three from ~1240 px). A network resized in the browser
        stops answering clicks (plotly 7.1), hence the fixed default.
    save_dir : folder the Save button writes into (default: the working directory, the
        notebook's folder in Lab and Voila); a path typed into its field cannot leave it
        (``..``, absolute paths elsewhere and symbolic links leading out are refused): a
        Voila deployment lets other people type there. ``save`` from code is not confined.
    **session_kw : passed to ``Session`` (``max_history``, ``max_history_bytes``: the undo
        history's depth and memory budget, default 100 steps and 256 MB; ``live_interval``)

    Attributes
    ----------
    session : the state and commands (``session.model``, ``session.undo_history``, ...)
    discovery : the Discover panel's state (``DiscoverState``: ``front``, ``points()``,
        ``start``, ``stop``, ``load_candidate``); twins: ``discover``, ``stop_discover``,
        ``show_front``, ``load_candidate``, ``front``

    The methods carry the names of the core verbs (``fix_symbolic``, ``unfix_symbolic``,
    ``prune_edge``, ``unprune``, ``prune(node_th=..., edge_th=...)``, ``preview_prune``,
    ``refine``, ``auto_symbolic``); ``restore`` is the Restore button (unprune or unfix).
    network, edge_panel, train_panel, formula_panel, history_panel, data_panel,
    discover_panel : the panels, public for custom layouts (building any of them builds the
        whole widget; loading a candidate of another width builds new ones)
    message : HTML showing the last message or error (CSS class ``kw-message``)

    Examples
    --------
    >>> ex = Explorer(model, data)            # doctest: +SKIP
    >>> ex                                     # last line of a cell: the widget shows
    >>> ex.select((0, 1, 0)); ex.fix_symbolic((0, 1, 0), "sin"); ex.undo()
    """

    def __init__(self, model, data=None, network_width=380, save_dir=None, **session_kw):
        self.session = Session(model, data, **session_kw)
        self.discovery = DiscoverState(self.session)
        self.session.save_dir = _save_dir(save_dir)
        self._network_width = network_width
        self._widget = None

    @classmethod
    def load(cls, path, network_width=380, save_dir=None, **session_kw):
        """Reopen a session saved with ``save`` (or the Save button): same model, data, undo
        history and selection. The file holds plain data and tensors; nothing in it runs."""
        ex = cls.__new__(cls)
        ex.session = Session.load(path, **session_kw)
        ex.discovery = DiscoverState(ex.session)
        ex.session.save_dir = _save_dir(save_dir)
        ex._network_width = network_width
        ex._widget = None
        return ex

    # ------------------------------------------------------------------ widget
    @property
    def model(self):
        return self.session.model

    @property
    def widget(self) -> widgets.Box:
        """The root widget (CSS class ``kw-explorer``), built on first use."""
        if self._widget is None:
            self._build()
        return self._widget

    def _build(self):
        s = self.session
        self._message = widgets.HTML("")
        self._message.add_class("kw-message")
        # an action that made the loss 10x worse: its Undo right next to the message
        self._message_undo = button("Undo", "kw-message-undo", "Undo the last action", "danger")
        self._message_undo.layout.display = "none"
        self._message_undo.on_click(guard(lambda b: s.undo(), s, "undo"))
        s.observe(lambda ch: self._show_message(), ["message", "message_level", "worse"])
        self._show_message()
        self._grid = widgets.Box(self._build_panels())
        self._grid.add_class("kw-layout")
        # Discover sits below the main layout, folded until opened
        self._discover_panel = DiscoverPanel(self.discovery)
        self._discover_box = widgets.Accordion(children=[self._discover_panel.widget],
                                               titles=("Discover",), selected_index=None)
        self._discover_box.add_class("kw-discover-box")
        # FitPlots: the figures follow their boxes' widths as the grid reflows
        self._widget = widgets.VBox([style_widget(), FitPlots(), self._grid,
                                     self._discover_box])
        self._widget.add_class("kw-explorer")
        # another model in the session (a loaded candidate, its undo): panels for its width
        s.observe(guard(lambda ch: self._rebuild(), s, "rebuild"), "structure")

    def _build_panels(self) -> list:
        """The panels drawn from the session's model, as the layout's children. The session
        observers they register are recorded, so ``_rebuild`` can drop them."""
        s = self.session
        added, observe = [], s.observe

        def recording(handler, names=All, type="change"):
            added.append((handler, names, type))
            observe(handler, names=names, type=type)

        s.observe = recording  # an instance attribute over the method, for this build only
        try:
            # Observers run in the order the panels subscribe: the cheap text panels
            # (formula, history) first, then the edge panel ahead of the plots, so what the
            # user looks at after a click reaches the browser first.
            self._formula_panel = FormulaPanel(s)
            self._history_panel = HistoryPanel(s)
            self._edge_panel = EdgePanel(s)
            self._node_panel = NodePanel(s)
            # one place for the selection: the node panel while a node is selected
            s.observe(lambda ch: self._show_selection_panel(), "selected_node")
            self._show_selection_panel()
            self._network = NetworkView(s, width_px=self._network_width)
            self._train_panel = TrainPanel(s)
            self._data_panel = DataPanel(s)
        finally:
            del s.observe
        self._panel_observers = added
        # Undo / Redo and the message on top; the message keeps two lines of room, so one
        # appearing does not move anything (sizes and the grid are in STYLE)
        toolbar = widgets.Box([self._history_panel.widget, self._message_undo, self._message])
        toolbar.add_class("kw-toolbar")
        return [toolbar, self._network.widget, self._edge_panel.widget,
                self._node_panel.widget, self._formula_panel.widget, self._train_panel.widget,
                self._data_panel.widget]

    def _rebuild(self):
        """New panels for the session's model (its width may have changed); the old ones stop
        listening to the session."""
        s = self.session
        for handler, names, type_ in self._panel_observers:
            s.unobserve(handler, names=names, type=type_)
        old = self._grid.children
        self._grid.children = self._build_panels()
        for w in old:
            w.close()

    def _show_selection_panel(self):
        node = self.session.selected_node is not None
        self._edge_panel.widget.layout.display = "none" if node else None

    def _show_message(self):
        s = self.session
        text = html.escape(s.message)
        # two lines at most (STYLE); the whole text is the tooltip
        self._message.value = (f"<span class='kw-msg-{s.message_level}' title=\"{text}\">"
                               f"{text}</span>")
        self._message_undo.layout.display = None if s.worse else "none"

    def _part(self, name):
        self.widget  # noqa: B018 -- builds every panel
        return getattr(self, name)

    network = property(lambda self: self._part("_network"), doc="NetworkView")
    edge_panel = property(lambda self: self._part("_edge_panel"), doc="EdgePanel")
    node_panel = property(lambda self: self._part("_node_panel"), doc="NodePanel")
    train_panel = property(lambda self: self._part("_train_panel"), doc="TrainPanel")
    formula_panel = property(lambda self: self._part("_formula_panel"), doc="FormulaPanel")
    history_panel = property(lambda self: self._part("_history_panel"), doc="HistoryPanel")
    data_panel = property(lambda self: self._part("_data_panel"), doc="DataPanel")
    discover_panel = property(lambda self: self._part("_discover_panel"), doc="DiscoverPanel")
    message = property(lambda self: self._part("_message"), doc="message HTML")

    def _repr_mimebundle_(self, **kwargs):
        watch_cells(self.session)  # shown in a kernel: follow the cells run after this one
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if getattr(self, "_warm", None) is None:  # the first click as fast as the later ones
            self._warm = start_warm_up(self.session, topk=self._edge_panel.topk)
        return bundle

    # ------------------------------------------------------------------ twins of the UI
    def select(self, edge):
        """Select ``edge`` (a click on its cell)."""
        self.session.select(edge)
        return self

    def suggestions(self, edge=None, topk=5):
        """Ranked ``SymbolicFit`` candidates of the edge (the edge panel's table)."""
        return self.session.suggestions(edge, topk)

    def fix_symbolic(self, edge=None, name=None):
        """Fix ``edge`` (default: the selected one) to function ``name`` (default: the best
        suggestion). Selects the edge, like picking then Fix in the panel."""
        e = self.session.selected if edge is None else edge
        if e is not None:
            self.session.select(e)
        if name is None:
            name = self.session.suggestions(e)[0].name
        self.session.fix_symbolic(e, name)
        return self

    def fix(self, edge=None, name=None):
        """Deprecated name of ``fix_symbolic`` (the Fix button)."""
        _deprecated("Explorer.fix", "Explorer.fix_symbolic")
        return self.fix_symbolic(edge, name)

    def unfix_symbolic(self, edge=None):
        """Back to the spline (``KAN.unfix_symbolic``)."""
        self.session.unfix_symbolic(edge)
        return self

    def prune_edge(self, edge=None):
        """Mask ``edge`` (default: the selected one): the edge panel's Prune."""
        self.session.prune_edge(edge)
        return self

    def unprune(self, edge=None):
        """Unmask ``edge`` (default: the selected one)."""
        self.session.unprune(edge)
        return self

    def restore(self, edge=None):
        """The edge panel's Restore: ``unprune`` a pruned edge, ``unfix_symbolic`` a symbolic one."""
        self.session.restore(edge)
        return self

    def train(self, steps=20, wait=True, **fit_kw):
        """Train (the Train button). ``wait=False`` returns at once, as the button does;
        keywords (``opt``, ``lr``, ``lamb``, ``lamb_entropy``, ...) go to ``fit``."""
        self.session.train(steps=steps, background=not wait, **fit_kw)
        return self

    def stop(self):
        """Stop a running training after its current step (the Stop button)."""
        self.session.stop()
        return self

    def refine(self, grid, confirm=False):
        """Grid extension (Refine grid), or coarsening to a smaller grid; a huge grid needs
        ``confirm=True``."""
        self.session.refine(grid, confirm=confirm)
        return self

    def prune(self, *args, node_th=1e-2, edge_th=3e-2):
        """Prune weak nodes and edges by attribution (Prune weak edges; ``KAN.prune``).

        ``explorer.prune(edge)`` with an edge is the deprecated spelling of ``prune_edge``.
        """
        if len(args) == 1 and not isinstance(args[0], (int, float)):
            _deprecated("Explorer.prune(edge)", "Explorer.prune_edge(edge)")
            return self.prune_edge(args[0])
        if args:
            raise TypeError("Explorer.prune takes keyword thresholds: "
                            "prune(node_th=..., edge_th=...)")
        self.session.prune(node_th=node_th, edge_th=edge_th)
        return self

    def preview_prune(self, *args, node_th=1e-2, edge_th=3e-2):
        """Edges ``prune(node_th=..., edge_th=...)`` would mask, highlighted on the plot.
        (One positional threshold, the old spelling, is the deprecated ``edge_th``.)"""
        if args:
            _deprecated("Explorer.preview_prune(threshold)",
                        "Explorer.preview_prune(edge_th=threshold)")
            (edge_th,) = args
        return self.session.preview_prune(node_th=node_th, edge_th=edge_th)

    def prune_weak(self, threshold=3e-2):
        """Deprecated: ``prune(edge_th=threshold)``."""
        _deprecated("Explorer.prune_weak(threshold)", "Explorer.prune(edge_th=threshold)")
        return self.prune(edge_th=threshold)

    def auto_symbolic(self, **kw):
        """Fix every spline edge to its best function (Auto-symbolic)."""
        self.session.auto_symbolic(**kw)
        return self

    # ------------------------------------------------------------------ discovery
    def discover(self, time_budget=20.0, wait=True, seed=0, **discover_kw):
        """Search the Explorer's data for formulas (the Discover button): ``kw.discover``
        with ``time_budget`` seconds, in the background; ``wait=False`` returns at once, as
        the button does. Keywords go to ``discover`` (``max_models``, ``widths``, ...). The
        front is ``explorer.front``; ``load_candidate(i)`` takes one into the Explorer."""
        self.discovery.start(time_budget=time_budget, seed=seed, background=True,
                             **discover_kw)
        if wait:
            self.discovery.wait()
        return self

    def stop_discover(self):
        """End a running search; the front found so far is kept (the Discover panel's Stop)."""
        self.discovery.stop()
        return self

    @property
    def front(self):
        """The front of the last (or running) search: a ``kw.discovery.Front``, or None."""
        return self.discovery.front

    def show_front(self, front):
        """Draw ``front`` (what ``kw.discover`` returned) in the Discover panel, to load its
        candidates from here."""
        self.discovery.show_front(front)
        return self

    def load_candidate(self, i):
        """Load candidate ``i`` of the front (simplest first, as drawn; or a Candidate) into
        the Explorer: its model (a copy) and data (the candidate's view, scaled), as ONE
        undoable step "loaded candidate: <formula>" (a click on its point). Undo goes back."""
        self.discovery.load_candidate(i)
        return self

    def undo(self):
        self.session.undo()
        return self

    def redo(self):
        self.session.redo()
        return self

    def refresh(self):
        """Redraw everything and forget cached suggestions. A change made to the model outside
        the Explorer (``model.fit(...)`` in a cell) is noticed at the next click anyway, and
        recorded as an undoable "changed outside" step; this shows it at once."""
        self.session.refresh()
        return self

    # ------------------------------------------------------------------ nodes, session
    def select_node(self, layer, i=None):
        """Select node ``i`` of node-layer ``layer`` (a click on its dot; None clears): the
        node panel shows what it computes over the data, and what pruning it would do."""
        self.session.select_node(layer, i)
        return self

    def node_activation(self, layer=None, i=None):
        """What the node panel draws (``NodeActivation``): the node's value on the samples."""
        return self.session.node_activation(layer, i)

    def prune_node(self, layer=None, i=None):
        """Prune a node (default: the selected one); on an input node, drop that input."""
        self.session.prune_node(layer, i)
        return self

    def preview_prune_node(self, layer=None, i=None):
        """What pruning the node would do (``NodePreview``: edges that go, loss after)."""
        return self.session.preview_prune_node(*self.session._node(layer, i))

    def add_node(self, layer, kind="sum"):
        """Add a node to hidden layer ``layer`` (the Shape row's ``+ node``; ``kind="mult"``:
        a multiplication node). The function stays; undoable."""
        self.session.add_node(layer, kind)
        return self

    def remove_node(self, layer, i=None):
        """Remove node ``i`` of hidden layer ``layer`` (``− node``: default the selected node
        of that layer, else its last); ``preview_remove_node`` gives the loss after."""
        self.session.remove_node(layer, i)
        return self

    def preview_remove_node(self, layer, i=None):
        """What ``remove_node`` would do (``ShapePreview``: width and loss after)."""
        return self.session.preview_remove_node(layer, i)

    def add_layer(self, at=None):
        """Add a hidden layer (``+ layer``: after the last hidden layer), starting as the
        identity; undoable."""
        self.session.add_layer(at)
        return self

    def prune_input(self, i):
        """Drop input ``i`` (index or name): ``KAN.prune_input``."""
        self.session.prune_input(i)
        return self

    def reset(self, seed=None):
        """Re-initialise the parameters with ``seed`` (the Reset button; undoable)."""
        self.session.reset(seed)
        return self

    def step(self, **fit_kw):
        """One training step (the Step button)."""
        self.session.step(**fit_kw)
        return self

    def save(self, path) -> str:
        """Save model, data, undo history and selection to ``path`` (the Save button);
        ``Explorer.load(path)`` reopens it."""
        return self.session.save(path)

    def preview_refine(self, grid):
        """What ``refine(grid)`` would do (``RefinePreview``): refine or coarsen, loss after."""
        return self.session.preview_refine(grid)

    def preview_auto_symbolic(self, lib=None, **kw):
        """What ``auto_symbolic`` would do (``AutoSymbolicPreview``): picks and loss after."""
        return self.session.preview_auto_symbolic(lib, **kw)

    def formula(self, digits=4):
        """The formula panel's content (``FormulaText``: latex, sympy, python, error)."""
        return self.session.formula(digits)

    def __repr__(self):
        s = self.session
        return (f"Explorer(width={s.model.width}, steps={len(s.undo_history)}, "
                f"selected={s.selected}, revision={s.revision})")
