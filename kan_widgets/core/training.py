"""``fit``: LBFGS / Adam training with pykan's sparsity + entropy regularisation
(``core.regularizer``), grid updates and rollback of diverging steps.

``fit`` reads as its four parts: the optimiser (``_optimizer``), the first layer's features
cached across a step's evaluations (``_FirstLayerCache``), one step that is undone when it
fails or diverges (``_step``, minimising an objective of ``core.objectives``: a loss on data,
cross-entropy on labels, or the user's own), and the record of the step
(``objectives.record_step``)."""

from __future__ import annotations

import copy
import math
import warnings

import torch

from .freezing import FrozenGuard
from .grid import update_layer_grid
from .lbfgs import LBFGS
from .objectives import (
    DataObjective,
    UserObjective,
    check_metrics,
    check_objective_args,
    fit_inputs,
    forward_from_first,
    record_step,
    resolve_loss,
)
from .regularizer import first_layer_inputs, regularization
from .threads import scoped
from .transaction import Snapshot, atomic, non_finite_tensors, transaction
from .validation import (
    check_fit_args,
    check_int,
)

__all__ = ["TrainingMixin", "regularization", "FitDivergedWarning", "FitWorsenedWarning",
           "HISTORY_KEYS"]

# the training log ``KAN.history_``: one value per step under each key (see ``fit``)
HISTORY_KEYS = ("step", "train_loss", "train_rmse", "test_loss", "test_rmse", "reg")


class FitDivergedWarning(RuntimeWarning):
    """A training step produced a non-finite loss or parameters; the model was rolled back."""


class FitWorsenedWarning(RuntimeWarning):
    """``fit`` ended with a train RMSE far above the one it started from (more than
    ``WORSE_FACTOR`` times, and worse by more than a tenth of the targets' spread): usually a
    learning rate too large for the optimiser. The model is kept as trained."""


WORSE_FACTOR = 10.0


def _far_worse(start: float, end: float, Y, task="regression", n_out=1) -> bool:
    """``end`` more than ``WORSE_FACTOR`` times ``start`` and worse by a tenth of the spread
    of the targets (a near-exact fit drifting by noise is not "far worse"); for
    classification, a cross-entropy also above chance's ``log(C)``; never for an objective
    (its scale is the user's)."""
    if task == "objective":
        return False
    if task == "classification":
        return end > WORSE_FACTOR * start and end > math.log(max(2, n_out))
    spread = float(Y.std()) if Y.numel() > 1 else 0.0
    return math.isfinite(start) and end > WORSE_FACTOR * start and end - start > 0.1 * spread


def _train_rmse(model, X, Y) -> float:
    """RMSE of the model on the whole training set (no gradients)."""
    with torch.no_grad():
        return math.sqrt(float(((model.forward(X) - Y) ** 2).mean()))


def _all_finite(model) -> bool:
    # one host read for all parameters (on a GPU each bool() waits for the device)
    return bool(torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all())


def _optimizer(model, opt_name: str, lr: float, skip=frozenset()):
    """L-BFGS (flat parameters) or Adam over the trainable parameters.

    Symbolic affine parameters of a layer without symbolic edges get no gradient: leaving
    them out keeps the optimiser's flat vectors small. ``skip``: ids of frozen parameters.
    """
    params = [p for layer in model.layers for name, p in layer.named_parameters()
              if p.requires_grad and (name != "sym_affine" or layer.sym_names)
              and id(p) not in skip]
    if not params:
        raise ValueError("fit has nothing to train: every parameter is frozen or has "
                         "requires_grad=False (see model.unfreeze())")
    if opt_name == "lbfgs":
        return LBFGS(params, lr=lr, history_size=10)
    return torch.optim.Adam(params, lr=lr)


class _FirstLayerCache:
    """First-layer features (and penalty statistics) of a batch, kept until the grid moves.

    The inputs of the first layer are the data, which only change with the batch, and its
    features only with the grid (every few steps at most), so every evaluation of a step and
    the test set reuse them. An entry holds ``x`` and the knots, so neither id can be reused
    while it lives; the knots' version counter notices in-place grid writes.
    """

    def __init__(self, layer, stats: bool):
        self.layer, self.stats, self._hit = layer, stats, {}

    def __call__(self, x, name: str):
        knots = self.layer.knots
        hit = self._hit.get(name)
        if hit is None or hit[0] is not x or hit[1] is not knots or hit[2] != knots._version:
            first = first_layer_inputs(self.layer, x, stats=self.stats and name == "train")
            hit = self._hit[name] = (x, knots, knots._version, first)
        return hit[3]


