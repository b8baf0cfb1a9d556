"""``KAN``: the network. Verbs live in mixins, one module each (training, attribution,
pruning, symbolic edges, io); this module holds construction, evaluation and the helpers
the mixins share (``check_input``, ``layer_input``, ``mark_changed``, ``version``, ``score``)."""

from __future__ import annotations

import torch
from torch import nn

from .attribution import AttributionMixin
from .classification import ClassifierMixin
from .edges import EdgeId, as_edge
from .freezing import FreezeMixin
from .io import IOMixin
from .layer import KANLayer, sparse_mask
from .mult import MultLayout, combine, parse_mult_width
from .plotting import plot_model
from .pruning import PruningMixin
from .pykan_names import missing_attribute, train_hint
from .report import model_repr
from .reshape import ReshapeMixin
from .resources import check_size
from .structure.mixin import StructureMixin
from .symbolic_edges import SymbolicMixin
from .threads import scoped
from .training import HISTORY_KEYS, TrainingMixin
from .validation import as_matrix, check_dtype, check_int, check_number, check_seed, check_xy

__all__ = ["KAN"]


class KAN(TrainingMixin, ClassifierMixin, FreezeMixin, AttributionMixin, PruningMixin, SymbolicMixin, IOMixin,
          StructureMixin, ReshapeMixin, nn.Module):
    """A Kolmogorov-Arnold Network.

    Every edge carries a learnable 1-D function
    ``phi(x) = scale_base * silu(x) + scale_sp * sum_c coef_c B_c(x)`` (B-splines of order ``k``
    on ``grid`` intervals), which can be pruned or replaced by a symbolic function; nodes sum.

    Parameters
    ----------
    width : list of int or [n_sum, n_mult] pairs
        Nodes per layer, inputs first: ``[2, 5, 1]``. A hidden layer written ``[n_sum, n_mult]``
        (pykan's notation) has ``n_sum`` sum nodes then ``n_mult`` multiplication nodes:
        ``[2, [0, 1], 1]`` computes a product of two learned functions. The list is copied,
        never mutated.
    mult_arity : int or list
        Sub-nodes each multiplication node multiplies (>= 2): one int for all, or one entry
        per layer of ``width``, each an int or a list with one arity per multiplication node.
    grid : int
        Grid intervals G per edge (>= 1).
    k : int
        Spline order (>= 1; 3 = cubic).
    seed : int
        Seed of the initialisation and of the batch sampling in ``fit``. Same seed and data give
        bitwise the same model.
    grid_range : (float, float)
        Initial grid interval of every edge; ``fit`` moves grids to the data.
    grid_eps : float
        0 = grid at sample quantiles, 1 = uniform grid over the samples' range.
    base_fun : {"silu", "identity", "zero"}
        The residual function b(x).
    noise_scale : float
        Amplitude of the random initial splines.
    scale_base_mu, scale_base_sigma : float
        Initial ``scale_base`` distribution (as pykan).
    affine_trainable : bool
        Train the per-node output affine (``node_scale``, ``node_bias``).
    sb_trainable, sp_trainable : bool
        Train ``scale_base`` / ``scale_sp`` of every edge (pykan's names); per edge or layer
        see ``freeze``.
    sparse_init : bool
        pykan's sparse initialisation: each layer starts with only the edges linking every
        node to its nearest neighbours on the other side (nodes evenly spaced on [0, 1]);
        the others start pruned (``unprune`` brings them back). Modular structure then shows
        up more readily; ``auto_swap`` makes it visible.
    device, dtype : torch device and floating dtype of the parameters.

    Attributes
    ----------
    width : list of int, nodes per layer (``n_sum + n_mult``; layer ``l`` reads ``width[l]``)
    width_out : list of int, sub-nodes per layer: layer ``l`` outputs ``width_out[l + 1]``
        values (``n_sum + sum(arity)``); equal to ``width`` for a sum-only model
    width_spec : width as pykan writes it (ints, ``[n_sum, n_mult]`` for layers with products)
    mult_arity : list (one per layer of width) of lists, the arity of each multiplication node
    layers : nn.ModuleList of KANLayer; ``layers[l]`` maps ``width[l]`` -> ``width_out[l + 1]``
    history_ : dict of lists, the training log of ``fit``: ``step``, ``train_loss``,
        ``train_rmse``, ``test_loss``, ``test_rmse``, ``reg`` (``fit`` says what each records)
    X_fit_ : (n_samples, width[0]) tensor, training inputs of the last ``fit``; verbs that need
        samples use it when called with ``X=None``
    variables_ : input names, from the data of the last ``fit`` when it had names
    edge_scores_, node_scores_ : attribution scores stored by ``attribute`` (``attribution``
        returns them without storing); every change of the model drops them
    symbolic_fits_ : dict EdgeId -> SymbolicFit of the fixed edges
    version : int, read-only; grows whenever the model changes (see ``version``)

    Notes
    -----
    Deviations from pykan 0.2.8, on purpose: least squares are deterministic (Cholesky of the
    normal equations, see ``grid``); refine and update_grid fit the old curve on the samples
    *plus* an even sweep of the grid, so a grid finer than the samples stays well posed;
    symbolic edges use the singularity-safe variant of
    their function in the forward pass.
    """

    def __init__(self, width, grid=5, k=3, seed=0, grid_range=(-1.0, 1.0), grid_eps=0.02,
                 base_fun="silu", noise_scale=0.3, scale_base_mu=0.0, scale_base_sigma=1.0,
                 affine_trainable=False, sb_trainable=True, sp_trainable=True, mult_arity=2,
                 sparse_init=False, device=None, dtype=None):
        super().__init__()
        layouts = parse_mult_width(width, mult_arity)
        width = [lay.n_nodes for lay in layouts]
        grid, k, seed = check_int("grid", grid, 1), check_int("k", k, 1), check_seed(seed)
        if not isinstance(grid_range, (tuple, list)) or len(grid_range) != 2:
            raise ValueError(f"grid_range must be (low, high); got {grid_range!r}")
        lo, hi = (check_number("grid_range", v) for v in grid_range)
        if not lo < hi:
            raise ValueError(f"grid_range must be (low, high) with low < high; got {grid_range!r}")
        grid_eps = check_number("grid_eps", grid_eps)
        if not 0.0 <= grid_eps <= 1.0:
            raise ValueError(f"grid_eps must be in [0, 1]; got {grid_eps}")
        noise_scale = check_number("noise_scale", noise_scale, 0.0)
        scale_base_mu = check_number("scale_base_mu", scale_base_mu)
        scale_base_sigma = check_number("scale_base_sigma", scale_base_sigma, 0.0)
        dtype = check_dtype(dtype)
        check_size([lay.n_sub for lay in layouts], grid, k, dtype)
        self._set_layouts(layouts)
        self.k, self.seed = k, int(seed)
        self.grid_range, self.grid_eps = (lo, hi), float(grid_eps)
        self.base_fun = base_fun
        self.config = dict(grid=grid, k=k, seed=int(seed), grid_range=(lo, hi),
                           grid_eps=float(grid_eps), base_fun=base_fun,
                           noise_scale=float(noise_scale), scale_base_mu=float(scale_base_mu),
                           scale_base_sigma=float(scale_base_sigma),
                           affine_trainable=bool(affine_trainable))
        if not sb_trainable or not sp_trainable:  # kept out of config when default: older
            # files and readers of config see the same keys
            self.config.update(sb_trainable=bool(sb_trainable), sp_trainable=bool(sp_trainable))
        if any(lay.arity for lay in layouts):
            self.config["mult_arity"] = [list(lay.arity) for lay in layouts]
        if not isinstance(sparse_init, bool):
            raise TypeError(f"sparse_init must be True or False; got {sparse_init!r}")
        if sparse_init:  # kept out of config when off, as sb_trainable
            self.config["sparse_init"] = True
        gen = torch.Generator().manual_seed(int(seed))
        self.layers = nn.ModuleList(
            KANLayer(width[l], layouts[l + 1].n_sub, grid=grid, k=k, grid_range=(lo, hi),
                     grid_eps=grid_eps, base_fun=base_fun, noise_scale=noise_scale,
                     scale_base_mu=scale_base_mu, scale_base_sigma=scale_base_sigma,
                     generator=gen, dtype=dtype, device=device)
            for l in range(len(width) - 1)
        )
        for layer in self.layers:
            if sparse_init:  # after all layers drew their random numbers: same seed stream
                layer.mask = sparse_mask(layer.n_in, layer.n_out, dtype, layer.knots.device)
            layer.node_scale.requires_grad_(affine_trainable)
            layer.node_bias.requires_grad_(affine_trainable)
            layer.scale_base.requires_grad_(bool(sb_trainable))
            layer.scale_sp.requires_grad_(bool(sp_trainable))
        self.history_ = {key: [] for key in HISTORY_KEYS}
        self.X_fit_ = None
        self.variables_ = None
        self.output_names_ = None
        self.edge_scores_ = None
        self.node_scores_ = None
        self.symbolic_fits_ = {}
        self._version_count = 0
        self._fingerprint = self._tensor_fingerprint()

    # ------------------------------------------------------------------ mult structure
    def _set_layouts(self, layouts: list[MultLayout]):
        """Set the node / sub-node structure and the width lists derived from it."""
        self._layouts = list(layouts)
        self.width = [lay.n_nodes for lay in layouts]
        self.width_out = [lay.n_sub for lay in layouts]
        self.width_spec = [lay.spec() for lay in layouts]
        self.mult_arity = [list(lay.arity) for lay in layouts]
        self._mult_index = {}
        if hasattr(self, "config"):  # after compact: keep the constructor arguments in step
            self.config.pop("mult_arity", None)
            if any(lay.arity for lay in layouts):
                self.config["mult_arity"] = [list(lay.arity) for lay in layouts]

    @property
    def has_mult(self) -> bool:
        """Whether the model has multiplication nodes."""
        return any(self.mult_arity)

    def mult_layout(self, m: int) -> MultLayout:
        """Node / sub-node structure of node-layer ``m`` (0 = inputs)."""
        return self._layouts[m]

    def nodes_from_subnodes(self, l: int, sub: torch.Tensor) -> torch.Tensor:
        """Outputs of layer ``l`` (batch, width_out[l + 1]) -> node values
        (batch, width[l + 1]): multiplication nodes multiply their sub-nodes, sum nodes pass.
        A sum-only layer returns ``sub`` itself."""
        layout = self._layouts[l + 1]
        if not layout.arity:
            return sub
        key = (l, sub.device)
        idx = self._mult_index.get(key)
        if idx is None:
            idx = self._mult_index[key] = layout.gather_index().to(sub.device)
        return combine(sub, layout, idx)

    def _run_layer(self, l: int, x: torch.Tensor) -> torch.Tensor:
        return self.nodes_from_subnodes(l, self.layers[l](x))

    # ------------------------------------------------------------------ properties
    @property
    def grid(self) -> int:
        """Grid intervals of the first layer (all layers share G unless edited by hand)."""
        return self.layers[0].G

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def dtype(self) -> torch.dtype:
        return self.layers[0].coef.dtype

    @property
    def device(self) -> torch.device:
        return self.layers[0].coef.device

    def edges(self, mode: str | None = None) -> list[EdgeId]:
        """All edges, optionally only those in ``mode`` ("spline", "symbolic", "pruned")."""
        out = []
        for l, layer in enumerate(self.layers):
            for i in range(layer.n_in):
                for j in range(layer.n_out):
                    e = EdgeId(l, i, j)
                    if mode is None or self.edge_mode(e) == mode:
                        out.append(e)
        return out

    def edge_mode(self, edge) -> str:
        """``"pruned"``, ``"symbolic"`` or ``"spline"``."""
        l, i, j = as_edge(edge, self.width, self.width_out)
        layer = self.layers[l]
        if layer.mask[i, j] == 0:
            return "pruned"
        return "symbolic" if bool(layer.symbolic[i, j]) else "spline"

    # ------------------------------------------------------------------ version
    def _tensor_fingerprint(self) -> tuple:
        # version counters catch in-place writes (``with torch.no_grad(): p += 1``,
        # ``load_state_dict``); data pointers and shapes catch ``.data = ...`` assignments.
        # Private torch API: ``Tensor._version`` (listed in docs/PRIVATE_APIS.md).
        return tuple((t._version, t.data_ptr(), tuple(t.shape))
                     for t in (*self.parameters(), *self.buffers()))

    @property
    def version(self) -> int:
        """A counter that grows whenever the model changes; compare two reads to know.

        Every mutating verb (``fit``, ``prune``, ``fix_symbolic``, ``load_state``, ...) bumps
        it. Parameters or buffers edited by hand (``with torch.no_grad(): layer.coef += 1``,
        ``load_state_dict``, ``p.data = t``) are noticed when ``version`` is read next, by a
        fingerprint of the tensors' version counters and storage pointers. Not noticed: writes
        through ``p.data`` in place (``p.data.add_(1)``, which torch does not count), and plain
        attributes set by hand; call ``mark_changed()`` after those. Queries (``predict``,
        ``activations``, ``suggest_symbolic``, ``attribution``, ``formula``) leave it as is.
        """
        fp = self._tensor_fingerprint()
        if fp != self._fingerprint:
            self._fingerprint = fp
            self._version_count += 1
        return self._version_count

    def changed_since(self, version: int) -> bool:
        """Whether the model changed after ``version`` (an earlier read of ``model.version``)."""
        return self.version != version

    def mark_changed(self):
        """Record that the model changed: drops derived state (attribution scores) and bumps
        ``version``. Every mutating verb calls it; call it yourself after editing the model in
        a way ``version`` cannot see (see there). Returns self."""
        self.edge_scores_ = None
        self.node_scores_ = None
        self._fingerprint = self._tensor_fingerprint()
        self._version_count += 1
        return self

    # ------------------------------------------------------------------ evaluation
    def check_input(self, x) -> torch.Tensor:
        """``x`` as a (batch, width[0]) tensor of the model's dtype and device.

        A tensor that already is one is returned as is (no copy, no scan); anything else is
        validated (shape, finiteness) with an error that says what to fix.
        """
        if isinstance(x, torch.Tensor) and x.ndim == 2 and x.shape[1] == self.width[0] \
                and x.dtype == self.dtype and x.device == self.device and x.is_contiguous() \
                and x.shape[0] > 0:
            return x  # hot path: no copies, no finiteness scan
        # the layers' kernels flatten (batch, n_in) with views: other layouts (a transposed
        # tensor, a Fortran-ordered array, a DataFrame's block) are made contiguous here, once
        return as_matrix(x, "X", n_cols=self.width[0], dtype=self.dtype, device=self.device,
                         what="input columns", allow_empty=True)

    _check_input = check_input  # the name used before it was public

    @scoped("forward")
    def forward(self, x) -> torch.Tensor:
        """(batch, width[0]) -> (batch, width[-1]); the fast path. An empty batch gives an
        empty (0, width[-1]) tensor."""
        x = self.check_input(x)
        if x.shape[0] == 0:
            return x.new_zeros((0, self.width[-1]))
        for l in range(self.depth):
            x = self._run_layer(l, x)
        return x

    @scoped("forward")
    def layer_inputs(self, x) -> list[torch.Tensor]:
        """Inputs of every layer and the output: ``len(width)`` tensors (batch, width[l])."""
        xs = [self.check_input(x)]
        for l in range(self.depth):
            xs.append(self._run_layer(l, xs[-1]))
        return xs

    def layer_input(self, x, layer: int) -> torch.Tensor:
        """Inputs of layer ``layer`` for model inputs ``x``: (batch, width[0]) ->
        (batch, width[layer]); only the layers before it run (gradients flow as in forward)."""
        if not 0 <= int(layer) <= self.depth:
            raise IndexError(f"layer {layer} does not exist: layers are 0..{self.depth - 1} "
                             f"({self.depth} = the outputs)")
        x = self.check_input(x)
        for l in range(int(layer)):
            x = self._run_layer(l, x)
        return x

    @scoped("forward")
    def activations(self, x, layer: int | None = None):
        """Per-edge values for inspection.

        Returns
        -------
        list of tensors (batch, width_out[l+1], width[l]), one per layer; or the one tensor
        of ``layer`` when given. Summed over the last axis (and after the node affine) they
        equal the layer's sub-node outputs (the node values of a sum-only model).
        """
        xs = self.layer_inputs(x)
        acts = [lay.activations(xi) for lay, xi in zip(self.layers, xs[:-1])]
        return acts if layer is None else acts[layer]

    @scoped("forward")
    def predict(self, X):
        """``forward`` without gradients, for arrays or tensors of shape (n, width[0])."""
        with torch.no_grad():
            return self.forward(X)

    def score(self, X, y) -> float:
        """Root mean squared error of ``predict(X)`` against ``y``, over all samples and
        outputs: ``sqrt(mean((predict(X) - y) ** 2))``. A float; lower is better (not
        scikit-learn's higher-is-better ``score``). ``y``: (n, width[-1]) or (n,) for one output.
        For a classifier (outputs are logits) use ``accuracy(X, labels)`` instead.
        """
        X, y = check_xy(X, y, self.width[0], self.width[-1], dtype=self.dtype,
                        device=self.device)
        with torch.no_grad():
            return float(((self.forward(X) - y) ** 2).mean().sqrt())

    def _require_samples(self, X, verb: str) -> torch.Tensor:
        if X is not None:
            x = self.check_input(X)
            if x.shape[0] == 0:
                raise ValueError(f"{verb}: X is empty (shape {tuple(x.shape)}); give at least "
                                 "one sample")
            return x
        if self.X_fit_ is None:
            raise RuntimeError(
                f"{verb} needs input samples: pass X=... (shape (n, {self.width[0]})) or call "
                "fit first, whose training inputs are then used"
            )
        return self.check_input(self.X_fit_)  # on the model's device after a .to()

    def __repr__(self) -> str:
        return model_repr(self)

    # ------------------------------------------------------------------ figure
    def plot(self, *, color="mode", show_pruned=True, scores=True, width_px=640, title=None,
             **pykan_args):
        """The network as a static plotly ``Figure``: the Explorer's drawing, for papers.

        Parameters
        ----------
        color : ``"mode"`` (splines dark, symbolic edges red, opacity by attribution score,
            as the Explorer) or ``"score"`` (edges coloured by score, with a colour bar)
        show_pruned : draw pruned edges (dotted grey)
        scores : edge scores per layer; True (default) the stored ones or computed on the last
            fit's inputs; False draws without
        width_px : width in pixels; title : optional title

        Returns
        -------
        plotly Figure; ``.write_image("net.png")`` (or ``.svg``, ``.pdf``) saves it, which
        needs ``kaleido`` and a Chrome or Chromium browser (the error says what to install).
        Needs ``import kan_widgets`` (core draws nothing itself). pykan's arguments
        (``folder=...``, ``beta=...``) are refused with what to use instead.
        """
        options = dict(color=color, show_pruned=show_pruned, scores=scores, width_px=width_px,
                       title=title)
        return plot_model(self, options, pykan_args)

    # ------------------------------------------------------------------ pykan's spellings
    def train(self, mode=True, *args, **kwargs):
        """torch's training-mode switch (``nn.Module.train``); pykan's
        ``model.train(dataset, ...)`` is ``fit`` here, and says so."""
        if args or kwargs or not isinstance(mode, bool):
            raise train_hint()
        return super().train(mode)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            raise missing_attribute(type(self).__name__, name) from None
