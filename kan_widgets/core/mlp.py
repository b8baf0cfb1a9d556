"""``MLP``: a plain multi-layer perceptron with ``KAN``'s training interface (``fit``,
``history_``, ``predict``, ``score``), for side-by-side comparisons.

It trains with the same pieces as ``KAN.fit`` (``core.training``): the same L-BFGS (or Adam),
the same step that is undone when its loss or parameters are not finite, the same argument
checks and data handling, and the same ``history_`` keys, so a comparison differs in the
model only.
"""

from __future__ import annotations

import functools
import math
import warnings

import torch
from torch import nn

from .lbfgs import LBFGS
from .threads import _rows, scope
from .training import HISTORY_KEYS, FitDivergedWarning, _step
from .transaction import transaction
from .validation import as_matrix, check_fit_args, check_width, check_xy, unpack_data

__all__ = ["MLP", "ACTIVATIONS"]

ACTIVATIONS = {"silu": nn.SiLU, "tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU,
               "sigmoid": nn.Sigmoid}


class _Objective:
    """``loss_fn(model(x), y)``, with the attributes ``core.training._step`` reads: the
    detached ``loss``, ``mse`` (None when ``loss_fn`` is the default MSE) and ``reg`` (0)."""

    def __init__(self, model, loss_fn):
        self.model, self.custom = model, loss_fn is not None
        self.loss_fn = loss_fn or torch.nn.functional.mse_loss
        self.loss = self.mse = self.reg = None

    def __call__(self, xb, yb, _first=None):
        pred = self.model(xb)
        loss = self.loss_fn(pred, yb)
        self.loss = loss.detach()
        if self.custom:
            with torch.no_grad():
                self.mse = torch.nn.functional.mse_loss(pred, yb)
        self.reg = xb.new_zeros(())
        return loss



