"""Datasets: train/test tensors plus variable names, from a function, a formula, arrays or a
DataFrame. Every constructor is seeded and returns a ``Dataset``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import torch

from .core.validation import as_matrix

__all__ = ["Dataset", "from_function", "from_formula", "from_arrays", "from_dataframe"]


@dataclass
class Dataset:
    """Train and test splits with names.

    Attributes
    ----------
    X_train : (n_train, n_var) tensor
    y_train : (n_train, n_out) tensor
    X_test : (n_test, n_var) tensor
    y_test : (n_test, n_out) tensor
    variables : input names, one per column of X
    outputs : output names, one per column of y
    """

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    variables: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def n_var(self) -> int:
        return self.X_train.shape[1]

    def as_dict(self) -> dict:
        """pykan's dataset dict (``train_input``, ``train_label``, ``test_input``, ``test_label``)."""
        return {"train_input": self.X_train, "train_label": self.y_train,
                "test_input": self.X_test, "test_label": self.y_test}

    def __repr__(self) -> str:
        return (f"Dataset(variables={self.variables}, outputs={self.outputs}, "
                f"n_train={len(self.X_train)}, n_test={len(self.X_test)})")


def _ranges(ranges, n_var: int) -> list[tuple[float, float]]:
    r = np.asarray(ranges, dtype=float)
    if r.shape == (2,):
        r = np.tile(r, (n_var, 1))
    if r.shape != (n_var, 2):
        raise ValueError(f"ranges must be (low, high) or one (low, high) per variable "
                         f"({n_var} of them); got {ranges!r}")
    if not (r[:, 0] < r[:, 1]).all():
        raise ValueError(f"every range needs low < high; got {ranges!r}")
    return [tuple(v) for v in r]


def _as_outputs(y, n: int, where: str) -> torch.Tensor:
    y = torch.as_tensor(y)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != n:
        raise ValueError(f"{where} must return shape (n,) or (n, n_out) for n = {n} inputs; "
                         f"got {tuple(y.shape)}")
    return y


def from_function(f, n_var: int, ranges=(-1.0, 1.0), n_train=1000, n_test=1000, seed=0,
                  noise=0.0, variables=None, dtype=None) -> Dataset:
    """Sample ``y = f(X)`` with X uniform in ``ranges``.

    Parameters
    ----------
    f : callable taking an ``(N, n_var)`` tensor, returning ``(N,)`` or ``(N, n_out)``
    n_var : number of input variables
    ranges : (low, high) for all variables, or one pair per variable
    noise : standard deviation of Gaussian noise added to the training *and* test targets,
        relative to the std of y
    variables : names, default ``x_1 .. x_n``
    """
    if isinstance(n_var, bool) or not isinstance(n_var, int) or n_var < 1:
        raise ValueError(f"n_var must be an int >= 1; got {n_var!r}")
    rng = _ranges(ranges, n_var)
    dtype = dtype or torch.get_default_dtype()
    gen = torch.Generator().manual_seed(int(seed))
    lo = torch.tensor([r[0] for r in rng], dtype=dtype)
    hi = torch.tensor([r[1] for r in rng], dtype=dtype)

    def sample(n):
        X = lo + (hi - lo) * torch.rand(n, n_var, generator=gen, dtype=dtype)
        y = _as_outputs(f(X), n, "f").to(dtype)
        if noise:
            y = y + noise * y.std() * torch.randn(y.shape, generator=gen, dtype=dtype)
        return X, y

    X, y = sample(n_train)
    Xt, yt = sample(n_test)
    if not (torch.isfinite(y).all() and torch.isfinite(yt).all()):
        raise ValueError("f returned NaN or inf on the sampled inputs; narrow `ranges` to the "
                         "function's domain")
    names = list(variables) if variables is not None else [f"x_{i + 1}" for i in range(n_var)]
    if len(names) != n_var:
        raise ValueError(f"{len(names)} variable names for {n_var} variables")
    return Dataset(X, y, Xt, yt, names, [f"y_{i + 1}" if y.shape[1] > 1 else "y"
                                         for i in range(y.shape[1])])


