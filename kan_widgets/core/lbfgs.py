"""L-BFGS with a strong-Wolfe line search, flat parameters and a tunable curvature threshold.

``torch.optim.LBFGS`` keeps a curvature pair ``(s, y)`` only when ``y.s > 1e-10``. Near the
float32 accuracy a KAN reaches (test RMSE ~1e-5, MSE ~1e-10), almost every pair falls under
that fixed threshold, the memory stops updating and L-BFGS degrades to scaled gradient
descent. pykan ships a patched copy for this reason (``tolerance_ys=1e-32``); this is ours,
built on torch's strong-Wolfe line search.

It is a plain object, not a ``torch.optim.Optimizer``: the base class imports
``torch._dynamo`` on first construction (1.3-2 s here), a delay every notebook's first
``fit`` would pay for machinery L-BFGS does not use.
"""

from __future__ import annotations

import torch
from torch.optim.lbfgs import _strong_wolfe

__all__ = ["LBFGS"]


class LBFGS:
    """Full-batch L-BFGS over ``params`` with a strong-Wolfe line search.

    Parameters
    ----------
    params : iterable of tensors (same dtype and device) to optimise in place
    lr, max_iter, max_eval, tolerance_grad, tolerance_change, history_size :
        as ``torch.optim.LBFGS`` (``max_eval`` defaults to ``max_iter * 5 // 4``)
    tolerance_ys : the smallest ``y.s`` for which a curvature pair enters the memory

    Notes
    -----
    The parameters (and their gradients) are moved into one flat buffer while the optimiser
    lives: every parameter becomes a view of it, so a line-search evaluation moves all of
    them with one ``add_`` and reads the gradient with one copy, instead of a Python loop of
    small operations per parameter (most of the optimiser's cost on a small KAN). Call
    ``release()`` when done: the parameters get their own storage back.
    """

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-32,
                 tolerance_change=1e-32, tolerance_ys=1e-32, history_size=10):
        self._params = list(params)
        if not self._params:
            raise ValueError("LBFGS got no parameters to optimise")
        p0 = self._params[0]
        if any(p.dtype != p0.dtype or p.device != p0.device or p.layout != torch.strided
               or p.is_complex() for p in self._params):
            raise ValueError("LBFGS needs dense real parameters of one dtype and device")
        self.lr, self.max_iter, self.history_size = float(lr), int(max_iter), int(history_size)
        self.max_eval = int(max_eval) if max_eval is not None else self.max_iter * 5 // 4
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        self.tolerance_ys = tolerance_ys
        self.state: dict = {}
        with torch.no_grad():
            self._flat = torch.cat([p.detach().reshape(-1) for p in self._params])
        self._flat_grad = torch.zeros_like(self._flat)
        offset = 0
        for p in self._params:
            n = p.numel()
            p.data = self._flat[offset : offset + n].view_as(p)
            p.grad = self._flat_grad[offset : offset + n].view_as(p)  # accumulated in place
            offset += n

    def release(self):
        """Give every parameter its own storage back (no gradients); the optimiser is spent."""
        if self._flat is not None:
            for p in self._params:
                p.data = p.data.clone()
                p.grad = None
            self._flat = self._flat_grad = None

    def snapshot(self) -> torch.Tensor:
        """A copy of the optimised parameters (all of them, as one flat tensor)."""
        return self._flat.clone()

    def restore(self, snapshot: torch.Tensor):
        """Put back the parameters saved by ``snapshot()``."""
        self._flat.copy_(snapshot)

    def params_finite(self) -> bool:
        """Whether every optimised parameter is finite."""
        return bool(torch.isfinite(self._flat).all())

    def zero_grad(self):
        """Zero the gradients (in place: they must stay views of the flat buffer)."""
        self._flat_grad.zero_()

    def _directional_evaluate(self, closure, x, t, d):
        self._flat.add_(d, alpha=t)
        loss = float(closure())
        grad = self._flat_grad.clone()
        self._flat.copy_(x)
        return loss, grad

    @torch.no_grad()
    def step(self, closure):  # noqa: C901 - one algorithm, kept in one place
        """Up to ``max_iter`` L-BFGS iterations; ``closure`` re-evaluates and returns the loss."""
        closure = torch.enable_grad()(closure)
        if self._flat is None:
            raise RuntimeError("this LBFGS was released; make a new one to train again")
        lr, max_iter, max_eval = self.lr, self.max_iter, self.max_eval
        tol_grad, tol_change = self.tolerance_grad, self.tolerance_change
        history = self.history_size
        state = self.state
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        g = self._flat_grad.clone()
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
                ys, yy = float(y.dot(s)), float(y.dot(y))
                # the one change against torch: a tunable threshold (and y.y > 0: a tiny y, as
                # a saturated cross-entropy gives, can underflow to 0 in y.y but not in y.s)
                if ys > self.tolerance_ys and yy > 0:
                    if len(dirs) == history:
                        dirs.pop(0), steps.pop(0), rho.pop(0)
                    dirs.append(y), steps.append(s), rho.append(1.0 / ys)
                    H_diag = ys / yy
                # two-loop recursion, d = -H g; the scalars are Python floats (double), which
                # saves a tensor operation per product on the small models KANs usually are
                q = g.neg()
                alpha = [0.0] * len(dirs)
                for i in range(len(dirs) - 1, -1, -1):
                    alpha[i] = float(steps[i].dot(q)) * rho[i]
                    q.add_(dirs[i], alpha=-alpha[i])
                d = q.mul_(H_diag)
                for i in range(len(dirs)):
                    beta = float(dirs[i].dot(d)) * rho[i]
                    d.add_(steps[i], alpha=alpha[i] - beta)
            g_prev = g.clone() if g_prev is None else g_prev.copy_(g)
            prev_loss = loss
            t = min(1.0, 1.0 / float(g.abs().sum())) * lr if state["n_iter"] == 1 else lr
            gtd = g.dot(d)
            if gtd > -tol_change:
                break
            x0 = self._flat.clone()
            loss, g, t, ls_evals = _strong_wolfe(
                lambda x, t_, d_: self._directional_evaluate(closure, x, t_, d_),
                x0, t, d, loss, g, gtd, max_ls=max_eval - evals)
            self._flat.add_(d, alpha=t)
            evals += ls_evals
            if (it == max_iter or evals >= max_eval or g.abs().max() <= tol_grad
                    or d.mul(t).abs().max() <= tol_change or abs(loss - prev_loss) < tol_change):
                break

        state.update(d=d, t=t, old_dirs=dirs, old_stps=steps, ro=rho, H_diag=H_diag,
                     prev_flat_grad=g_prev, prev_loss=prev_loss)
        return orig_loss
