"""pykan's sparsity + entropy regulariser, with analytic backward passes.

pykan (``reg_metric='edge_forward_spline_n'``) penalises, per layer, the spread of every spline
edge normalised by the spread of its input::

    s_ij = std_b(spline part of phi_ij(x_i)) / (std_b(x_i) + 0.1)          (n_in, n_out)
    reg  = lamb_l1 * sum s + lamb_entropy * (H_rows(s) + H_cols(s))

An edge is linear in its input's features ``F_i = [b(x_i), B_1(x_i) .. B_K(x_i)]``,
``phi_ij = w_ij . F_i``, so ``Var phi_ij = w_ij^T Cov(F_i) w_ij``: one ``(n_in, P, P)``
covariance per layer replaces pykan's ``(batch, out, in)`` activations, and the value is the
same. Both stages have closed-form gradients; writing them out replaces some sixty small
autograd nodes per layer by a dozen tensor operations, which is most of the regulariser's
cost on the small models KANs are usually trained as. A backward taken with ``create_graph``
recomputes its intermediates from the saved inputs with differentiable operations, so
derivatives of every order are exact; under ``torch.func`` transforms the same formulas run as
plain torch ops.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .layer import _under_torch_func

__all__ = ["edge_variance", "spline_edge_std", "sparsity_entropy", "regularization",
           "FirstLayerInputs", "first_layer_inputs"]

_EPS_LOG = 1e-4  # pykan's p log2(p + 1e-4)
_MIN_VAR = 1e-16  # std floor: sqrt has no derivative at 0


def _centred_products(feats: torch.Tensor):
    """Centred features (n_in, B, P) and ``fc^T fc`` (n_in, P, P), i.e. the covariance times
    ``B - 1``, from features (B, n_in, P)."""
    fc = (feats - feats.mean(0)).transpose(0, 1)
    return fc, fc.transpose(1, 2) @ fc


class _EdgeVariance(torch.autograd.Function):
    """``Var_b(w_ij . F_i)`` for every edge: feats (B, n_in, P), weight (n_in, P, n_out) -> (n_in, n_out)."""

    @staticmethod
    def forward(ctx, feats, weight):
        fc, prod = _centred_products(feats)  # (n_in, B, P), (n_in, P, P)
        cw = (prod @ weight).div_(max(feats.shape[0] - 1, 1))  # (n_in, P, n_out) = Cov w
        ctx.save_for_backward(fc, cw, feats, weight)
        return (cw * weight).sum(1)

    @staticmethod
    def backward(ctx, g):  # g (n_in, n_out)
        fc, cw, feats, weight = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: intermediates as functions of the inputs
            fc, prod = _centred_products(feats)
            cw = prod @ weight / max(feats.shape[0] - 1, 1)
        g_feats = g_weight = None
        gw = weight * g.unsqueeze(1)  # (n_in, P, n_out)
        if ctx.needs_input_grad[0]:
            # d/dF_b of w^T Cov w is 2/(B-1) * fc_b . (w w^T); centring drops out since the
            # result is already zero-mean over the batch
            A = gw @ weight.transpose(1, 2)  # (n_in, P, P) = W diag(g) W^T
            g_feats = ((fc @ A) * (2 / max(fc.shape[1] - 1, 1))).transpose(0, 1)
        if ctx.needs_input_grad[1]:
            g_weight = 2 * cw * g.unsqueeze(1)
        return g_feats, g_weight


def edge_variance(feats: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Variance over the batch of every spline edge: (B, n_in, P), (n_in, P, n_out) -> (n_in, n_out)."""
    if _under_torch_func(feats) or _under_torch_func(weight):
        prod = _centred_products(feats)[1]
        return ((prod @ weight) * weight).sum(1) / max(feats.shape[0] - 1, 1)
    return _EdgeVariance.apply(feats, weight)


