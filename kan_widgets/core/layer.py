"""One KAN layer: ``n_in * n_out`` learnable edges ``phi_ij``, summed at each output node.

Edge ``(i -> j)``::

    phi_ij(x) = mask_ij * ((1 - sym_ij) * (scale_base_ij * b(x) + scale_sp_ij * sum_c coef_ijc B_c(x))
                           + sym_ij * (c_ij * f_ij(a_ij * x + b_ij) + d_ij))

    y_j = node_scale_j * sum_i phi_ij(x_i) + node_bias_j

Fast path (``forward``): per *input* features ``F_i = [b(x_i), B_1(x_i) .. B_K(x_i)]``
(local-support B-splines, ``K = G + k``), then one matmul with a packed weight
``W[(i, p), j]`` in which scales and masks are already folded. Symbolic edges are added with
one call per distinct function. No ``(batch, out, in)`` tensor is formed.

Inspect path (``activations``): per-edge values ``(batch, out, in)``, for scores and plots.

Tensor layout follows pykan: per-edge parameters are ``(n_in, n_out, ...)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .bspline import is_uniform, uniform_grid
from .functions import get_function
from .grid import fit_coef
from .span_tables import build_span_tables, local_values, scatter_features

__all__ = ["KANLayer", "BASE_FUNCTIONS", "sparse_mask"]

# residual functions b(x), plain torch ops: autograd and torch.func differentiate them exactly
# (silu as x * sigmoid(x): torch's fused silu rounds differently in float32, and a float32
# L-BFGS trajectory follows the last bits)
BASE_FUNCTIONS = {
    "silu": lambda x: x * torch.sigmoid(x),
    "identity": lambda x: x,
    "zero": torch.zeros_like,
}


def sparse_mask(n_in: int, n_out: int, dtype=None, device=None) -> torch.Tensor:
    """pykan's sparse initialisation: (n_in, n_out) 0/1 mask linking each input to the nearest
    output and each output to the nearest input, both sides evenly spaced on [0, 1] (ties go
    to the lower index). Every node keeps at least one edge; a square layer is diagonal."""
    x_in = (torch.arange(n_in, dtype=torch.float64) + 0.5) / n_in
    x_out = (torch.arange(n_out, dtype=torch.float64) + 0.5) / n_out
    dist = (x_in[:, None] - x_out[None, :]).abs()  # (n_in, n_out)
    mask = torch.zeros(n_in, n_out, dtype=dtype or torch.get_default_dtype(), device=device)
    mask[torch.arange(n_in), dist.argmin(1)] = 1
    mask[dist.argmin(0), torch.arange(n_out)] = 1
    return mask


def _wants_grad(x: torch.Tensor) -> bool:
    """Whether a backward through ``x`` can follow (then the next derivative is computed along)."""
    return torch.is_grad_enabled() and x.requires_grad


def _under_torch_func(x: torch.Tensor) -> bool:
    """Whether ``x`` is traced by a ``torch.func`` transform (grad, jacrev, jacfwd, hessian,
    vmap), which wraps the tensors it traces. Nested forward mode (``jacfwd`` of ``jacfwd``)
    does not see through a custom Function's ``jvp`` (it would give zeros), and vmap needs
    batching rules: under these transforms the features are composed of plain torch ops.
    A private torch API (``torch._C._functorch``); no public equivalent exists."""
    return torch._C._functorch.is_functorch_wrapped_tensor(x)


def _features_composed(x, base, knots, tables):
    """``_Features`` by plain differentiable torch ops (same tables, no closed form)."""
    values, slots, _ = local_values(x, knots, tables, closed_form=False)  # (k+1, B, n_in)
    B, n_in = x.shape
    n_slots = knots.shape[1] - values.shape[0] + 1
    spline = torch.zeros(n_slots, B, n_in, dtype=x.dtype, device=x.device).scatter(0, slots, values)
    return torch.cat([base.unsqueeze(0), spline[1:]]).permute(1, 2, 0)


class _Derivative(torch.autograd.Function):
    """Order-``r`` derivatives of the k+1 local B-splines of every sample, (k+1, B, n_in),
    and with ``with_next`` the order ``r + 1`` ones as a second output (one pass).

    Each backward or forward-mode derivative is this Function one order up, so derivatives of
    any order are exact.
    """

    @staticmethod
    def forward(x, knots, tables, order, with_next):
        values, _, nxt = local_values(x, knots, tables, order, with_next)
        return values, nxt

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, knots, tables, order, _ = inputs
        ctx.set_materialize_grads(False)
        ctx.tables, ctx.order = tables, order
        ctx.save_for_backward(x, knots, output[1])
        ctx.save_for_forward(x, knots, output[1])

    @staticmethod
    def _up(ctx, x, knots, nxt):
        """Orders r + 1 (the saved second output when there is one) and r + 2."""
        if nxt is None:
            nxt = _Derivative.apply(x, knots, ctx.tables, ctx.order + 1, False)[0]
        return nxt, lambda: _Derivative.apply(x, knots, ctx.tables, ctx.order + 2,
                                              _wants_grad(x))[0]

    @staticmethod
    def backward(ctx, g, g_next):
        x, knots, nxt = ctx.saved_tensors
        nxt, after = _Derivative._up(ctx, x, knots, nxt)
        gx = None if g is None else (g * nxt).sum(0)
        if g_next is not None:
            gn = (g_next * after()).sum(0)
            gx = gn if gx is None else gx + gn
        return gx, None, None, None, None

    @staticmethod
    def jvp(ctx, x_t, *_):
        x, knots, nxt = ctx.saved_tensors
        had_next = nxt is not None
        nxt, after = _Derivative._up(ctx, x, knots, nxt)
        return nxt * x_t, (after() * x_t if had_next else None)


class _Features(torch.autograd.Function):
    """``[b(x), B_1(x) .. B_K(x)]`` per input: (B, n_in) -> (B, n_in, 1 + K).

    The forward writes the k+1 local values straight into the feature tensor (no dense
    intermediate, no concatenation) without autograd bookkeeping; the backward gathers the
    incoming gradient at the same k+1 slots and multiplies by the local derivatives, which the
    forward computed along and returned as a second output: a backward taken with
    ``create_graph`` differentiates through them (``_Derivative``), so every order is exact.
    ``b(x)`` comes in computed by plain torch ops, and its gradient is handed back to them.
    """

    @staticmethod
    def forward(x, base, knots, tables, with_next):
        values, slots, dvalues = local_values(x, knots, tables, 0, with_next)
        feats = scatter_features(values, slots, knots.shape[1] - values.shape[0] + 1, base)
        return feats, slots, dvalues

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, _, knots, tables, _ = inputs
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(output[1])
        ctx.tables = tables
        ctx.save_for_backward(x, knots, output[1], output[2])
        ctx.save_for_forward(x, knots, output[1], output[2])

    @staticmethod
    def _derivatives(ctx, x, knots, dvalues):
        if dvalues is None:
            dvalues = _Derivative.apply(x, knots, ctx.tables, 1, False)[0]
        return dvalues, lambda: _Derivative.apply(x, knots, ctx.tables, 2, _wants_grad(x))[0]

    @staticmethod
    def backward(ctx, g, g_slots, g_dvalues):
        x, knots, slots, dvalues = ctx.saved_tensors
        gx = g_base = None
        if g is not None:
            g_base = g[..., 0] if ctx.needs_input_grad[1] else None
            if ctx.needs_input_grad[0]:
                dvalues, _ = _Features._derivatives(ctx, x, knots, dvalues)
                gx = (g.permute(2, 0, 1).gather(0, slots) * dvalues).sum(0)
        if g_dvalues is not None:
            gd = (g_dvalues * _Features._derivatives(ctx, x, knots, dvalues)[1]()).sum(0)
            gx = gd if gx is None else gx + gd
        return gx, g_base, None, None, None

    @staticmethod
    def jvp(ctx, x_t, base_t, *_):
        x, knots, slots, dvalues = ctx.saved_tensors
        had_d = dvalues is not None
        dvalues, second = _Features._derivatives(ctx, x, knots, dvalues)
        k1, B, n_in = slots.shape
        n_slots = knots.shape[1] - k1 + 1
        local_t = dvalues * x_t if x_t is not None else dvalues.new_zeros(())
        spline_t = dvalues.new_zeros(n_slots, B, n_in).scatter(0, slots, local_t.expand_as(dvalues))
        base_t = torch.zeros_like(x) if base_t is None else base_t
        feats_t = torch.cat([base_t.unsqueeze(0), spline_t[1:]]).permute(1, 2, 0)
        d_t = second() * x_t if had_d and x_t is not None else None
        return feats_t, None, d_t


class KANLayer(nn.Module):
    """A layer of ``n_in * n_out`` spline edges with optional symbolic replacements.

    Parameters
    ----------
    n_in, n_out : number of input and output nodes
    grid : number of grid intervals G
    k : spline order
    grid_range : initial grid interval for every input
    grid_eps : blend of uniform (1) and sample-quantile (0) grids in ``update_grid``
    base_fun : name of the residual function b(x): ``"silu"``, ``"identity"`` or ``"zero"``
    noise_scale : amplitude of the random initial spline (as pykan)
    scale_base_mu, scale_base_sigma : initial ``scale_base ~ mu/sqrt(n_in) + sigma*U(-1,1)/sqrt(n_in)``
    generator : torch.Generator for the initialisation
    """

    def __init__(self, n_in, n_out, grid=5, k=3, grid_range=(-1.0, 1.0), grid_eps=0.02,
                 base_fun="silu", noise_scale=0.3, scale_base_mu=0.0, scale_base_sigma=1.0,
                 generator=None, dtype=None, device=None):
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        self.n_in, self.n_out, self.G, self.k = n_in, n_out, grid, k
        self.grid_eps = grid_eps
        self.base_fun = base_fun
        if base_fun not in BASE_FUNCTIONS:
            raise ValueError(f"unknown base_fun {base_fun!r}; choose one of {list(BASE_FUNCTIONS)}")
        knots = uniform_grid(n_in, grid, grid_range, k, dtype=dtype, device=device)
        self.register_buffer("knots", knots)  # (n_in, G + 2k + 1)
        self.register_buffer("mask", torch.ones(n_in, n_out, dtype=dtype, device=device))
        self.register_buffer("symbolic", torch.zeros(n_in, n_out, dtype=torch.bool, device=device))
        # parameters kept out of fit, per edge: coef, scale_base, scale_sp, sym_affine (see
        # core.freezing); not saved with the model
        self.register_buffer("frozen", torch.zeros(4, n_in, n_out, dtype=torch.bool,
                                                   device=device), persistent=False)

        # initial spline: small noise at the grid points, fitted by least squares (as pykan)
        pts = knots[:, k:-k].T  # (G + 1, n_in)
        noise = (torch.rand(grid + 1, n_in, n_out, generator=generator, dtype=dtype) - 0.5)
        noise = (noise * noise_scale / grid).to(device)
        self.coef = nn.Parameter(fit_coef(pts, noise, knots, k))  # (n_in, n_out, G + k)
        u = torch.rand(n_in, n_out, generator=generator, dtype=dtype).to(device) * 2 - 1
        self.scale_base = nn.Parameter((scale_base_mu + scale_base_sigma * u) / math.sqrt(n_in))
        self.scale_sp = nn.Parameter(torch.full((n_in, n_out), 1 / math.sqrt(n_in), dtype=dtype,
                                                device=device))
        # symbolic edges: y = c * f(a * x + b) + d, affine = [a, b, c, d]
        affine = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=dtype, device=device)
        self.sym_affine = nn.Parameter(affine.repeat(n_in, n_out, 1))  # (n_in, n_out, 4)
        self.sym_names: dict[tuple[int, int], str] = {}
        self.node_scale = nn.Parameter(torch.ones(n_out, dtype=dtype, device=device),
                                       requires_grad=False)
        self.node_bias = nn.Parameter(torch.zeros(n_out, dtype=dtype, device=device),
                                      requires_grad=False)
        self._groups = None
        self.grid_changed()

    # ------------------------------------------------------------------ state helpers
    def grid_changed(self):
        """Call after writing ``knots``: re-detects whether the fast uniform path applies."""
        self._uniform = is_uniform(self.knots)
        self.G = self.knots.shape[1] - 2 * self.k - 1
        # per-span polynomial tables of the fast path (derived from the knots, not saved)
        self._tables = build_span_tables(self.knots, self.k)

    def set_symbolic(self, i: int, j: int, name: str | None, affine=None):
        """Mark edge ``(i, j)`` symbolic with function ``name`` (``None`` reverts to spline)."""
        with torch.no_grad():
            if name is None:
                self.sym_names.pop((i, j), None)
                self.symbolic[i, j] = False
            else:
                get_function(name)  # fail early on unknown names
                self.sym_names[(i, j)] = name
                self.symbolic[i, j] = True
                if affine is not None:
                    self.sym_affine[i, j] = torch.as_tensor(affine, dtype=self.sym_affine.dtype)
        self._groups = None

    def symbolic_groups(self):
        """``{name: (src index tensor, dst index tensor)}`` of live symbolic edges, cached."""
        if self._groups is None:
            by_name: dict[str, list[tuple[int, int]]] = {}
            for (i, j), name in sorted(self.sym_names.items()):
                by_name.setdefault(name, []).append((i, j))
            dev = self.knots.device
            self._groups = {
                name: (torch.tensor([e[0] for e in es], device=dev),
                       torch.tensor([e[1] for e in es], device=dev))
                for name, es in by_name.items()
            }
        return self._groups

    def get_extra_state(self) -> dict:
        """Symbolic function names, so ``state_dict()`` / ``load_state_dict()`` keep them
        (plain lists: ``torch.load(weights_only=True)`` reads them)."""
        return {"sym_names": [[i, j, f] for (i, j), f in sorted(self.sym_names.items())]}

    def set_extra_state(self, state: dict):
        """Restore the symbolic names. ``load_state_dict`` calls it after loading the tensors,
        so the derived grid state (uniform flag, span tables) is rebuilt here too."""
        names = {(int(i), int(j)): str(f) for i, j, f in state["sym_names"]}
        for f in set(names.values()):
            get_function(f)  # unknown names fail here, with the closest known names
        self.sym_names = names
        self._groups = None
        self.grid_changed()

    def subset(self, in_idx, out_idx):
        """Keep only inputs ``in_idx`` and outputs ``out_idx`` (index sequences, in order).

        In place; returns self. Parameters, knots, masks and symbolic edges are sliced;
        symbolic edges are renumbered to their new positions.
        """
        ki = torch.as_tensor(list(map(int, in_idx)), dtype=torch.long, device=self.knots.device)
        ko = torch.as_tensor(list(map(int, out_idx)), dtype=torch.long, device=self.knots.device)
        pos_i = {int(v): n for n, v in enumerate(ki)}
        pos_o = {int(v): n for n, v in enumerate(ko)}
        with torch.no_grad():
            for p in (self.coef, self.scale_base, self.scale_sp, self.sym_affine):
                p.data = p.data[ki][:, ko].contiguous()
            for p in (self.node_scale, self.node_bias):
                p.data = p.data[ko].contiguous()
        self.knots = self.knots[ki].contiguous()
        self.mask = self.mask[ki][:, ko].contiguous()
        self.symbolic = self.symbolic[ki][:, ko].contiguous()
        self.frozen = self.frozen[:, ki][:, :, ko].contiguous()
        self.sym_names = {(pos_i[i], pos_o[j]): f for (i, j), f in self.sym_names.items()
                          if i in pos_i and j in pos_o}
        self.n_in, self.n_out = len(ki), len(ko)
        self._groups = None
        self.grid_changed()
        return self

    # ------------------------------------------------------------------ evaluation
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Per-input features ``[b(x), B_1(x) .. B_K(x)]``: (batch, n_in) -> (batch, n_in, 1 + K)."""
        tables = self._tables
        if tables.rows.device != self.knots.device or tables.rows.dtype != self.knots.dtype:  # .to()
            tables = self._tables = build_span_tables(self.knots, self.k)
        base = BASE_FUNCTIONS[self.base_fun](x)
        if _under_torch_func(x):
            return _features_composed(x, base, self.knots, tables)
        return _Features.apply(x, base, self.knots, tables, _wants_grad(x))[0]

    def packed_weight(self) -> torch.Tensor:
        """Spline-edge weights with scales and masks folded: (n_in, 1 + K, n_out)."""
        live = self.mask * (~self.symbolic)  # (n_in, n_out)
        wb = (self.scale_base * live).unsqueeze(1)  # (n_in, 1, n_out)
        ws = (self.scale_sp * live).unsqueeze(1) * self.coef.transpose(1, 2)  # (n_in, K, n_out)
        return torch.cat([wb, ws], dim=1)

    def symbolic_values(self, x: torch.Tensor, name: str, src, dst) -> torch.Tensor:
        """Values of the symbolic edges ``(src[e], dst[e])`` sharing ``name``: (batch, n_edges)."""
        a, b, c, d = self.sym_affine[src, dst].unbind(-1)  # each (n_edges,)
        fn = get_function(name).safe_fn
        return (c * fn(a * x[:, src] + b) + d) * self.mask[src, dst]

    def edge_sum(self, x: torch.Tensor, feats: torch.Tensor | None = None,
                 weight: torch.Tensor | None = None) -> torch.Tensor:
        """``sum_i phi_ij(x_i)`` before the node affine: (batch, n_in) -> (batch, n_out)."""
        feats = self.features(x) if feats is None else feats
        weight = self.packed_weight() if weight is None else weight
        y = feats.reshape(x.shape[0], -1) @ weight.reshape(-1, self.n_out)  # (B, n_out)
        for name, (src, dst) in self.symbolic_groups().items():
            y = y.index_add(1, dst, self.symbolic_values(x, name, src, dst))
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_in) -> (batch, n_out)."""
        return self.node_affine(self.edge_sum(x))

    def node_affine(self, s: torch.Tensor) -> torch.Tensor:
        """``node_scale * s + node_bias`` (one fused op): (batch, n_out) -> (batch, n_out)."""
        return torch.addcmul(self.node_bias, self.node_scale, s)

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        """Per-edge values ``phi_ij(x_i)``: (batch, n_in) -> (batch, n_out, n_in)."""
        acts = torch.einsum("bip,ipo->boi", self.features(x), self.packed_weight())
        rows = torch.arange(x.shape[0], device=x.device)[:, None]  # index_put takes no slices
        for name, (src, dst) in self.symbolic_groups().items():
            acts = acts.index_put((rows, dst, src), self.symbolic_values(x, name, src, dst))
        return acts

    def spline_values(self, x: torch.Tensor) -> torch.Tensor:
        """The spline part ``sum_c coef_ijc B_c(x_i)`` alone: (batch, n_in) -> (batch, n_in, n_out)."""
        return torch.einsum("bic,ioc->bio", self.features(x)[..., 1:], self.coef)

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}, G={self.G}, k={self.k}"
