"""Checks at the API boundary: clear errors that say what was wrong and how to fix it."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import torch

from .mult import parse_mult_width

__all__ = ["check_width", "as_matrix", "check_xy", "unpack_data", "positional_thresholds",
           "check_int", "check_number", "check_dtype", "check_seed", "check_fit_args"]

_DTYPES = {"float32": torch.float32, "float": torch.float32, "single": torch.float32,
           "float64": torch.float64, "double": torch.float64, "float16": torch.float16,
           "half": torch.float16, "bfloat16": torch.bfloat16}


def check_int(name: str, v, low: int | None = None, high: int | None = None) -> int:
    """``v`` as a Python int (numpy and torch integers accepted; bools and floats refused with
    a ``ValueError`` that says the accepted range)."""
    if isinstance(v, torch.Tensor) and v.ndim == 0 and not v.is_floating_point():
        v = v.item()
    rng = ""
    if low is not None or high is not None:
        rng = (f" >= {low}" if high is None else f" in [{low}, {high}]") if low is not None \
            else f" <= {high}"
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ValueError(f"{name} must be an int{rng}; got {v!r} ({type(v).__name__})")
    v = int(v)
    if low is not None and v < low or high is not None and v > high:
        raise ValueError(f"{name} must be an int{rng}; got {v}")
    return v


def check_number(name: str, v, low: float | None = None, *, strict: bool = False,
                 high: float | None = None) -> float:
    """``v`` as a finite float, ``>= low`` (``> low`` with ``strict``) and ``<= high``."""
    if isinstance(v, torch.Tensor) and v.ndim == 0:
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {v!r} ({type(v).__name__})")
    v = float(v)
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a finite number; got {v}")
    if low is not None and (v <= low if strict else v < low):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {low:g}; got {v:g}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high:g}; got {v:g}")
    return v


def check_seed(seed) -> int:
    """A seed: an int in [0, 2**63) (numpy ints accepted)."""
    return check_int("seed", seed, 0, 2**63 - 1)


def check_dtype(dtype) -> torch.dtype:
    """A floating torch dtype from a torch dtype, a numpy dtype or a name like ``"float32"``."""
    if dtype is None:
        return torch.get_default_dtype()
    if isinstance(dtype, str):
        key = dtype.lower().removeprefix("torch.")
        if key not in _DTYPES:
            raise TypeError(f"unknown dtype {dtype!r}; use torch.float32 or torch.float64 (or "
                            "the strings 'float32', 'float64')")
        dtype = _DTYPES[key]
    elif not isinstance(dtype, torch.dtype):
        try:
            dtype = _DTYPES[np.dtype(dtype).name]
        except (TypeError, KeyError):
            raise TypeError(f"dtype must be a floating dtype like torch.float32; got "
                            f"{dtype!r}") from None
    if not dtype.is_floating_point or dtype.is_complex:
        raise TypeError(f"dtype must be a floating dtype like torch.float32; got {dtype}")
    return dtype


def check_fit_args(opt, steps, lr, batch, n, lambdas: dict, grid_args: dict):
    """Validated ``(opt name, steps, lr, batch)`` of ``fit``; ``lambdas`` and ``grid_args``
    are checked (finite numbers >= 0, ints). ``batch`` comes back as a sample count."""
    opt_name = str(opt).lower()
    if opt_name not in ("lbfgs", "adam"):
        raise ValueError(f"unknown optimizer {opt!r}: use opt='LBFGS' or opt='Adam'")
    steps = check_int("steps", steps, 0)
    # LBFGS scales its first step by lr and extrapolates from it: beyond ~1e3 the line search
    # overflows float32 before it can fail gracefully
    lr = check_number("lr", lr, 0.0, strict=True, high=1e3 if opt_name == "lbfgs" else None)
    batch = check_int("batch", batch)
    if batch == 0 or batch < -1:
        raise ValueError(f"batch must be -1 (all samples) or a sample count >= 1; got {batch}")
    batch = n if batch == -1 or batch > n else batch
    for name, v in lambdas.items():
        check_number(name, v, 0.0)
    for name, v in grid_args.items():
        check_int(name, v)
    return opt_name, steps, lr, batch


def check_width(width) -> list[int]:
    """Validate a KAN width list and return a fresh list of node counts per layer.

    Entries are ints (sum nodes) or, for hidden layers, pykan's ``[n_sum, n_mult]`` pairs
    (multiplication nodes; see ``core.mult``), counted as ``n_sum + n_mult`` nodes.
    """
    return [lay.n_nodes for lay in parse_mult_width(width)]


def as_matrix(a, name: str, *, n_cols: int | None = None, dtype=None, device=None,
              what: str = "columns", allow_empty: bool = False) -> torch.Tensor:
    """``a`` as a finite 2-D tensor ``(n_samples, n_cols)``; a 1-D array is one column.

    Any array-like is accepted: tensors of any memory layout (transposed, strided), numpy
    arrays (Fortran-ordered, read-only, integer), pandas objects, nested lists. The result
    is contiguous. ``allow_empty`` lets zero samples through (evaluation of an empty batch).
    """
    if hasattr(a, "to_numpy"):  # pandas
        a = a.to_numpy()
    if isinstance(a, torch.Tensor):
        t = a.detach()
    else:
        try:
            arr = np.array(a, dtype=np.float64)  # a copy: never alias (or warn on) read-only input
        except (TypeError, ValueError) as e:
            raise TypeError(f"{name} must be a numeric array or tensor; got {type(a).__name__}"
                            f" ({e})") from None
        t = torch.from_numpy(arr)
    if not (t.is_floating_point() or t.dtype in (torch.int8, torch.int16, torch.int32,
                                                  torch.int64, torch.uint8, torch.bool)):
        raise TypeError(f"{name} must hold real numbers; got dtype {t.dtype}")
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, {what}); got shape {tuple(t.shape)}")
    if t.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)}); give at least one sample")
    if n_cols is not None and t.shape[1] != n_cols:
        raise ValueError(
            f"{name} has {t.shape[1]} {what} but the model expects {n_cols}; "
            f"pass an array of shape (n_samples, {n_cols})"
        )
    src = t
    t = t.to(dtype=dtype or torch.get_default_dtype(), device=device).contiguous()
    bad = ~torch.isfinite(t)
    if bad.any():
        rows = torch.nonzero(bad.any(dim=1)).flatten()
        if not src.is_floating_point() or bool(torch.isfinite(src).all()):
            raise ValueError(
                f"{name} holds values too large for {t.dtype} (largest magnitude "
                f"{float(src.abs().max()):.3g}, rows {rows[:5].tolist()}); rescale the data "
                "or build the model with dtype=torch.float64")
        kind = "NaN" if torch.isnan(t).any() else "inf"
        raise ValueError(
            f"{name} contains {kind} values in {len(rows)} row(s) (first: {rows[:5].tolist()}); "
            "drop or impute those rows before fitting"
        )
    return t


def check_xy(X, y, n_in: int, n_out: int, *, dtype=None, device=None, prefix=""):
    """Validate a pair ``X (n, n_in)``, ``y (n, n_out)`` and return them as tensors."""
    X = as_matrix(X, f"{prefix}X", n_cols=n_in, dtype=dtype, device=device, what="input columns")
    y = as_matrix(y, f"{prefix}y", n_cols=n_out, dtype=dtype, device=device, what="output columns")
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{prefix}X has {X.shape[0]} samples but {prefix}y has {y.shape[0]}; "
            "they must have the same number of rows"
        )
    return X, y


def unpack_data(data, y=None, X_test=None, y_test=None):
    """Accept a ``Dataset``, a pykan-style dict, or arrays; return (X, y, X_test, y_test, names).

    ``names`` is ``(input names, output names)`` when the data carries them, else ``None``.
    """
    names = None
    if y is None and hasattr(data, "X_train"):
        names = (list(data.variables), list(getattr(data, "outputs", []) or []))
        return data.X_train, data.y_train, data.X_test, data.y_test, names
    if y is None and isinstance(data, dict):
        try:
            return (data["train_input"], data["train_label"], data.get("test_input"),
                    data.get("test_label"), None)
        except KeyError:
            raise ValueError("a data dict needs keys 'train_input' and 'train_label' "
                             "(and optionally 'test_input', 'test_label')") from None
    if y is None:
        raise TypeError("fit(X, y): y is missing; pass fit(X, y) or fit(dataset)")
    if hasattr(data, "columns"):  # a DataFrame keeps its column names
        names = ([str(c) for c in data.columns], None)
    return data, y, X_test, y_test, names


def positional_thresholds(where, args, order, given):
    """Thresholds passed positionally (deprecated): map ``args`` onto ``order`` with a
    ``DeprecationWarning``; a positional value overrides the keyword's default.

    Returns the values of ``order``, in that order, from ``given`` updated by ``args``.
    """
    if len(args) > len(order):
        raise TypeError(f"{where} takes at most {len(order)} positional thresholds "
                        f"({', '.join(order)}); pass them by keyword")
    if args:
        warnings.warn(f"{where}: pass thresholds by keyword ("
                      + ", ".join(f"{n}=..." for n in order) + "); positional thresholds "
                      "are deprecated", DeprecationWarning, stacklevel=3)
        given = {**given, **dict(zip(order, args))}
    return tuple(given[n] for n in order)


def integer_labels(y) -> bool:
    """Whether ``y`` is one column of integers (numpy/torch integer dtype): class labels."""
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    dtype = getattr(y, "dtype", None)
    if dtype is None:
        return False
    is_int = (not dtype.is_floating_point and dtype != torch.bool) if isinstance(dtype, torch.dtype) \
        else np.issubdtype(dtype, np.integer)
    shape = tuple(y.shape)
    return bool(is_int) and (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1))


def check_labels(y, n_out: int, n_rows: int, *, device=None, prefix="") -> torch.Tensor:
    """Class labels for a model with ``n_out`` outputs as a (n,) long tensor.

    ``y``: (n,) or (n, 1), integer-valued (ints, or floats like 0.0 / 1.0, or bools), in
    ``0 .. C-1`` with ``C = n_out`` (``C = 2`` for one output, a binary logit).
    """
    t = as_matrix(y, f"{prefix}y", dtype=torch.float64, what="label columns")
    if t.shape[1] != 1:
        raise ValueError(f"{prefix}y must be one column of class labels (n,) for "
                         f"loss='cross_entropy'; got shape {tuple(t.shape)} (one-hot labels? "
                         "pass y.argmax(1))")
    if t.shape[0] != n_rows:
        raise ValueError(f"{prefix}X has {n_rows} samples but {prefix}y has {t.shape[0]}; "
                         "they must have the same number of rows")
    t = t[:, 0]
    n_classes = max(2, n_out)
    if not bool((t == t.round()).all()):
        raise ValueError(f"{prefix}y must hold integer class labels 0..{n_classes - 1} for "
                         "loss='cross_entropy'; it holds non-integer values (regression "
                         "targets? use loss='mse')")
    lo, hi = int(t.min()), int(t.max())
    if lo < 0 or hi >= n_classes:
        raise ValueError(
            f"{prefix}y holds class labels {lo}..{hi} but the model has {n_out} output(s), for "
            f"classes 0..{n_classes - 1}" + ("" if lo < 0 else
                                               f": build the model with width[-1] = {hi + 1}")
            + ("" if lo >= 0 else ": number the classes from 0"))
    return t.to(device=device, dtype=torch.long)
