"""What ``fit`` minimises and what it records per step.

Three kinds of objective share one interface (called by ``fit``'s step with a batch, they
return the scalar to minimise and keep the detached terms of that evaluation):

- ``DataObjective`` with ``task="regression"``: ``loss(pred, y)`` (default MSE) on (X, y);
- ``DataObjective`` with ``task="classification"``: cross-entropy of the outputs, read as
  class logits, against integer labels (one output: a binary logit);
- ``UserObjective``: any ``objective(model, X_batch) -> scalar`` (a physics-informed loss:
  a PDE residual on collocation points through autograd, plus boundary terms).

Each adds ``lamb * reg`` (pykan's penalty) when ``lamb > 0``. ``record_step`` appends the
step's terms, the named ``metrics`` and the test terms to ``model.history_``.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from .regularizer import regularization
from .validation import as_matrix, check_labels, check_xy, integer_labels, unpack_data

__all__ = ["DataObjective", "UserObjective", "record_step", "check_metrics",
           "check_objective_args", "resolve_loss", "class_logits", "accuracy_of",
           "forward_from_first", "fit_inputs"]

# keys ``fit`` itself writes; a metric's name may not make ``train_<name>`` one of them
_RESERVED = ("loss", "rmse", "acc")


def forward_from_first(model, x, first):
    """``model(x)`` given the first layer's cached features of ``x``."""
    layer0 = model.layers[0]
    pred = model.nodes_from_subnodes(0, layer0.node_affine(layer0.edge_sum(x, first.feats)))
    for l in range(1, model.depth):
        pred = model.nodes_from_subnodes(l, model.layers[l](pred))
    return pred


def resolve_loss(loss, loss_fn):
    """``(task, loss callable or None)`` from ``fit``'s ``loss`` / ``loss_fn`` (synonyms;
    ``loss_fn`` is pykan's name). ``None`` means the default MSE."""
    if loss is not None and loss_fn is not None:
        raise TypeError("give loss=... or loss_fn=... (the same setting), not both")
    name = "loss" if loss is not None else "loss_fn"
    loss = loss if loss is not None else loss_fn
    if loss is None or (isinstance(loss, str) and loss.lower() == "mse"):
        return "regression", None
    if isinstance(loss, str):
        if loss.lower().replace("-", "_") in ("cross_entropy", "crossentropy", "ce"):
            return "classification", None
        raise ValueError(f"unknown {name} {loss!r}: use 'mse', 'cross_entropy', or a callable "
                         "loss(pred, target) -> scalar")
    if isinstance(loss, torch.nn.CrossEntropyLoss):  # pykan's tutorials spell it this way
        return "classification", loss
    if not callable(loss):
        raise TypeError(f"{name} must be callable(pred, target) -> scalar, 'mse' or "
                        f"'cross_entropy'; got {loss!r}")
    return "regression", loss


def class_logits(pred: torch.Tensor) -> torch.Tensor:
    """Outputs as logits over the classes: (n, C) for C >= 2 outputs; one output ``z`` is
    the binary logit, (n, 2) ``[0, z]`` (softmax of it = ``[1 - sigmoid(z), sigmoid(z)]``)."""
    if pred.shape[1] > 1:
        return pred
    return torch.cat([torch.zeros_like(pred), pred], dim=1)


def _cross_entropy(pred, labels, fn=None):
    if pred.shape[1] == 1:  # one output: binary logit (one fused op, stable)
        return F.binary_cross_entropy_with_logits(pred[:, 0], labels.to(pred.dtype))
    return F.cross_entropy(pred, labels) if fn is None else fn(pred, labels)