def _thread_scoped(method):
    """Run ``fit``/``forward`` under the library's thread policy (as ``KAN``'s verbs are),
    sized by samples x parameters."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        x = args[0] if args else kwargs.get("data", kwargs.get("x", kwargs.get("X")))
        rows = _rows(x) if x is not None else 1
        with scope("fit" if method.__name__ == "fit" else "forward", rows * self.n_params):
            return method(self, *args, **kwargs)
    return run


class MLP(nn.Module):
    """A multi-layer perceptron: ``Linear`` layers with an activation between them.

    Parameters
    ----------
    width : list of int
        Nodes per layer, inputs first, as for ``KAN``: ``[2, 32, 32, 1]``.
    activation : {"silu", "tanh", "relu", "gelu", "sigmoid"}
        Between hidden layers (none after the output layer).
    seed : int
        Seed of the initialisation (PyTorch's default, Kaiming-uniform) and of ``fit``'s
        batch sampling.
    device, dtype : torch device and floating dtype of the parameters.

    Attributes
    ----------
    width : list of int
    net : nn.Sequential
    n_params : int, the number of trainable parameters
    history_ : dict of lists, the training log of ``fit``, with ``KAN.history_``'s keys
        (``reg`` is always 0)
    X_fit_ : training inputs of the last ``fit``
    """

    def __init__(self, width, activation="silu", seed=0, device=None, dtype=None):
        super().__init__()
        width = check_width(width)
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of "
                             f"{sorted(ACTIVATIONS)}")
        dtype = dtype or torch.get_default_dtype()
        if not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating dtype like torch.float32; got {dtype}")
        self.width, self.activation, self.seed = width, activation, int(seed)
        with torch.random.fork_rng(devices=[]):  # seeded, without touching the global stream
            torch.manual_seed(self.seed)
            layers = []
            for l in range(len(width) - 1):
                layers.append(nn.Linear(width[l], width[l + 1], device=device, dtype=dtype))
                if l < len(width) - 2:
                    layers.append(ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)
        self.history_ = {key: [] for key in HISTORY_KEYS}
        self.X_fit_ = None
        self._version_count = 0
        self._fingerprint = self._tensor_fingerprint()

    def _tensor_fingerprint(self) -> tuple:
        return tuple((t._version, t.data_ptr(), tuple(t.shape)) for t in self.parameters())

    @property
    def version(self) -> int:
        """A counter that grows whenever the model changes (as ``KAN.version``)."""
        fp = self._tensor_fingerprint()
        if fp != self._fingerprint:
            self._fingerprint = fp
            self._version_count += 1
        return self._version_count

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    @property
    def dtype(self) -> torch.dtype:
        return self.net[0].weight.dtype

    @property
    def device(self) -> torch.device:
        return self.net[0].weight.device

    def check_input(self, x) -> torch.Tensor:
        """``x`` as a (batch, width[0]) tensor of the model's dtype and device."""
        if isinstance(x, torch.Tensor) and x.ndim == 2 and x.shape[1] == self.width[0] \
                and x.dtype == self.dtype and x.device == self.device:
            return x
        return as_matrix(x, "X", n_cols=self.width[0], dtype=self.dtype, device=self.device,
                         what="input columns")

    @_thread_scoped
    def forward(self, x) -> torch.Tensor:
        """(batch, width[0]) -> (batch, width[-1])."""
        return self.net(self.check_input(x))

    def predict(self, X):
        """``forward`` without gradients, for arrays or tensors of shape (n, width[0])."""
        with torch.no_grad():
            return self.forward(X)

    def score(self, X, y) -> float:
        """Root mean squared error of ``predict(X)`` against ``y`` (as ``KAN.score``: lower
        is better)."""
        X, y = check_xy(X, y, self.width[0], self.width[-1], dtype=self.dtype,
                        device=self.device)
        with torch.no_grad():
            return float(((self.forward(X) - y) ** 2).mean().sqrt())

    @_thread_scoped
    def fit(self, data, y=None, *, steps=100, opt="LBFGS", lr=1.0, batch=-1, loss_fn=None,
            X_test=None, y_test=None, callback=None, progress=True):
        """Train the network. In place; returns self.

        The arguments mean what they mean in ``KAN.fit`` (which also has the KAN-only
        regularisation and grid updates). A step whose loss or parameters are not finite is
        undone, with a ``FitDivergedWarning``, and training stops. Atomic: an error or an
        interruption (``KeyboardInterrupt``) leaves the model as it was before the call.
        """
        if loss_fn is not None and not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable(pred, target); got {loss_fn!r}")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable(info); got {callback!r}")
        with transaction(self, "fit"):
            X, Y, Xt, Yt = self._fit_data(data, y, X_test, y_test)
            opt_name, steps, lr, batch = check_fit_args(opt, steps, lr, batch, X.shape[0], {},
                                                        {})
            self._fit_steps(X, Y, Xt, Yt, steps, opt_name, lr, batch, loss_fn, callback,
                            progress)
        return self

    def _fit_steps(self, X, Y, Xt, Yt, steps, opt_name, lr, batch, loss_fn, callback,
                   progress):
        params = [p for p in self.parameters() if p.requires_grad]
        optimizer = LBFGS(params, lr=lr, history_size=10) if opt_name == "lbfgs" else \
            torch.optim.Adam(params, lr=lr)
        objective = _Objective(self, loss_fn)
        done = len(self.history_["step"])
        gen = torch.Generator().manual_seed((self.seed * 1_000_003 + done) % 2**63)
        step0 = self.history_["step"][-1] + 1 if done else 0
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=steps, desc="fit", leave=False)
        n = X.shape[0]
        try:
            for s in range(steps):
                idx = None if batch == n else torch.randperm(n, generator=gen)[:batch]
                xb = X if idx is None else X[idx.to(X.device)]
                yb = Y if idx is None else Y[idx.to(Y.device)]
                if not _step(self, optimizer, objective, xb, yb, None):
                    warnings.warn(f"fit diverged at step {step0 + s} (non-finite loss or "
                                  "parameters); the model was rolled back to the last finite "
                                  "state and training stopped. Try a smaller lr.",
                                  FitDivergedWarning, stacklevel=4)
                    break
                rec = self._record(step0 + s, objective, Xt, Yt)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(train=f"{rec['train_rmse']:.2e}",
                                    test=f"{rec['test_rmse']:.2e}")
                if callback is not None and callback({**rec, "model": self}):
                    break
        finally:
            if isinstance(optimizer, LBFGS):
                optimizer.release()
            if bar is not None:
                bar.close()

    def _fit_data(self, data, y, X_test, y_test):
        X, Y, Xt, Yt, _ = unpack_data(data, y, X_test, y_test)
        kw = dict(dtype=self.dtype, device=self.device)
        X, Y = check_xy(X, Y, self.width[0], self.width[-1], **kw)
        if (Xt is None) != (Yt is None):
            raise ValueError("give both X_test and y_test, or neither")
        if Xt is not None:
            Xt, Yt = check_xy(Xt, Yt, self.width[0], self.width[-1], prefix="test ", **kw)
        self.X_fit_ = X
        return X, Y, Xt, Yt

    def _record(self, step, objective, Xt, Yt) -> dict:
        """One step of ``history_``, with ``KAN.fit``'s keys and meanings."""
        mse = objective.loss if objective.mse is None else objective.mse
        test_loss = test_rmse = math.nan
        if Xt is not None:
            with torch.no_grad():
                pred = self.net(Xt)
                test_loss = float(objective.loss_fn(pred, Yt))
                test_rmse = math.sqrt(float(torch.nn.functional.mse_loss(pred, Yt)))
        rec = {"step": step, "train_loss": float(objective.loss),
               "train_rmse": math.sqrt(float(mse)), "test_loss": test_loss,
               "test_rmse": test_rmse, "reg": 0.0}
        for key, v in rec.items():
            self.history_[key].append(v)
        return rec

    def __repr__(self) -> str:
        fitted = f", {len(self.history_['step'])} steps trained" if self.history_["step"] else ""
        return (f"MLP(width={self.width}, activation={self.activation!r}, "
                f"{self.n_params} parameters{fitted})")
