"""L-BFGS with a strong-Wolfe line search whose curvature-pair threshold is a parameter.

``torch.optim.LBFGS`` keeps a curvature pair ``(s, y)`` only when ``y.s > 1e-10``. Near the
float32 accuracy a KAN reaches (test RMSE ~1e-5, MSE ~1e-10), almost every pair falls under
that fixed threshold, the memory stops updating and L-BFGS degrades to scaled gradient
descent. pykan ships a patched copy for this reason (``tolerance_ys=1e-32``); this is ours,
built on torch's own line search and parameter helpers.
"""

from __future__ import annotations

import torch
from torch.optim.lbfgs import _strong_wolfe

__all__ = ["LBFGS"]


class LBFGS(torch.optim.LBFGS):
    """``torch.optim.LBFGS`` with ``tolerance_ys`` (default 1e-32) and strong-Wolfe search.

    Parameters are those of ``torch.optim.LBFGS`` plus ``tolerance_ys``: the smallest ``y.s``
    for which a curvature pair enters the memory.
    """

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-32,
                 tolerance_change=1e-32, tolerance_ys=1e-32, history_size=10):
        super().__init__(params, lr=lr, max_iter=max_iter, max_eval=max_eval,
                         tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                         history_size=history_size, line_search_fn="strong_wolfe")
        self.tolerance_ys = tolerance_ys

    @torch.no_grad()
    def step(self, closure):  # noqa: C901 - one algorithm, kept in one place
        """Up to ``max_iter`` L-BFGS iterations; ``closure`` re-evaluates and returns the loss."""
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history = group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        g = self._gather_flat_grad()
        if g.abs().max() <= tol_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        dirs, steps, rho = state.get("old_dirs", []), state.get("old_stps", []), state.get("ro", [])
        H_diag, g_prev = state.get("H_diag", 1.0), state.get("prev_flat_grad")

        for it in range(1, max_iter + 1):
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, dirs, steps, rho, H_diag = g.neg(), [], [], [], 1.0
            else:
                y, s = g - g_prev, d * t
                ys = y.dot(s)
                if ys > self.tolerance_ys:  # the one change against torch: a tunable threshold
                    if len(dirs) == history:
                        dirs.pop(0), steps.pop(0), rho.pop(0)
                    dirs.append(y), steps.append(s), rho.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                # two-loop recursion: d = -H g
                q = g.neg()
                alpha = [None] * len(dirs)
                for i in range(len(dirs) - 1, -1, -1):
                    alpha[i] = steps[i].dot(q) * rho[i]
                    q.add_(dirs[i], alpha=-alpha[i])
                d = q.mul_(H_diag)
                for i in range(len(dirs)):
                    beta = dirs[i].dot(d) * rho[i]
                    d.add_(steps[i], alpha=alpha[i] - beta)
            g_prev = g.clone() if g_prev is None else g_prev.copy_(g)
            prev_loss = loss
            t = min(1.0, 1.0 / float(g.abs().sum())) * lr if state["n_iter"] == 1 else lr
            gtd = g.dot(d)
            if gtd > -tol_change:
                break
            x0 = self._clone_param()
            loss, g, t, ls_evals = _strong_wolfe(
                lambda x, t_, d_: self._directional_evaluate(closure, x, t_, d_),
                x0, t, d, loss, g, gtd, max_ls=max_eval - evals)
            self._add_grad(t, d)
            evals += ls_evals
            if (it == max_iter or evals >= max_eval or g.abs().max() <= tol_grad
                    or d.mul(t).abs().max() <= tol_change or abs(loss - prev_loss) < tol_change):
                break

        state.update(d=d, t=t, old_dirs=dirs, old_stps=steps, ro=rho, H_diag=H_diag,
                     prev_flat_grad=g_prev, prev_loss=prev_loss)
        return orig_loss
