"""Regression or classification: what the Explorer measures and how it trains.

A model fitted with ``fit(..., loss="cross_entropy")`` reads its outputs as class logits and
its targets as integer labels. The Explorer then measures the cross-entropy (its "loss") and
the accuracy, and trains with the same loss; a regression model keeps the RMSE and MSE.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..core.objectives import accuracy_of
from ..core.validation import check_labels

__all__ = ["REGRESSION", "CLASSIFICATION", "detect_task", "as_targets", "measure",
           "loss_name"]

REGRESSION, CLASSIFICATION = "regression", "classification"
_CE_NAMES = ("cross_entropy", "crossentropy", "ce")


def detect_task(model, y, loss=None) -> str:
    """The task of a session: ``loss`` when given ("cross_entropy" or "mse"); else
    classification when the model was fitted with cross-entropy (its training log records
    ``train_acc``) or when ``y`` is one column of integer labels and the model has several
    outputs (regression could not use such targets); else regression."""
    if loss is not None:
        if not isinstance(loss, str) or loss.lower().replace("-", "_") not in (*_CE_NAMES,
                                                                                "mse"):
            raise ValueError(f"loss must be 'mse' or 'cross_entropy' (the loss the model was "
                             f"fitted with); got {loss!r}")
        return CLASSIFICATION if loss.lower().replace("-", "_") in _CE_NAMES else REGRESSION
    acc = model.history_.get("train_acc", [])
    if any(not math.isnan(v) for v in acc):
        return CLASSIFICATION
    if y is not None and model.width[-1] > 1:
        t = torch.as_tensor(y)
        flat = t.reshape(-1) if t.dim() == 2 and t.shape[1] == 1 else t
        if flat.dim() == 1 and not flat.is_floating_point() and not flat.is_complex():
            return CLASSIFICATION
    return REGRESSION


def as_targets(model, y, task, what="labels"):
    """``y`` as the model's targets: float (n, n_out) for regression, (n,) long labels in
    ``0 .. C-1`` for classification (checked, with a message saying what is wrong)."""
    if y is None:
        return None
    if task == CLASSIFICATION:  # floats like 0.0 / 1.0 are accepted (check_labels)
        t = torch.as_tensor(y)
        return check_labels(t, model.width[-1], t.shape[0], device=model.device)
    return torch.as_tensor(y, dtype=model.dtype, device=model.device)


def measure(model, X, y, task) -> tuple[float, float]:
    """(loss, accuracy) of ``model`` on ``(X, y)``: RMSE and NaN for regression,
    cross-entropy and the fraction of labels predicted for classification."""
    with torch.no_grad():
        pred = model.predict(X)
        if task != CLASSIFICATION:
            return float(torch.sqrt(torch.mean((pred - y.reshape(pred.shape)) ** 2))), math.nan
        return cross_entropy(pred, y), accuracy_of(pred, y)


def cross_entropy(pred: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean cross-entropy of logits ``pred`` (n, C) — one column: a binary logit."""
    if pred.shape[1] == 1:
        return float(F.binary_cross_entropy_with_logits(pred[:, 0], labels.to(pred.dtype)))
    return float(F.cross_entropy(pred, labels))


def class_probability(pred: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """The probability each sample's own label gets, (n,)."""
    if pred.shape[1] == 1:
        p1 = torch.sigmoid(pred[:, 0])
        p = torch.where(labels == 1, p1, 1 - p1)
    else:
        p = torch.softmax(pred, 1).gather(1, labels[:, None])[:, 0]
    return p.detach().to("cpu", torch.float64).numpy().copy()


def loss_name(task) -> str:
    """What the session's "loss" is: "RMSE" or "cross-entropy"."""
    return "cross-entropy" if task == CLASSIFICATION else "RMSE"
