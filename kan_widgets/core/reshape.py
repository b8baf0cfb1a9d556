"""Shape verbs: ``expand_width`` (more hidden nodes), ``expand_depth`` (one more layer) and
``perturb`` (noise, to make a compiled or expanded model trainable), as in pykan's compiler
tutorial. ``expand_width`` and ``expand_depth`` keep the function the model computes; all
three are atomic, in place, return self and bump ``version``.

A new layer object replaces a resized one (its parameters are new ``Parameter`` objects: an
optimizer built before the call must be rebuilt, as after ``refine`` to another size).
"""

from __future__ import annotations

import numbers

import torch

from .bspline import extend_grid
from .edges import EdgeId
from .grid import fit_coef, grid_from_samples, update_layer_grid
from .layer import KANLayer
from .mult import MultLayout
from .threads import scoped
from .transaction import atomic
from .validation import check_number, check_seed

__all__ = ["ReshapeMixin", "IDENTITY_TOL"]

# expand_depth(kind="spline"): the identity is a cubic spline fitted by least squares, exact
# in exact arithmetic on the grid interval; measured max |error| / max |x| there: ~1e-15 in
# float64, ~1e-7 in float32. The tests hold it to these tolerances.
IDENTITY_TOL = {torch.float64: 1e-12, torch.float32: 1e-5}


def _count(name, v, low):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
        raise ValueError(f"{name} must be an int >= {low}; got {v!r}")
    return int(v)


def _resized(old: KANLayer, in_pos, out_pos, n_in: int, n_out: int, cfg: dict,
             gen: torch.Generator) -> KANLayer:
    """A layer of ``n_in x n_out`` edges, freshly initialised (as the constructor does), with
    ``old``'s edges copied to rows ``in_pos`` and columns ``out_pos`` (index lists)."""
    new = KANLayer(n_in, n_out, grid=old.G, k=old.k, grid_range=cfg["grid_range"],
                   grid_eps=old.grid_eps, base_fun=old.base_fun,
                   noise_scale=cfg.get("noise_scale", 0.3),
                   scale_base_mu=cfg.get("scale_base_mu", 0.0),
                   scale_base_sigma=cfg.get("scale_base_sigma", 1.0), generator=gen,
                   dtype=old.coef.dtype, device=old.coef.device)
    dev = old.coef.device
    ii = torch.as_tensor(in_pos, dtype=torch.long, device=dev)
    oo = torch.as_tensor(out_pos, dtype=torch.long, device=dev)
    rows, cols = ii[:, None], oo[None, :]
    with torch.no_grad():
        for name in ("coef", "scale_base", "scale_sp", "sym_affine"):
            getattr(new, name)[rows, cols] = getattr(old, name)
        for name in ("node_scale", "node_bias"):
            getattr(new, name)[oo] = getattr(old, name)
        new.knots[ii] = old.knots
        new.mask[rows, cols] = old.mask
        new.symbolic[rows, cols] = old.symbolic
        new.frozen[:, rows, cols] = old.frozen
    for name in ("coef", "scale_base", "scale_sp", "sym_affine", "node_scale", "node_bias"):
        getattr(new, name).requires_grad_(getattr(old, name).requires_grad)
    new.sym_names = {(in_pos[i], out_pos[j]): f for (i, j), f in old.sym_names.items()}
    new._groups = None
    new.grid_changed()
    return new


def _zero_edges(layer: KANLayer, rows=None, cols=None):
    """Edges (rows x cols, ``None`` = all) output 0 everywhere: spline, no coef, no base."""
    rows = slice(None) if rows is None else torch.as_tensor(rows, dtype=torch.long)
    cols = slice(None) if cols is None else torch.as_tensor(cols, dtype=torch.long)
    with torch.no_grad():
        layer.coef[rows, cols] = 0
        layer.scale_base[rows, cols] = 0


def _generator(model, seed):
    seed = model.seed + 1 + model.version if seed is None else check_seed(seed)
    return torch.Generator().manual_seed(int(seed))