def from_formula(expr: str, ranges=(-1.0, 1.0), n_train=1000, n_test=1000, seed=0, noise=0.0,
                 variables=None, dtype=None) -> Dataset:
    """Sample a formula given as text, e.g. ``"exp(sin(pi*x) + y**2)"``.

    Variables are read from the expression in alphabetical order unless ``variables`` gives
    the order. ``^`` is read as a power. The text is read by the safe formula reader
    (``kan_widgets.symbolic.parse``): numbers, variables, ``+ - * / ** ^``, ``pi``, ``E``
    and calls of known functions (``sin``, ``exp``, ``log``, ``sqrt`` ...); it is never
    evaluated as Python, and anything else raises ``ValueError``.
    """
    import sympy  # only this constructor needs sympy

    from .symbolic.parse import parse_formula

    if not isinstance(expr, str):
        raise TypeError(f"from_formula takes the formula as a str; got {type(expr).__name__} "
                        "(use from_function for a callable)")
    sexpr = parse_formula(expr, caret_power=True)
    syms = sorted(sexpr.free_symbols, key=lambda s: s.name)
    if variables is not None:
        variables = [str(v) for v in variables]
        if len(set(variables)) != len(variables):
            dup = sorted({v for v in variables if variables.count(v) > 1})
            raise ValueError(f"variables lists {dup} more than once; name each column once")
        by_name = {s.name: s for s in syms}
        unknown = set(by_name) - set(variables)
        if unknown:
            raise ValueError(f"formula uses {sorted(unknown)} not listed in variables={variables}")
        syms = [by_name.get(v, sympy.Symbol(v)) for v in variables]
    if not syms:
        raise ValueError(f"formula {expr!r} has no variables")
    fn = sympy.lambdify(syms, sexpr, modules="numpy")

    def f(X):
        cols = [X[:, i].numpy() for i in range(X.shape[1])]
        return torch.as_tensor(np.broadcast_to(fn(*cols), (X.shape[0],)).astype(float))

    ds = from_function(f, len(syms), ranges, n_train, n_test, seed, noise,
                       [s.name for s in syms], dtype)
    ds.outputs = [re.sub(r"\s+", "", str(sexpr))]
    return ds


def _split(X, y, test_size, seed):
    n = X.shape[0]
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1); got {test_size}")
    n_test = max(1, int(round(n * test_size)))
    if n - n_test < 1:
        raise ValueError(f"{n} samples are too few to split off a test set")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    return X[perm[n_test:]], y[perm[n_test:]], X[perm[:n_test]], y[perm[:n_test]]


def from_arrays(X, y, X_test=None, y_test=None, test_size=0.2, seed=0, variables=None,
                outputs=None, dtype=None) -> Dataset:
    """Wrap arrays. Without ``X_test``/``y_test`` a seeded ``test_size`` split is made."""
    X = as_matrix(X, "X", dtype=dtype, what="input columns")
    y = as_matrix(y, "y", dtype=dtype, what="output columns")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}")
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    if X_test is None:
        X, y, Xt, yt = _split(X, y, test_size, seed)
    else:
        Xt = as_matrix(X_test, "X_test", n_cols=X.shape[1], dtype=dtype, what="input columns")
        yt = as_matrix(y_test, "y_test", n_cols=y.shape[1], dtype=dtype, what="output columns")
    names = list(variables) if variables is not None else [f"x_{i + 1}" for i in range(X.shape[1])]
    outs = list(outputs) if outputs is not None else (
        ["y"] if y.shape[1] == 1 else [f"y_{i + 1}" for i in range(y.shape[1])])
    if len(names) != X.shape[1] or len(outs) != y.shape[1]:
        raise ValueError(f"names do not match the columns: {len(names)} variables for "
                         f"{X.shape[1]} columns, {len(outs)} outputs for {y.shape[1]}")
    return Dataset(X, y, Xt, yt, names, outs)


def from_dataframe(df, target, features=None, test_size=0.2, seed=0, dtype=None) -> Dataset:
    """A pandas DataFrame with named columns; ``target`` is a column name or a list of them.

    The column names become the variable names, so formulas read in your own terms.
    """
    targets = [target] if isinstance(target, str) else list(target)
    missing = [c for c in targets if c not in df.columns]
    if missing:
        raise KeyError(f"target column(s) {missing} not in the DataFrame; columns are "
                       f"{list(df.columns)}")
    feats = list(features) if features is not None else [c for c in df.columns
                                                          if c not in targets]
    missing = [c for c in feats if c not in df.columns]
    if missing:
        raise KeyError(f"feature column(s) {missing} not in the DataFrame")
    bad = [c for c in feats + targets if not np.issubdtype(df[c].dtype, np.number)]
    if bad:
        raise TypeError(f"column(s) {bad} are not numeric; encode or drop them first")
    return from_arrays(df[feats].to_numpy(float), df[targets].to_numpy(float),
                       test_size=test_size, seed=seed, variables=[str(c) for c in feats],
                       outputs=[str(c) for c in targets], dtype=dtype)
