"""``fit``: LBFGS / Adam training with pykan's sparsity + entropy regularisation
(``core.regularizer``), grid updates and rollback of diverging steps."""

from __future__ import annotations

import copy
import math
import warnings

import torch

from .grid import update_layer_grid
from .lbfgs import LBFGS
from .regularizer import first_layer_inputs, regularization
from .validation import check_xy, unpack_data

__all__ = ["TrainingMixin", "regularization", "FitDivergedWarning"]


class FitDivergedWarning(RuntimeWarning):
    """A training step produced a non-finite loss or parameters; the model was rolled back."""


def _all_finite(model) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


class TrainingMixin:
    """``fit`` and grid verbs for ``KAN``."""

    def update_grid(self, X=None):
        """Move every layer's grid to the samples ``X`` (n, width[0]), keeping the curves.

        In place; returns self. ``X=None`` uses the inputs of the last ``fit``.
        """
        x = self._require_samples(X, "update_grid")
        with torch.no_grad():
            for layer in self.layers:
                update_layer_grid(layer, x)
                x = layer(x)
        self.mark_changed()
        return self

    def refine(self, grid: int, X=None):
        """Grid extension: every edge's spline refitted on ``grid`` intervals.

        The new grid follows the samples (``X``, default the last ``fit``'s inputs) and the
        old curves are kept by least squares. In place; returns self, so
        ``model.refine(20).fit(data)`` works. (pykan's ``refine`` returns a new model;
        use ``model.copy().refine(g)`` for that.)
        """
        if isinstance(grid, bool) or not isinstance(grid, int) or grid < 1:
            raise ValueError(f"refine(grid): grid must be an int >= 1; got {grid!r}")
        x = self._require_samples(X, "refine")
        with torch.no_grad():
            for layer in self.layers:
                update_layer_grid(layer, x, grid)
                x = layer(x)
        self.config["grid"] = grid
        self.mark_changed()
        return self

    def fit(self, data, y=None, *, steps=100, opt="LBFGS", lr=1.0, batch=-1, lamb=0.0,
            lamb_l1=1.0, lamb_entropy=2.0, lamb_coef=0.0, lamb_coefdiff=0.0, update_grid=True,
            grid_update_num=10, start_grid_update_step=-1, stop_grid_update_step=50,
            loss_fn=None, X_test=None, y_test=None, callback=None, progress=True):
        """Train the network. In place; returns self.

        Parameters
        ----------
        data : Dataset, pykan-style dict, or X array (n, width[0])
        y : (n, width[-1]) targets when ``data`` is an array
        steps : number of optimiser steps; an LBFGS step runs up to 20 inner iterations with a
            strong-Wolfe line search, as pykan
        opt : "LBFGS" or "Adam"
        lr : learning rate (1.0 suits LBFGS; try 1e-2 for Adam)
        batch : samples per step, -1 for all
        lamb, lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff : pykan's regularisation
        update_grid, grid_update_num, start_grid_update_step, stop_grid_update_step :
            move grids to the data every ``stop_grid_update_step // grid_update_num`` steps
            while ``step < stop_grid_update_step``
        loss_fn : callable(pred, target) -> scalar, default mean squared error
        X_test, y_test : held-out data when ``data`` is an array
        callback : callable(info) called after every step with a dict
            ``{step, train_rmse, test_rmse, reg, model}``; return True to stop early
        progress : show a tqdm progress bar

        Notes
        -----
        A step whose loss or parameters are not finite is undone: the model is restored to the
        state before that step, a ``FitDivergedWarning`` is raised as a warning, and fit stops.
        ``history_`` records the train RMSE of the last loss evaluation of each step (as pykan)
        and the test RMSE after the step.
        """
        opt_name = str(opt).lower()
        if opt_name not in ("lbfgs", "adam"):
            raise ValueError(f"unknown optimizer {opt!r}: use opt='LBFGS' or opt='Adam'")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be an int >= 0; got {steps!r}")
        X, Y, Xt, Yt, names = unpack_data(data, y, X_test, y_test)
        n_in, n_out = self.width[0], self.width[-1]
        kw = dict(dtype=self.dtype, device=self.device)
        X, Y = check_xy(X, Y, n_in, n_out, **kw)
        if (Xt is None) != (Yt is None):
            raise ValueError("give both X_test and y_test, or neither")
        if Xt is not None:
            Xt, Yt = check_xy(Xt, Yt, n_in, n_out, prefix="test ", **kw)
        if names is not None:
            if len(names[0]) == n_in:
                self.variables_ = names[0]
            if names[1] and len(names[1]) == n_out:
                self.output_names_ = names[1]
        self.X_fit_ = X
        loss_fn = loss_fn or torch.nn.functional.mse_loss  # one fused op and backward
        n = X.shape[0]
        batch = n if batch == -1 or batch > n else int(batch)

        # symbolic affine parameters of a layer without symbolic edges get no gradient: leaving
        # them out keeps the optimizer's flat vectors small
        params = [p for layer in self.layers for name, p in layer.named_parameters()
                  if p.requires_grad and (name != "sym_affine" or layer.sym_names)]
        if opt_name == "lbfgs":
            optimizer = LBFGS(params, lr=lr, history_size=10)
        else:
            optimizer = torch.optim.Adam(params, lr=lr)
        grid_every = max(1, stop_grid_update_step // max(1, grid_update_num))
        # batch sampling is seeded by the model seed and its step count: reproducible runs
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + len(self.history_["step"]))
        step0 = self.history_["step"][-1] + 1 if self.history_["step"] else 0
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=steps, desc="fit", leave=False)
        last = {}
        zero = X.new_zeros(())

        cached = {}

        def first_inputs(x, name):
            """First-layer features and statistics of ``x``, kept until the grid moves.

            The inputs of the first layer are the data, which only change with the batch,
            and its features only with the grid (every few steps at most).
            """
            knots = self.layers[0].knots
            hit = cached.get(name)
            # the entry holds x and the knots, so neither id can be reused while it lives
            if hit is None or hit[0] is not x or hit[1] is not knots or hit[2] != knots._version:
                hit = cached[name] = (x, knots, knots._version,
                                      first_layer_inputs(self.layers[0], x, stats=lamb > 0
                                                         and name == "train"))
            return hit[3]

        def forward_from_first(x, first):
            layer0 = self.layers[0]
            pred = layer0.node_affine(layer0.edge_sum(x, first.feats))
            for layer in self.layers[1:]:
                pred = layer(pred)
            return pred

        def objective(xb, yb, first):
            if lamb > 0:
                pred, reg = regularization(self, xb, lamb_l1, lamb_entropy, lamb_coef,
                                           lamb_coefdiff, first=first)
            else:
                pred = forward_from_first(xb, first)
            loss = loss_fn(pred, yb)
            last["loss"] = loss.detach()
            if lamb > 0:
                last["reg"] = reg.detach()
                return loss + lamb * reg
            last["reg"] = zero
            return loss

        try:
            for s in range(steps):
                idx = None if batch == n else torch.randperm(n, generator=gen)[:batch]
                xb = X if idx is None else X[idx.to(X.device)]
                yb = Y if idx is None else Y[idx.to(Y.device)]
                if (update_grid and s % grid_every == 0 and s < stop_grid_update_step
                        and s >= start_grid_update_step):
                    self.update_grid(xb)
                # only the optimised parameters change within a step: with L-BFGS they are one
                # flat tensor, so the rollback point is one copy instead of a state-dict deepcopy
                flat = isinstance(optimizer, LBFGS)
                snapshot = optimizer.snapshot() if flat else copy.deepcopy(self.state_dict())

                def rollback(snapshot=snapshot, flat=flat):
                    optimizer.restore(snapshot) if flat else self.load_state_dict(snapshot)

                # the first layer's features of this batch serve every evaluation of the step
                first = first_inputs(xb, "train")

                def closure(xb=xb, yb=yb, first=first):
                    optimizer.zero_grad()
                    obj = objective(xb, yb, first)
                    obj.backward()
                    return obj

                try:
                    if opt_name == "lbfgs":
                        optimizer.step(closure)
                    else:
                        closure()
                        optimizer.step()
                except BaseException:
                    rollback()  # nothing half-updated is left behind
                    raise
                train_mse, reg = last["loss"], last["reg"]
                finite = optimizer.params_finite() if flat else _all_finite(self)
                if not (torch.isfinite(train_mse) and torch.isfinite(reg) and finite):
                    rollback()
                    warnings.warn(
                        f"fit diverged at step {step0 + s} (non-finite loss or parameters); the "
                        "model was rolled back to the last finite state and training stopped. "
                        "Try a smaller lr, a smaller lamb, or opt='Adam'.",
                        FitDivergedWarning, stacklevel=2,
                    )
                    break
                with torch.no_grad():
                    test = (math.sqrt(float(loss_fn(forward_from_first(Xt, first_inputs(Xt, "test")),
                                                    Yt))) if Xt is not None
                            else float("nan"))
                rec = {"step": step0 + s, "train_rmse": math.sqrt(float(train_mse)),
                       "test_rmse": test, "reg": float(reg)}
                for key, v in rec.items():
                    self.history_[key].append(v)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(train=f"{rec['train_rmse']:.2e}", test=f"{test:.2e}")
                if callback is not None and callback({**rec, "model": self}):
                    break
        finally:
            if isinstance(optimizer, LBFGS):
                optimizer.release()  # parameters get their own storage back
            if bar is not None:
                bar.close()
            self.mark_changed()
        return self