class ReshapeMixin:
    """Shape verbs for ``KAN``."""

    @atomic("expand_width")
    def expand_width(self, layer, n=1, kind="sum", arity=2, init="random", seed=None):
        """Add ``n`` nodes to hidden node-layer ``layer``; the model's function is unchanged.
        In place; returns self.

        Parameters
        ----------
        layer : int, hidden node-layer (1 .. depth - 1; 0 = inputs, depth = outputs)
        n : int >= 1, nodes to add
        kind : ``"sum"`` (placed after the layer's sum nodes, before its multiplication
            nodes: later node indices shift by ``n``) or ``"mult"`` (multiplication nodes of
            ``arity`` sub-nodes each, appended at the end)
        arity : sub-nodes per new multiplication node (>= 2)
        init : ``"random"`` (the new node's incoming edges start as a fresh constructor
            initialisation, so gradients reach them) or ``"zero"`` (they output 0 too)
        seed : seed of the new edges' initialisation (default: from the model's seed and
            version)

        The new node's *outgoing* edges start at zero output (spline coefficients and
        ``scale_base`` 0), so the output is what it was, up to the rounding of the next
        layer's now longer sums (measured: at most a few units in the last place, ~1e-16
        relative in float64); training, or ``perturb``, brings them to life. Edge ids of the
        shifted nodes, their symbolic fits and masks move with them.
        """
        m = _count("layer", layer, 0)
        if not 1 <= m < self.depth:
            raise ValueError(f"layer {layer} is not a hidden node-layer: hidden layers are "
                             f"1..{self.depth - 1} (0 = inputs, {self.depth} = outputs)"
                             if self.depth > 1 else
                             "this model has no hidden layer; add one with expand_depth() first")
        n = _count("n", n, 1)
        if kind not in ("sum", "mult"):
            raise ValueError(f"kind must be 'sum' or 'mult'; got {kind!r}")
        arity = _count("arity", arity, 2)
        if init not in ("random", "zero"):
            raise ValueError(f"init must be 'random' or 'zero'; got {init!r}")
        old = self.mult_layout(m)
        if kind == "sum":
            at = old.n_sum  # sum nodes come first: nodes and sub-nodes from here shift by n
            node_pos = [j if j < at else j + n for j in range(old.n_nodes)]
            sub_pos = [s if s < at else s + n for s in range(old.n_sub)]
            new_layout = MultLayout(old.n_sum + n, old.arity)
            new_subs = list(range(at, at + n))
            new_nodes = list(range(at, at + n))
        else:
            node_pos, sub_pos = list(range(old.n_nodes)), list(range(old.n_sub))
            new_layout = MultLayout(old.n_sum, old.arity + [arity] * n)
            new_subs = list(range(old.n_sub, new_layout.n_sub))
            new_nodes = list(range(old.n_nodes, new_layout.n_nodes))
        gen = _generator(self, seed)
        into, outof = self.layers[m - 1], self.layers[m]
        cfg = self.config
        into_new = _resized(into, list(range(into.n_in)), sub_pos, into.n_in, new_layout.n_sub,
                            cfg, gen)
        out_new = _resized(outof, node_pos, list(range(outof.n_out)), new_layout.n_nodes,
                           outof.n_out, cfg, gen)
        _zero_edges(out_new, rows=new_nodes)
        if init == "zero":
            _zero_edges(into_new, cols=new_subs)
        self.layers[m - 1], self.layers[m] = into_new, out_new
        self._set_layouts([new_layout if q == m else self.mult_layout(q)
                           for q in range(self.depth + 1)])
        self.symbolic_fits_ = {
            EdgeId(l, node_pos[i] if l == m else i, sub_pos[j] if l == m - 1 else j): f
            for (l, i, j), f in self.symbolic_fits_.items()}
        self.mark_changed()
        return self

    @scoped("grid")
    @atomic("expand_depth")
    def expand_depth(self, at=None, kind="symbolic", X=None):
        """Insert a layer that computes the identity after node-layer ``at`` (default: after
        the outputs, as pykan). In place; returns self.

        The new layer maps the ``width[at]`` nodes to as many sum nodes: edge ``(i -> i)`` is
        the identity, every other edge a spline that outputs 0 (trainable).

        Parameters
        ----------
        at : node-layer after which to insert (0 = inputs .. depth = outputs)
        kind : ``"symbolic"``: the diagonal edges are fixed to ``x`` (``1 * (1 * x + 0) + 0``),
            so the model's output is bitwise unchanged; ``"spline"``: they are cubic splines
            fitted to the identity on a grid over the node's values on ``X`` (default the last
            ``fit``'s inputs; without either, the model's ``grid_range``). A spline equals the
            identity exactly on its grid interval, up to the rounding of the least-squares fit:
            ``IDENTITY_TOL`` (1e-12 of the node's range in float64, 1e-5 in float32); outside
            its grid it falls to 0, so pass ``X`` covering the inputs you care about.
        X : (n, width[0]) samples for ``kind="spline"``
        """
        at = self.depth if at is None else _count("at", at, 0)
        if at > self.depth:
            raise ValueError(f"at={at}: node-layers are 0..{self.depth} (0 = inputs, "
                             f"{self.depth} = outputs)")
        if kind not in ("symbolic", "spline"):
            raise ValueError(f"kind must be 'symbolic' or 'spline'; got {kind!r}")
        w = self.width[at]
        ref = self.layers[min(at, self.depth - 1)]
        cfg = self.config
        new = KANLayer(w, w, grid=ref.G, k=ref.k, grid_range=cfg["grid_range"],
                       grid_eps=ref.grid_eps, base_fun=ref.base_fun,
                       generator=_generator(self, None), dtype=self.dtype, device=self.device)
        for name in ("node_scale", "node_bias", "scale_base", "scale_sp"):
            getattr(new, name).requires_grad_(getattr(ref, name).requires_grad)
        _zero_edges(new)
        if kind == "symbolic":
            for i in range(w):
                new.set_symbolic(i, i, "x", (1.0, 0.0, 1.0, 0.0))
        else:
            self._spline_identity(new, at, X)
        layouts = [self.mult_layout(q) for q in range(self.depth + 1)]
        self.layers.insert(at, new)
        layouts.insert(at + 1, MultLayout(w, []))
        self._set_layouts(layouts)
        self.symbolic_fits_ = {EdgeId(l + (l >= at), i, j): f
                               for (l, i, j), f in self.symbolic_fits_.items()}
        self.mark_changed()
        return self

    def _spline_identity(self, layer: KANLayer, at: int, X):
        """Diagonal edges of ``layer`` := the identity, as splines on a grid over the values
        of node-layer ``at`` (from ``X`` or the last fit's inputs, else the grid range)."""
        if X is not None or self.X_fit_ is not None:
            with torch.no_grad():
                v = self.layer_input(self._require_samples(X, "expand_depth"), at)
            pad = 0.05 * (v.max(0).values - v.min(0).values).clamp_min(1e-3)
            v = torch.cat([v, (v.min(0).values - pad)[None], (v.max(0).values + pad)[None]])
            with torch.no_grad():
                layer.knots = extend_grid(grid_from_samples(v, layer.G, 1.0), layer.k)
                layer.grid_changed()
        lo, hi = layer.knots[:, layer.k], layer.knots[:, -layer.k - 1]
        t = torch.linspace(0, 1, 4 * layer.G + 8, dtype=lo.dtype, device=lo.device)[:, None]
        pts = lo + (hi - lo) * t  # (N, w)
        eye = torch.eye(layer.n_in, dtype=pts.dtype, device=pts.device)
        # no ridge: the sweep makes the problem well posed, and a ridge would bias it (~1e-8)
        coef = fit_coef(pts, pts[:, :, None] * eye, layer.knots, layer.k, ridge=0.0)
        with torch.no_grad():
            diag = torch.arange(layer.n_in)
            layer.coef[diag, diag] = coef[diag, diag]
            layer.scale_sp.fill_(1.0)

    @scoped("grid")
    @atomic("perturb")
    def perturb(self, magnitude=0.1, seed=0, mode="spline", X=None):
        """Add noise so a compiled (all-symbolic) or expanded model can learn from data.
        In place; returns self.

        Parameters
        ----------
        magnitude : noise size, relative to each layer's typical edge spread (>= 0)
        seed : seed of the noise; same seed, same result
        mode : ``"spline"`` (pykan's compiler workflow): every live symbolic edge becomes a
            spline fitted to its current function on its grid interval, then every live
            edge's spline coefficients get Gaussian noise; ``"affine"``: symbolic edges stay
            symbolic and their ``a, b, c, d`` get relative noise (``a, c`` times
            ``1 + magnitude * N(0, 1)``, ``b, d`` plus ``magnitude * N(0, 1)`` scaled by
            ``|c|`` for ``d``); spline edges get coefficient noise as in ``"spline"``
        X : (n, width[0]) samples; with ``mode="spline"`` each layer's grid is first moved
            onto its inputs from ``X`` (default the last ``fit``'s inputs; without either the
            grids stay as they are, which ``compile_formula`` sets to the formula's domain)

        Edges that output 0 (the outgoing edges of ``expand_width``'s new nodes, the off-
        diagonal edges of ``expand_depth``) get noise of the layer's scale too, so
        gradients reach every new node. Pruned edges stay pruned.
        """
        magnitude = check_number("magnitude", magnitude, 0.0)
        if mode not in ("spline", "affine"):
            raise ValueError(f"mode must be 'spline' or 'affine'; got {mode!r}")
        gen = torch.Generator().manual_seed(check_seed(seed))
        x = None
        if mode == "spline" and (X is not None or self.X_fit_ is not None):
            x = self._require_samples(X, "perturb")
        with torch.no_grad():
            for l, layer in enumerate(self.layers):
                if mode == "spline":
                    self._to_splines(l, x)
                    if x is not None:
                        x = self.nodes_from_subnodes(l, layer(x))
                else:
                    self._jitter_affine(layer, magnitude, gen)
                self._coef_noise(l, magnitude, gen)
        self.mark_changed()
        return self

    def _to_splines(self, l: int, x):
        """Live symbolic edges of layer ``l`` -> splines equal to their function (least
        squares on the grid interval; the grid moved onto ``x``, its inputs, when given)."""
        layer = self.layers[l]
        if x is not None:  # spline edges keep their curves on the new grid
            pad = 0.05 * (x.max(0).values - x.min(0).values).clamp_min(1e-3)
            update_layer_grid(layer, torch.cat([x, (x.min(0).values - pad)[None],
                                                (x.max(0).values + pad)[None]]))
        live = (layer.mask > 0) & layer.symbolic
        if not bool(live.any()):
            return
        pts = self._sweep(layer)
        target = layer.activations(pts).permute(0, 2, 1)  # (N, n_in, n_out) edge values
        coef = fit_coef(pts, target, layer.knots, layer.k)
        layer.coef[live] = coef[live]
        layer.scale_sp[live] = 1.0
        layer.scale_base[live] = 0.0
        for i, j in live.nonzero().tolist():
            layer.set_symbolic(i, j, None)
            self.symbolic_fits_.pop(EdgeId(l, i, j), None)

    @staticmethod
    def _sweep(layer: KANLayer) -> torch.Tensor:
        """Points over every input's grid interval: (8G + 16, n_in)."""
        lo, hi = layer.knots[:, layer.k], layer.knots[:, -layer.k - 1]
        t = torch.linspace(0, 1, 8 * layer.G + 16, dtype=lo.dtype, device=lo.device)[:, None]
        return lo + (hi - lo) * t

    def _coef_noise(self, l: int, magnitude: float, gen):
        """Gaussian noise on the spline coefficients of the live spline edges of layer ``l``,
        scaled by the layer's mean edge spread (1 when every edge is flat)."""
        layer = self.layers[l]
        live = (layer.mask > 0) & ~layer.symbolic
        if magnitude == 0 or not bool(live.any()):
            return
        acts = layer.activations(self._sweep(layer))  # (N, n_out, n_in)
        spread = acts.std(0).T[layer.mask > 0]
        scale = float(spread[spread > 0].mean()) if bool((spread > 0).any()) else 1.0
        noise = torch.randn(layer.coef.shape, generator=gen, dtype=torch.float64)
        noise = noise.to(layer.coef.dtype).to(layer.coef.device) * magnitude * scale
        # zero-output edges may have scale_sp 0 too: give them a unit scale so noise shows
        layer.scale_sp[live & (layer.scale_sp == 0)] = 1.0
        sp = layer.scale_sp.abs()[..., None]
        layer.coef.add_(noise / sp * live[..., None])

    @staticmethod
    def _jitter_affine(layer: KANLayer, magnitude: float, gen):
        live = (layer.mask > 0) & layer.symbolic  # (n_in, n_out)
        if magnitude == 0 or not bool(live.any()):
            return
        n = torch.randn(layer.sym_affine.shape, generator=gen, dtype=torch.float64)
        n = (n * magnitude).to(layer.sym_affine.dtype).to(layer.sym_affine.device)
        a, b, c, d = layer.sym_affine.unbind(-1)
        new = torch.stack([a * (1 + n[..., 0]), b + n[..., 1], c * (1 + n[..., 2]),
                           d + n[..., 3] * c.abs()], dim=-1)
        layer.sym_affine.copy_(torch.where(live[..., None], new, layer.sym_affine))
