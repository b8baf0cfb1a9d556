"""Classification queries for ``KAN``: the outputs read as class logits.

A model trained with ``fit(X, labels, loss="cross_entropy")`` has one output per class
(logits, softmax gives probabilities) or one output for two classes (a binary logit ``z``:
class 1 when ``z > 0``, probability ``sigmoid(z)``). ``predict`` keeps returning the raw
outputs (the logits); these queries turn them into probabilities, labels and accuracy.
"""

from __future__ import annotations

import torch

from .objectives import accuracy_of, class_logits
from .validation import check_labels

__all__ = ["ClassifierMixin"]


class ClassifierMixin:
    """``predict_proba``, ``predict_classes`` and ``accuracy`` for ``KAN``."""

    def predict_proba(self, X) -> torch.Tensor:
        """Class probabilities, (n, C): softmax of the outputs (``C = width[-1]``), or for
        one output ``[1 - sigmoid(z), sigmoid(z)]`` (``C = 2``). Rows sum to 1."""
        return torch.softmax(class_logits(self.predict(X)), dim=1)

    def predict_classes(self, X) -> torch.Tensor:
        """Predicted labels, (n,) long: the largest output, or for one output ``z > 0``."""
        pred = self.predict(X)
        return (pred[:, 0] > 0).long() if pred.shape[1] == 1 else pred.argmax(1)

    def accuracy(self, X, labels) -> float:
        """Fraction of samples whose predicted class (``predict_classes``) is the label;
        ``labels``: (n,) integers in ``0 .. C-1``. Higher is better (``score`` is the RMSE
        of the raw outputs, meant for regression)."""
        pred = self.predict(X)
        y = check_labels(labels, self.width[-1], pred.shape[0], device=self.device)
        return accuracy_of(pred, y)
