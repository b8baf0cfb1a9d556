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

from .bspline import (
    _blend_matrix,
    dense_from_local,
    is_uniform,
    local_bspline,
    uniform_grid,
)
from .functions import get_function
from .span_tables import build_span_tables, table_local_values

__all__ = ["KANLayer", "BASE_FUNCTIONS"]

BASE_FUNCTIONS = {
    "silu": torch.nn.functional.silu,
    "identity": lambda x: x,
    "zero": torch.zeros_like,
}


def _silu_grad(x):
    s = torch.sigmoid(x)
    return s * (1 + x * (1 - s))


BASE_DERIVATIVES = {"silu": _silu_grad, "identity": torch.ones_like, "zero": torch.zeros_like}


def _uniform_local(x, knots, k, derivative):
    """Closed-form local values on a uniform grid, for samples inside the grid points.

    Inside ``[t_k, t_{K})`` every span's k+1 B-splines exist, so the window of span ``s`` is
    the natural one (slots ``s - k + 1 .. s + 1``) and no table lookup is needed: the values
    are ``M^T [1, f, .., f^k]`` with the blending matrix ``M`` and ``f`` the span fraction.
    Value-major like ``table_local_values``: every plane is contiguous, so the scatter, the
    backward gather and its sum over the k+1 values stream through memory.
    """
    B, n_in = x.shape
    M = knots.shape[1]
    t0 = knots[:, 0]
    inv_h = (M - 1) / (knots[:, -1] - t0)  # (n_in,)
    u = (x - t0) * inv_h
    span = u.floor()
    frac = (u - span).view(-1)  # (N,) in [0, 1)
    k1 = k + 1
    P = x.new_empty(k1, frac.shape[0])  # powers of frac, one contiguous row each
    P[0] = 1
    if k > 0:
        P[1] = frac
    for p in range(2, k1):
        torch.mul(P[p - 1], frac, out=P[p])
    Mb = _blend_matrix(k, x.dtype, x.device)  # (powers, values)
    slots = span.long() + torch.arange(1 - k, 2, device=x.device)[:, None, None]  # (k1, B, n_in)
    if not derivative:
        return (Mb.T @ P).view(k1, B, n_in), slots, None
    # one matmul gives the values and d/df: rows of [M | M']^T, M' the polynomials' derivatives
    dM = torch.zeros_like(Mb)
    dM[:k] = Mb[1:] * torch.arange(1, k1, dtype=x.dtype, device=x.device)[:, None]
    out = (torch.cat([Mb, dM], dim=1).T @ P).view(2 * k1, B, n_in)
    return out[:k1], slots, out[k1:].mul_(inv_h)


def _inside_grid(x, knots, k) -> bool:
    """All samples within the grid points ``[t_k, t_{M-k-1})`` (two cheap column reductions)."""
    if x.numel() == 0:
        return True
    return bool((x.amin(0) >= knots[:, k]).all() and (x.amax(0) < knots[:, -k - 1]).all())


class _Features(torch.autograd.Function):
    """``[b(x), B_1(x) .. B_K(x)]`` per input, with an analytic backward.

    The forward writes the k+1 local values straight into the feature tensor (no dense
    intermediate, no concatenation) without autograd bookkeeping; the backward gathers the
    incoming gradient at the same k+1 slots and multiplies by the saved local derivatives.
    Uniform grids with every sample inside use the closed form; everything else uses the
    layer's per-span tables (a lattice lookup and Horner's scheme per sample).
    """

    @staticmethod
    def forward(ctx, x, knots, tables, k, uniform, base_fun):
        need = ctx.needs_input_grad[0]
        B, n_in = x.shape
        K = knots.shape[1] - k - 1  # basis functions per input
        feats = x.new_zeros(B, n_in, 1 + K)
        # both paths work value-major, (k+1, B, n_in), written through a permuted view
        if uniform and _inside_grid(x, knots, k):
            values, slots, dvalues = _uniform_local(x, knots, k, need)
        else:
            values, slots, dvalues = table_local_values(x, knots, tables, need)
        # the k+1 slots of a sample are distinct: a plain scatter
        feats.permute(2, 0, 1).scatter_(0, slots, values)
        if base_fun == "silu":  # one sigmoid serves the value and the derivative
            sig = torch.sigmoid(x)
            torch.mul(x, sig, out=feats[..., 0])
            dbase = sig * (1 + x * (1 - sig)) if need else None
        else:
            feats[..., 0] = BASE_FUNCTIONS[base_fun](x)
            dbase = BASE_DERIVATIVES[base_fun](x) if need else None
        if need:
            ctx.save_for_backward(slots, dvalues, dbase)
        return feats

    @staticmethod
    def backward(ctx, grad):
        slots, dvalues, dbase = ctx.saved_tensors  # (k+1, B, n_in) x2, (B, n_in)
        gx = (grad.permute(2, 0, 1).gather(0, slots) * dvalues).sum(0)
        return gx.addcmul(grad[..., 0], dbase), None, None, None, None, None


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
        from .grid import fit_coef  # grid imports bspline only; local import avoids a cycle

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
        return _Features.apply(x, self.knots, tables, self.k, self._uniform, self.base_fun)

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
        values, span = local_bspline(x, self.knots, self.k, self._uniform)
        basis = dense_from_local(values, span, self.G + self.k, self.k)  # (B, n_in, K)
        return torch.einsum("bic,ioc->bio", basis, self.coef)

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}, G={self.G}, k={self.k}"