def spline_edge_std(feats: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Std over the batch of every spline edge, exactly, from feature covariances.

    feats (B, n_in, P), weight (n_in, P, n_out) -> (n_in, n_out)
    """
    return edge_variance(feats, weight).clamp_min(_MIN_VAR).sqrt()


def _xlog2(p):
    return p * torch.log2(p + _EPS_LOG)


class _SparsityEntropy(torch.autograd.Function):
    """``lamb_l1 * sum s + lamb_entropy * (H_rows + H_cols)`` with ``s = sqrt(var) / denom``.

    var (n_in, n_out) edge variances, denom (n_in,) ``std(x_i) + 0.1`` -> scalar. Rows are
    output nodes and columns inputs, as pykan's ``(n_out, n_in)`` orientation.
    """

    @staticmethod
    def forward(ctx, var, denom, lamb_l1, lamb_entropy):
        parts = _penalty_parts(var, denom)
        ctx.save_for_backward(var, denom, *parts)
        ctx.lambs = (lamb_l1, lamb_entropy)
        return _penalty(parts, lamb_l1, lamb_entropy)

    @staticmethod
    def backward(ctx, g):
        var, denom, *parts = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: intermediates as functions of the inputs
            parts = _penalty_parts(var, denom)
        std, s, q_out, q_in, p_out, p_in = parts
        lamb_l1, lamb_entropy = ctx.lambs
        n_in, n_out = s.shape

        def h(p):  # d/dp of p log2(p + eps)
            return torch.log2(p + _EPS_LOG) + p / ((p + _EPS_LOG) * math.log(2))

        # p = s / (sum s + 1): dH/ds = (h(p) - sum h(p) p) / (sum s + 1) along each sum
        h_out, h_in = h(p_out), h(p_in)
        d_out = (h_out - (h_out * p_out).sum(0, keepdim=True)) / q_out
        d_in = (h_in - (h_in * p_in).sum(1, keepdim=True)) / q_in
        ds = g * (lamb_l1 - lamb_entropy * (d_out / n_out + d_in / n_in))  # (n_in, n_out)
        g_var = g_denom = None
        if ctx.needs_input_grad[0]:
            g_var = torch.where(var > _MIN_VAR, ds / (2 * std * denom[:, None]), 0.0)
        if ctx.needs_input_grad[1]:
            g_denom = -(ds * s).sum(1) / denom
        return g_var, g_denom, None, None


def _penalty_parts(var, denom):
    """``std, s, q_out, q_in, p_out, p_in`` of the penalty, each (n_in, n_out) or a row/column sum."""
    std = var.clamp_min(_MIN_VAR).sqrt()
    s = std / denom[:, None]  # (n_in, n_out)
    q_out = s.sum(0, keepdim=True) + 1  # per output node (pykan's row sums + 1)
    q_in = s.sum(1, keepdim=True) + 1  # per input (column sums + 1)
    return std, s, q_out, q_in, s / q_out, s / q_in


def _penalty(parts, lamb_l1, lamb_entropy):
    _, s, _, _, p_out, p_in = parts
    n_in, n_out = s.shape
    ent = -(_xlog2(p_out).sum() / n_out + _xlog2(p_in).sum() / n_in)
    return lamb_l1 * s.sum() + lamb_entropy * ent


def sparsity_entropy(var, denom, lamb_l1=1.0, lamb_entropy=2.0):
    """pykan's per-layer penalty from edge variances (n_in, n_out) and ``std(x) + 0.1`` (n_in,)."""
    if _under_torch_func(var) or _under_torch_func(denom):
        return _penalty(_penalty_parts(var, denom), float(lamb_l1), float(lamb_entropy))
    return _SparsityEntropy.apply(var, denom, float(lamb_l1), float(lamb_entropy))


class FirstLayerInputs(NamedTuple):
    """What the first layer needs from a fixed batch, computed once for many evaluations.

    An optimiser step evaluates the model many times on the same batch (L-BFGS: up to 20
    iterations plus line searches) and the first layer's input is the data itself, so its
    features, their covariance and the input spread do not change within a step.
    """

    feats: torch.Tensor  # (B, n_in, P)
    cov: torch.Tensor | None  # (n_in, P, P) feature covariance (with stats only)
    denom: torch.Tensor | None  # (n_in,) std(x) + 0.1 (with stats only)


def first_layer_inputs(layer, x: torch.Tensor, stats: bool = True) -> FirstLayerInputs:
    """Features of ``layer`` (the first) on the batch ``x`` (B, n_in), and with ``stats`` the
    covariance and spread the regulariser needs; no grad."""
    with torch.no_grad():
        feats = layer.features(x)
        if not stats:
            return FirstLayerInputs(feats, None, None)
        cov = _centred_products(feats)[1].div_(max(x.shape[0] - 1, 1))
        return FirstLayerInputs(feats, cov, x.std(0) + 0.1)


def regularization(model, x, lamb_l1=1.0, lamb_entropy=2.0, lamb_coef=0.0, lamb_coefdiff=0.0,
                   first: FirstLayerInputs | None = None):
    """Forward pass plus pykan's regulariser (``reg_metric='edge_forward_spline_n'``).

    Parameters
    ----------
    model : KAN
    x : (batch, width[0]) inputs
    first : ``first_layer_inputs(model.layers[0], x)`` when the caller reuses them

    Returns
    -------
    y : (batch, width[-1]) model output
    reg : scalar tensor
    """
    reg = None
    for i, layer in enumerate(model.layers):
        weight = layer.packed_weight()  # (n_in, P, n_out)
        if i == 0 and first is not None and first.cov is not None:
            feats, denom = first.feats, first.denom
            var = ((first.cov @ weight) * weight).sum(1)  # w^T Cov w
        else:
            feats, denom = layer.features(x), x.std(0) + 0.1  # (B, n_in, P), (n_in,)
            var = edge_variance(feats, weight)
        term = sparsity_entropy(var, denom, lamb_l1, lamb_entropy)
        if lamb_coef or lamb_coefdiff:
            coef = layer.coef
            term = term + lamb_coef * coef.abs().mean(1).sum()
            term = term + lamb_coefdiff * coef.diff(dim=-1).abs().mean(1).sum()
        reg = term if reg is None else reg + term
        x = model.nodes_from_subnodes(i, layer.node_affine(layer.edge_sum(x, feats, weight)))
    return x, reg