def accuracy_of(pred: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose largest logit (one output: ``z > 0``) is the label."""
    guess = (pred[:, 0] > 0).long() if pred.shape[1] == 1 else pred.argmax(1)
    return float((guess == labels).to(torch.float64).mean())


def check_metrics(metrics) -> dict:
    """``metrics`` as a dict name -> callable, names checked (plain, not a built-in key)."""
    if metrics is None:
        return {}
    if not isinstance(metrics, dict):
        raise TypeError("metrics must be a dict {'name': callable(pred, target) -> float}; got "
                        f"{type(metrics).__name__}")
    for name, fn in metrics.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"metric name {name!r} must be a plain name like 'mae' (it becomes "
                             "the history_ keys 'train_mae' and 'test_mae')")
        if name in _RESERVED:
            raise ValueError(f"metric name {name!r} is taken: fit records train_{name} itself; "
                             "choose another name")
        if not callable(fn):
            raise TypeError(f"metric {name!r} must be callable(pred, target) -> float; got "
                            f"{fn!r}")
    return dict(metrics)


def check_objective_args(objective, data, y, loss, loss_fn, metrics, X_test, lamb):
    """The arguments ``fit(points, objective=...)`` refuses, with what to do instead."""
    if not callable(objective):
        raise TypeError(f"objective must be callable(model, X) -> scalar tensor; got "
                        f"{objective!r}")
    if y is not None or loss is not None or loss_fn is not None:
        raise TypeError("an objective replaces the targets and the loss: call "
                        "fit(points, objective=fn) without y, loss or loss_fn")
    if isinstance(data, dict) or hasattr(data, "X_train"):
        raise TypeError("with an objective, data is the array of points (n, n_in) the "
                        "objective is evaluated on (or None), not a dataset")
    if metrics and X_test is None:
        raise ValueError("metrics compare outputs with targets, which an objective has none "
                         "of: pass X_test and y_test (e.g. the exact solution) to record them")
    if data is None and isinstance(lamb, numbers.Real) and lamb > 0:
        raise ValueError("lamb > 0 needs points to compute the penalty on: call "
                         "fit(points, objective=fn, lamb=...)")


def _metric_value(name, fn, pred, target) -> float:
    try:
        v = fn(pred, target)
        if isinstance(v, torch.Tensor):
            if v.numel() != 1:
                raise ValueError(f"returned a tensor of shape {tuple(v.shape)}")
            v = v.item()
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"returned {type(v).__name__}")
        return float(v)
    except Exception as e:
        raise type(e)(f"metric {name!r} must return one number for (pred, target); {e}") from e


class DataObjective:
    """``loss(pred, y) + lamb * reg`` on (X, y) batches, for regression or classification.

    After a call it holds that evaluation's ``loss`` and ``reg`` (detached tensors), and
    ``pred`` / ``target`` (detached) for the step's record.
    """

    def __init__(self, model, task, loss_fn, lamb, penalties):
        self.model, self.task, self.custom = model, task, loss_fn is not None
        if task == "classification":
            self.loss_fn = lambda p, y: _cross_entropy(p, y, loss_fn)
        else:
            self.loss_fn = loss_fn or F.mse_loss  # one fused op and backward
        self.lamb, self.penalties = lamb, penalties
        self.loss = self.reg = self.pred = self.target = None

    def __call__(self, xb, yb, first):
        if self.lamb > 0:
            pred, reg = regularization(self.model, xb, *self.penalties, first=first)
        else:
            pred, reg = forward_from_first(self.model, xb, first), None
        loss = self.loss_fn(pred, yb)
        self.loss, self.pred, self.target = loss.detach(), pred.detach(), yb
        self.reg = xb.new_zeros(()) if reg is None else reg.detach()
        return loss if reg is None else loss + self.lamb * reg

    def value(self, X, Y) -> float:
        """The loss on all of (X, Y), no gradients, no penalty (``fit``'s start/end checks)."""
        with torch.no_grad():
            return float(self.loss_fn(self.model.forward(X), Y))

    def terms(self, pred, target, prefix) -> dict:
        """``<prefix>loss``, ``<prefix>rmse`` (regression) or ``<prefix>acc``
        (classification) of ``pred`` against ``target``."""
        with torch.no_grad():
            loss = float(self.loss_fn(pred, target))
            if self.task == "classification":
                return {prefix + "loss": loss, prefix + "rmse": math.nan,
                        prefix + "acc": accuracy_of(pred, target)}
            mse = loss if not self.custom else float(F.mse_loss(pred, target))
            return {prefix + "loss": loss, prefix + "rmse": math.sqrt(mse)}


class UserObjective:
    """``objective(model, X_batch)`` (or ``objective(model)`` without points) ``+ lamb * reg``.

    The penalty is computed on the batch of points (it needs points: ``fit`` refuses
    ``lamb > 0`` without them). ``pred`` / ``target`` are None: there are no targets.
    """

    task = "objective"

    def __init__(self, model, fn, lamb, penalties):
        self.model, self.fn, self.lamb, self.penalties = model, fn, lamb, penalties
        self.loss = self.reg = self.pred = self.target = None

    def _evaluate(self, xb):
        with torch.enable_grad():  # the objective may differentiate the model in its inputs
            v = self.fn(self.model, xb) if xb is not None else self.fn(self.model)
        if not isinstance(v, torch.Tensor) or v.numel() != 1 or not v.is_floating_point():
            got = (f"a tensor of shape {tuple(v.shape)} and dtype {v.dtype}"
                   if isinstance(v, torch.Tensor) else f"{type(v).__name__}")
            raise TypeError(f"objective must return a scalar floating tensor (the loss to "
                            f"minimise, e.g. torch.mean(residual ** 2)); it returned {got}")
        return v.reshape(())

    def __call__(self, xb, yb, first):
        v = self._evaluate(xb)
        if not v.requires_grad:
            raise ValueError("the objective's value does not depend on the model's parameters "
                             "(no gradient): compute it from model(x), not from detached or "
                             "no_grad values")
        self.loss = v.detach()
        self.reg = v.new_zeros(())
        if self.lamb > 0:
            _, reg = regularization(self.model, xb, *self.penalties, first=first)
            self.reg = reg.detach()
            v = v + self.lamb * reg
        return v

    def value(self, X, Y) -> float:
        return float(self._evaluate(X).detach())

    def terms(self, pred, target, prefix) -> dict:
        """Test terms: the RMSE of the outputs against ``target`` (the objective has no
        test value: ``test_loss`` is NaN)."""
        with torch.no_grad():
            mse = float(F.mse_loss(pred, target))
        return {prefix + "loss": math.nan, prefix + "rmse": math.sqrt(mse)}


def record_step(model, step, objective, metrics, Xt, Yt, test_pred) -> dict:
    """Append one step to ``model.history_`` and return its record.

    Train terms come from the step's last evaluation (``objective.loss``, ``.pred``); test
    terms from ``test_pred()``, the outputs on ``Xt`` after the step (NaN without test data).
    A key this record lacks is NaN in it, and a new key is NaN for the earlier steps, so
    every list keeps the length of ``history_["step"]``.
    """
    rec = {"step": step, "train_loss": float(objective.loss), "train_rmse": math.nan}
    if objective.pred is not None:
        rec.update(objective.terms(objective.pred, objective.target, "train_"))
        rec["train_loss"] = float(objective.loss)  # the evaluation's own value, as pykan
        for name, fn in metrics.items():
            rec["train_" + name] = _metric_value(name, fn, objective.pred, objective.target)
    rec.update(test_loss=math.nan, test_rmse=math.nan)
    if objective.task == "classification":
        rec.setdefault("train_acc", math.nan)
        rec["test_acc"] = math.nan
    if Xt is not None:
        with torch.no_grad():
            pred = test_pred()
        rec.update(objective.terms(pred, Yt, "test_"))
        for name, fn in metrics.items():
            rec["test_" + name] = _metric_value(name, fn, pred, Yt)
    rec["reg"] = float(objective.reg)
    hist = model.history_
    n = len(hist.get("step", []))
    for key, v in rec.items():  # a log loaded from an older file may lack a key: NaN-padded
        hist.setdefault(key, [math.nan] * n).append(v)
    for key, values in hist.items():
        if key not in rec and len(values) == n:
            values.append(math.nan)
    return rec


def fit_inputs(model, data, y, X_test, y_test, task):
    """Validated (X, Y, X_test, Y_test) tensors of ``fit`` (Y: labels (n,) long for
    classification, None with an objective; X None for an objective without points);
    keeps ``X_fit_`` and the data's variable names."""
    n_in, n_out = model.width[0], model.width[-1]
    kw = dict(dtype=model.dtype, device=model.device)
    if task == "objective":
        X, Y, Xt, Yt, names = data, None, X_test, y_test, None
        if X is not None:
            X = as_matrix(X, "X (the objective's points)", n_cols=n_in,
                          what="input columns", **kw)
    else:
        X, Y, Xt, Yt, names = unpack_data(data, y, X_test, y_test)
    if (Xt is None) != (Yt is None):
        raise ValueError("give both X_test and y_test, or neither")
    if task == "classification":
        X = as_matrix(X, "X", n_cols=n_in, what="input columns", **kw)
        Y = check_labels(Y, n_out, X.shape[0], device=model.device)
        if Xt is not None:
            Xt = as_matrix(Xt, "test X", n_cols=n_in, what="input columns", **kw)
            Yt = check_labels(Yt, n_out, Xt.shape[0], device=model.device, prefix="test ")
    else:
        if task == "regression" and n_out > 1 and integer_labels(Y):
            raise ValueError(
                f"y is one column of integers (class labels?) but the model has {n_out} "
                "outputs: for classification pass loss='cross_entropy' (the outputs are "
                f"then the logits of classes 0..{n_out - 1}); for regression give y as an "
                f"(n, {n_out}) float array")
        if Y is not None:
            X, Y = check_xy(X, Y, n_in, n_out, **kw)
        if Xt is not None:
            Xt, Yt = check_xy(Xt, Yt, n_in, n_out, prefix="test ", **kw)
    if names is not None:
        for what, ns in zip(("input", "output"), names):
            dup = sorted({v for v in ns or [] if list(ns).count(v) > 1})
            if dup:
                raise ValueError(f"{what} names must be distinct; {dup} appear more than "
                                 "once: rename the columns")
        if len(names[0]) == n_in:
            model.variables_ = names[0]
        if names[1] and len(names[1]) == n_out:
            model.output_names_ = names[1]
    if X is not None:
        model.X_fit_ = X
    return X, Y, Xt, Yt