def _step(model, optimizer, objective, xb, yb, first) -> bool:
    """One optimiser step. On an exception the parameters are put back and it is re-raised;
    a non-finite loss or parameter puts them back and returns False."""
    # only the optimised parameters change within a step: with L-BFGS they are one flat
    # tensor, so the rollback point is one copy instead of a state-dict deepcopy
    flat = isinstance(optimizer, LBFGS)
    snapshot = optimizer.snapshot() if flat else copy.deepcopy(model.state_dict())

    def rollback():
        optimizer.restore(snapshot) if flat else model.load_state_dict(snapshot)

    def closure():
        optimizer.zero_grad()
        obj = objective(xb, yb, first)
        obj.backward()
        return obj

    try:
        if flat:
            optimizer.step(closure)
        else:
            closure()
            optimizer.step()
    except RuntimeError as err:
        rollback()
        if "overflow" in str(err):  # the line search's step length left the float range
            return False
        raise
    except BaseException:
        rollback()  # nothing half-updated is left behind
        raise
    finite = optimizer.params_finite() if flat else _all_finite(model)
    if finite and bool(torch.isfinite(objective.loss).all() & torch.isfinite(objective.reg)):
        return True
    rollback()
    return False


class TrainingMixin:
    """``fit`` and grid verbs for ``KAN``."""

    @scoped("grid")
    @atomic("update_grid")
    def update_grid(self, X=None):
        """Move every layer's grid to the samples ``X`` (n, width[0]), keeping the curves.

        In place; returns self. ``X=None`` uses the inputs of the last ``fit``. Atomic: on an
        error, or non-finite grids or coefficients (``NonFiniteError``), nothing is changed.
        """
        x = self._require_samples(X, "update_grid")
        with torch.no_grad():
            for l, layer in enumerate(self.layers):
                update_layer_grid(layer, x)
                x = self.nodes_from_subnodes(l, layer(x))
        self.mark_changed()
        return self

    @scoped("grid")
    @atomic("refine")
    def refine(self, grid: int, X=None):
        """Grid extension: every edge's spline refitted on ``grid`` intervals.

        The new grid follows the samples (``X``, default the last ``fit``'s inputs) and the
        old curves are kept by least squares. In place; returns self, so
        ``model.refine(20).fit(data)`` works. (pykan's ``refine`` returns a new model;
        use ``model.copy().refine(g)`` for that.) Atomic: on an error or an interrupt no
        layer is changed.
        """
        grid = check_int("refine(grid): grid", grid, 1)
        from .resources import check_size

        check_size(self.width_out, grid, self.k, self.dtype)
        x = self._require_samples(X, "refine")
        with torch.no_grad():
            for l, layer in enumerate(self.layers):
                update_layer_grid(layer, x, grid)
                x = self.nodes_from_subnodes(l, layer(x))
        self.config["grid"] = grid
        self.mark_changed()
        return self

    @scoped("fit")
    def fit(self, data=None, y=None, *, steps=100, opt="LBFGS", lr=1.0, batch=-1, lamb=0.0,
            lamb_l1=1.0, lamb_entropy=2.0, lamb_coef=0.0, lamb_coefdiff=0.0, update_grid=True,
            grid_update_num=10, start_grid_update_step=-1, stop_grid_update_step=50,
            loss=None, loss_fn=None, objective=None, metrics=None, X_test=None, y_test=None,
            callback=None, progress=True):
        """Train the network on data, on class labels, or on any objective. In place;
        returns self.

        Parameters
        ----------
        data : Dataset, pykan-style dict, or X array (n, width[0]); with ``objective``, the
            points (n, width[0]) it is evaluated on (e.g. collocation points), or None
        y : (n, width[-1]) targets when ``data`` is an array; with ``loss="cross_entropy"``,
            (n,) integer class labels
        steps : number of optimiser steps; an LBFGS step runs up to 20 inner iterations with a
            strong-Wolfe line search, as pykan
        opt : "LBFGS" or "Adam"
        lr : learning rate (1.0 suits LBFGS; try 1e-2 for Adam)
        batch : samples (or points) per step, -1 for all
        lamb, lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff : pykan's regularisation
        update_grid, grid_update_num, start_grid_update_step, stop_grid_update_step :
            move grids to the step's inputs (the objective's points) every
            ``stop_grid_update_step // grid_update_num`` steps while
            ``step < stop_grid_update_step``; ``update_grid=False``: no grid moves in fit
        loss : "mse" (default), "cross_entropy", or callable(pred, target) -> scalar.
            "cross_entropy" reads the outputs as class logits and ``y`` as labels
            ``0 .. C-1`` with ``C = width[-1]``; a single output is a binary logit (labels
            0/1). ``loss_fn`` is a synonym (pykan's name; ``torch.nn.CrossEntropyLoss()``
            there means classification too)
        objective : callable(model, X_batch) -> scalar tensor to minimise, instead of a loss
            on targets (``objective(model)`` when ``data`` is None). It may differentiate the
            model in its inputs (``torch.autograd.grad(..., create_graph=True)``): pass
            ``X_batch.detach().requires_grad_()`` to the model for that. Boundary or other
            terms on points of its own are the objective's business.
        metrics : dict name -> callable(pred, target) -> float, recorded per step as
            ``train_<name>`` (on the step's last evaluation) and ``test_<name>`` (with test
            data; with an objective only the test ones, which it then needs)
        X_test, y_test : held-out data (also with an objective: e.g. the exact solution)
        callback : callable(info) called after every step with a dict holding the step's
            record (the keys of ``history_``) and ``model``; return True to stop early
        progress : show a tqdm progress bar

        Notes
        -----
        A step whose loss or parameters are not finite is undone: the model is restored to the
        state before that step, a ``FitDivergedWarning`` is raised as a warning, and fit stops.
        A grid update that gives non-finite grids counts as such a step. If the model then
        still gives non-finite outputs on the training data, it is restored to its state
        before the call (with a ``FitDivergedWarning``). A fit that ends with a train RMSE
        more than ten times its starting one warns ``FitWorsenedWarning``.

        Atomic: an error or ``KeyboardInterrupt`` leaves the model exactly as before the call
        (parameters, grids, ``history_``, ``X_fit_``); to stop early and keep the steps made,
        return True from ``callback``. Arguments are checked first (``ValueError`` or
        ``TypeError`` saying what to pass): ``lr`` > 0 (<= 1e3 for LBFGS), ``batch`` -1 or
        >= 1, penalties finite and >= 0; numpy integers are accepted.

        ``history_`` (the training log) gets one entry per step under each key: ``step``;
        ``train_loss``, the loss (or objective) at the step's last evaluation (as pykan),
        without the penalty; ``train_rmse``, the root mean squared error of that same
        evaluation (``sqrt(train_loss)`` with the default loss; NaN for classification and
        objectives); ``test_loss`` and ``test_rmse``, the same two on the test data after the
        step (NaN without test data; ``test_loss`` is NaN with an objective); ``reg``, the
        penalty before ``lamb`` (0 when ``lamb == 0``). Classification adds ``train_acc``
        and ``test_acc`` (fraction of labels predicted), ``metrics`` their own keys; a key
        a step does not record is NaN there. ``X_fit_`` becomes the training inputs (the
        objective's points), which later verbs (``refine``, ``prune``) use as samples.
        """
        lambdas = dict(lamb=lamb, lamb_l1=lamb_l1, lamb_entropy=lamb_entropy,
                       lamb_coef=lamb_coef, lamb_coefdiff=lamb_coefdiff)
        grid_args = dict(grid_update_num=grid_update_num,
                         start_grid_update_step=start_grid_update_step,
                         stop_grid_update_step=stop_grid_update_step)
        task, loss_call = resolve_loss(loss, loss_fn)
        metrics = check_metrics(metrics)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable(info); got {callback!r}")
        if objective is not None:
            check_objective_args(objective, data, y, loss, loss_fn, metrics, X_test, lamb)
            task = "objective"
        with transaction(self, "fit") as tx:
            X, Y, Xt, Yt = self._fit_data(data, y, X_test, y_test, task)
            opt_name, steps, lr, batch = check_fit_args(
                opt, steps, lr, batch, 1 if X is None else X.shape[0], lambdas, grid_args)
            grid_args = {k: int(v) for k, v in grid_args.items()}
            lambdas = {k: float(v) for k, v in lambdas.items()}
            penalties = tuple(lambdas.values())[1:]
            obj = (UserObjective(self, objective, lambdas["lamb"], penalties)
                   if objective is not None else
                   DataObjective(self, task, loss_call, lambdas["lamb"], penalties))
            start = obj.value(X, Y) if task != "regression" else _train_rmse(self, X, Y)
            if not math.isfinite(start):
                raise ValueError(
                    "fit: the model's outputs (or the objective) on the training inputs are not "
                    "finite before any step"
                    + ("" if X is None else f" (largest |X| = {float(X.abs().max()):.3g})")
                    + "; rescale the data (e.g. standardise each column), or check the model's "
                    "parameters")
            self._fit_steps(X, Y, Xt, Yt, steps, opt_name, lr, batch, obj, metrics,
                            update_grid, grid_args, callback, progress)
            end = obj.value(X, Y) if task != "regression" else _train_rmse(self, X, Y)
            if not math.isfinite(end) or non_finite_tensors(self):
                # the last finite parameters can still give NaN outputs (an overflow in the
                # forward): the rollback point is then the model before the call
                if tx.snapshot is not None:
                    tx.snapshot.restore()
                    tx.snapshot = Snapshot(self)  # the restored state is the new baseline
                warnings.warn("fit diverged: the trained model gives non-finite outputs on the "
                              "training data; it was restored to its state before fit. Try a "
                              "smaller lr, a smaller lamb, or opt='LBFGS'.", FitDivergedWarning,
                              stacklevel=2)
            elif _far_worse(start, end, Y, task, self.width[-1]):
                warnings.warn(f"fit ended far worse than it started: train "
                              f"{'RMSE' if task == 'regression' else 'loss'} {start:.3g} -> "
                              f"{end:.3g}. The learning rate lr={lr:g} is probably too large for "
                              f"opt={opt!r}; undo with model.load_state(...) of a saved state, "
                              "or retrain with a smaller lr", FitWorsenedWarning, stacklevel=2)
        return self

    def _fit_steps(self, X, Y, Xt, Yt, steps, opt_name, lr, batch, objective, metrics,
                   update_grid, grid_args, callback, progress) -> bool:
        """The training loop of ``fit`` (arguments validated). Returns whether it diverged."""
        n = 1 if X is None else X.shape[0]
        guard = FrozenGuard(self)
        optimizer = _optimizer(self, opt_name, lr, guard.skip)
        update_grid = update_grid and not self.any_frozen_coef()  # a grid update moves them
        first = _FirstLayerCache(self.layers[0], stats=objective.lamb > 0)
        # an objective evaluates the model itself: cached first-layer features serve only
        # its penalty
        use_first = objective.task != "objective" or objective.lamb > 0
        stop_grid = grid_args["stop_grid_update_step"]
        grid_every = max(1, stop_grid // max(1, grid_args["grid_update_num"]))
        # batch sampling is seeded by the model seed and its step count: reproducible runs
        # (modulo 2**63: torch seeds are 64-bit, and large model seeds must not overflow)
        done = len(self.history_["step"])
        dev = self.device if X is None else X.device
        gen = torch.Generator(dev).manual_seed(  # no host indices
            (self.seed * 1_000_003 + done) % 2**63)
        step0 = self.history_["step"][-1] + 1 if done else 0
        bar = None
        if progress:
            from tqdm.auto import tqdm  # optional at import time; only a progress bar needs it

            bar = tqdm(total=steps, desc="fit", leave=False)
        diverged = False
        try:
            for s in range(steps):
                idx = None if batch == n else torch.randperm(n, generator=gen, device=dev)[:batch]
                xb = X if idx is None else X[idx]
                yb = Y if idx is None or Y is None else Y[idx]
                if (update_grid and xb is not None and s % grid_every == 0 and s < stop_grid
                        and s >= grid_args["start_grid_update_step"]):
                    diverged = not self._fit_grid_update(xb, first_update=s == 0)
                fb = first(xb, "train") if use_first and xb is not None else None
                if diverged or not _step(self, optimizer, objective, xb, yb, fb):
                    diverged = True
                    warnings.warn(
                        f"fit diverged at step {step0 + s} (non-finite loss or parameters); the "
                        "model was rolled back to the last finite state and training stopped. "
                        "Try a smaller lr, a smaller lamb, or opt='Adam'.",
                        FitDivergedWarning, stacklevel=3,
                    )
                    break
                guard.restore()
                rec = record_step(self, step0 + s, objective, metrics, Xt, Yt,
                                  lambda: forward_from_first(self, Xt, first(Xt, "test")))
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix({k.replace("_", " "): f"{rec[k]:.2e}" for k in
                                     ("train_loss", "train_acc", "test_rmse", "test_acc")
                                     if math.isfinite(rec.get(k, math.nan))})
                if callback is not None and callback({**rec, "model": self}):
                    break
        finally:
            guard.remove()
            if isinstance(optimizer, LBFGS):
                optimizer.release()  # parameters get their own storage back
            if bar is not None:
                bar.close()
            self.mark_changed()
        return diverged

    def _fit_grid_update(self, xb, first_update: bool) -> bool:
        """A grid update within ``fit``, undone (returns False) when it gives non-finite
        grids or coefficients (a batch far outside the grids, collapsed grids). A failure of
        the first update, before any step, is the data's: it is raised."""
        snap = Snapshot(self)
        try:
            self.update_grid(xb)
        except ValueError:
            snap.restore()
            if first_update:
                raise
            return False
        if non_finite_tensors(self):
            snap.restore()
            return False
        return True

    def _fit_data(self, data, y, X_test, y_test, task):
        """Validated (X, Y, X_test, Y_test) of ``fit`` (see ``objectives.fit_inputs``)."""
        return fit_inputs(self, data, y, X_test, y_test, task)
