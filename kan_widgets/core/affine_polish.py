"""The polish stage of the affine fit: Levenberg-Marquardt on ``(a, b)`` for every candidate
function at once, with ``(c, d)`` re-solved in closed form after each step (variable
projection). ``affine_fit`` runs the grid search that seeds it.
"""

from __future__ import annotations

import math

import torch

from .functions import domain_of


def check_domain(f, dom, u):
    """(..., N) arguments -> (...,) True where every value is finite and inside the domain;
    None when that holds everywhere by construction (built-ins without a domain)."""
    ok = None if dom is None else dom(u).all(-1)
    if not f.builtin:  # built-in safe variants are finite by construction
        fin = torch.isfinite(f.safe_fn(u)).all(-1)
        ok = fin if ok is None else ok & fin
    return ok


def solve_cd(z, y):
    """Closed-form ``(c, d)`` of ``y ~ c z + d`` along the last axis, and the SSE."""
    zm, ym = z.mean(-1, keepdim=True), y.mean(-1, keepdim=True)
    zc = z - zm
    szz = (zc * zc).sum(-1)
    c = (zc * (y - ym)).sum(-1) / szz.clamp_min(1e-300)
    c = torch.where(szz > 1e-280, c, 0.0)
    d = ym.squeeze(-1) - c * zm.squeeze(-1)
    sse = ((y - c.unsqueeze(-1) * z - d.unsqueeze(-1)) ** 2).sum(-1)
    return c, d, sse


def evaluate(funcs, xs, alpha, beta):
    """Values, derivatives (central differences) and validity of every function.

    xs (E, N); alpha, beta (E, K) -> z, g (E, K, N) and ok (E, K)
    """
    zs, gs, oks = [], [], []
    for k, f in enumerate(funcs):
        u = torch.addcmul(beta[:, k, None], alpha[:, k, None], xs)
        step = 1e-6 * (1 + u.abs())
        z3 = f.safe_fn(torch.stack([u, u + step, u - step]))  # one call for the three
        z, g = z3[0], (z3[1] - z3[2]) / (2 * step)
        ok = check_domain(f, domain_of(f), u)
        ok = torch.ones(u.shape[:-1], dtype=torch.bool) if ok is None else ok
        if not f.builtin:
            ok &= torch.isfinite(g).all(-1)
            z, g = torch.nan_to_num(z, 0.0, 0.0, 0.0), torch.nan_to_num(g, 0.0, 0.0, 0.0)
        zs.append(z)
        gs.append(g)
        oks.append(ok)
    return torch.stack(zs, 1), torch.stack(gs, 1), torch.stack(oks, 1)


def polish_affine(funcs, specs, xs, ys, alpha, beta, iters, project=None):
    """Levenberg-Marquardt on ``(alpha, beta)`` for all functions at once, ``(c, d)``
    re-solved in closed form after each step (variable projection).

    xs, ys (E, N); alpha, beta (E, K) -> polished alpha, beta (E, K)
    project : optional ``(alpha, beta) -> (alpha, beta)`` applied to every trial step (keeps
        a user-range search inside its ranges)
    """
    # scale-invariant functions keep alpha = +-1, exp keeps beta = 0: those are redundant with c
    free_a = torch.tensor([s.kind != "scale" for s in specs], dtype=xs.dtype)
    free_b = torch.tensor([s.kind != "shift" for s in specs], dtype=xs.dtype)
    y = ys.unsqueeze(1)  # (E, 1, N)
    z, g, ok = evaluate(funcs, xs, alpha, beta)
    c, d, sse = solve_cd(z, y)
    sse = torch.where(ok, sse, math.inf)
    lam = torch.full_like(alpha, 1e-3)
    stalled = 0
    x = xs.unsqueeze(1)
    for _ in range(iters):
        cg = c.unsqueeze(-1) * g
        J = torch.stack([cg * x * free_a[:, None], cg * free_b[:, None], z,
                         torch.ones_like(z)], -1)  # (E, K, N, 4)
        r = y - c.unsqueeze(-1) * z - d.unsqueeze(-1)
        A = J.transpose(-1, -2) @ J  # (E, K, 4, 4)
        rhs = (J * r.unsqueeze(-1)).sum(-2)
        diag = A.diagonal(dim1=-2, dim2=-1)
        damp = lam.unsqueeze(-1) * diag + 1e-12 * diag.sum(-1, keepdim=True) + (diag == 0)
        step = torch.linalg.solve(A + torch.diag_embed(damp), rhs)
        a_n, b_n = alpha + step[..., 0], beta + step[..., 1]
        if project is not None:
            a_n, b_n = project(a_n, b_n)
        z_n, g_n, ok_n = evaluate(funcs, xs, a_n, b_n)
        c_n, d_n, sse_n = solve_cd(z_n, y)
        acc = ok_n & (sse_n < sse) & torch.isfinite(a_n) & torch.isfinite(b_n)
        gained = bool((acc & (sse_n < sse * (1 - 1e-10))).any())
        alpha, beta = torch.where(acc, a_n, alpha), torch.where(acc, b_n, beta)
        c, d, sse = torch.where(acc, c_n, c), torch.where(acc, d_n, d), torch.where(acc, sse_n, sse)
        z, g = torch.where(acc[..., None], z_n, z), torch.where(acc[..., None], g_n, g)
        lam = torch.where(acc, lam * 0.3, lam * 10).clamp(1e-9, 1e9)
        stalled = 0 if gained else stalled + 1
        if stalled == 2:  # converged everywhere: stop paying for more iterations
            break
    return alpha, beta
