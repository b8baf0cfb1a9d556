"""Tests of a function's structure (pykan's ``hypothesis`` module, on exact derivatives).

``f`` is a trained ``KAN`` or a torch function of samples ``X (n, d)``; see
``derivatives.as_function``. Each test returns a ``StructureTest``: the measured statistic,
the tolerance, the verdict (``bool(result)``) and the per-pair statistics behind it.

pykan's names: ``test_separability(model, x, groups, mode)`` is ``separability``,
``test_general_separability`` is ``generalized_separability``, ``test_symmetry`` is
``symmetry``, ``detect_separability`` is ``detect_separability``; ``threshold`` /
``dependence_th`` is ``tol``. Differences: the statistics are scale-free (a function times
1000 gets the same verdict), the multiplicative test does not divide by ``f``, and the
generalized test also checks that ``f_a / f_b`` does not depend on a third group and that
each group enters through one combination (pykan's test lets ``sin(x*y*z + w)`` pass as
``F(g(x) + h(y, z, w))``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from . import statistics as st
from .derivatives import as_function, derivatives

__all__ = ["StructureTest", "separability", "generalized_separability", "symmetry",
           "detect_separability"]

_KINDS = {"add": "additive separability", "mul": "multiplicative separability",
          "generalized": "generalized separability", "symmetry": "symmetry"}


@dataclass(frozen=True)
class StructureTest:
    """The result of one structure test.

    Attributes
    ----------
    kind : ``"add"``, ``"mul"``, ``"generalized"`` or ``"symmetry"``
    groups : tuple of tuples of input indices (for symmetry: the group, then the rest)
    names : input names
    statistic : float, the largest violation measured (0 = exactly separable / symmetric)
    tol : float, the tolerance it was compared with
    passed : bool, ``statistic <= tol`` (also ``bool(result)``)
    pairs : (d, d) numpy array of the per-pair statistic (additive, multiplicative), else None
    """

    kind: str
    groups: tuple
    names: tuple
    statistic: float
    tol: float
    passed: bool
    pairs: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.passed

    def group_names(self) -> list[list[str]]:
        return [[self.names[i] for i in g] for g in self.groups]

    def __repr__(self) -> str:
        groups = " | ".join("(" + ", ".join(g) + ")" for g in self.group_names())
        if len(self.groups) == 1:  # detect_separability found no split
            return f"{_KINDS[self.kind].capitalize()}: none found among {groups} (tol {self.tol:g})"
        verdict = "yes" if self.passed else "no"
        cmp = "<=" if self.passed else ">"
        return (f"{_KINDS[self.kind].capitalize()} of {groups}: {verdict} (statistic "
                f"{self.statistic:.3g} {cmp} tol {self.tol:g})")


def _check_tol(tol) -> float:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol > 0 \
            or tol != tol or tol == float("inf"):
        raise ValueError(f"tol must be a positive finite number, like 1e-2; got {tol!r}")
    return float(tol)


def _index(v, names, d, where):
    if isinstance(v, str):
        if v not in names:
            raise ValueError(f"{where}: unknown input {v!r}; inputs are {names}")
        return names.index(v)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{where}: {v!r} is not an input index (an int) or name")
    if not 0 <= int(v) < d:
        raise ValueError(f"{where}: input {v} is out of range; f has {d} inputs, 0..{d - 1}")
    return int(v)


def check_group(group, names, d, where="group") -> list[int]:
    """One group: a non-empty list of distinct input indices (or names)."""
    if isinstance(group, (str, bytes)) or not hasattr(group, "__iter__"):
        raise TypeError(f"{where} must be a list of input indices like [0, 1]; got {group!r}")
    out = [_index(v, names, d, where) for v in group]
    if not out:
        raise ValueError(f"{where} is empty; list the inputs it holds, like [0, 1]")
    if len(set(out)) != len(out):
        raise ValueError(f"{where} = {list(group)!r} names an input twice")
    return sorted(out)


def check_groups(groups, names, d) -> list[list[int]]:
    """A list of disjoint groups; the inputs in none of them become one more group."""
    if isinstance(groups, (str, bytes)) or not hasattr(groups, "__iter__"):
        raise TypeError(f"groups must be a list of lists of input indices like [[0], [1, 2]]; "
                        f"got {groups!r}")
    groups = list(groups)
    if groups and all(isinstance(g, (numbers.Integral, str)) for g in groups):
        raise TypeError(f"groups must be a list of lists, like [[0], [1, 2]]; got {groups!r} "
                        f"(for one group against the rest write [{groups!r}])")
    out = [check_group(g, names, d, f"groups[{k}]") for k, g in enumerate(groups)]
    seen: dict[int, int] = {}
    for k, g in enumerate(out):
        for v in g:
            if v in seen:
                raise ValueError(f"groups overlap: input {v} ({names[v]}) is in groups[{seen[v]}]"
                                 f" and groups[{k}]; each input may be in one group only")
            seen[v] = k
    rest = [v for v in range(d) if v not in seen]
    if rest:
        out.append(rest)
    if len(out) < 2:
        raise ValueError(f"groups {groups!r} put every input in one group: nothing to separate; "
                         "give at least two groups, or leave inputs out (they form one more "
                         "group)")
    return out


def _result(kind, groups, sf, stat, tol, pairs=None):
    return StructureTest(kind, tuple(tuple(g) for g in groups), tuple(sf.names), float(stat),
                         tol, bool(stat <= tol), None if pairs is None else pairs.cpu().numpy())


def separability(f, X, groups, mode="add", tol=1e-2, bias=0.0, output=None, names=None):
    """Whether ``f`` is additively (``mode="add"``: ``f = u(x_A) + v(x_B) + ...``) or
    multiplicatively (``mode="mul"``: ``f = u(x_A) * v(x_B) * ...``) separable into the
    groups of inputs ``groups``, measured at the samples ``X``.

    Parameters
    ----------
    f : KAN or callable, torch function of ``X`` (n, d) returning (n,), (n, 1) or (n, m)
    X : (n, d) samples, array or tensor, spread over the inputs' ranges (n >= 3)
    groups : list of lists of input indices (or names), disjoint; inputs in none of them
        form one more group: ``[[0]]`` tests input 0 against all the others
    mode : ``"add"`` or ``"mul"``
    tol : largest statistic still counted as separable
    bias : for ``"mul"``, test ``f + bias`` (pykan's ``bias``)
    output : the output column when ``f`` has several
    names : input names for the repr (default: the model's, else x1, x2, ...)

    Returns
    -------
    StructureTest; ``statistic`` is the largest pair statistic across groups.
    """
    if mode not in ("add", "mul"):
        raise ValueError(f"mode must be 'add' or 'mul'; got {mode!r}")
    tol = _check_tol(tol)
    sf, X = as_function(f, X, output, names)
    groups = check_groups(groups, sf.names, sf.d)
    D = derivatives(sf, X, 2)
    if mode == "add":
        pairs = st.additive_matrix(D, st.spreads(X))
    else:
        pairs = st.multiplicative_matrix(D, float(bias))
    return _result(mode, groups, sf, st.cross_max(pairs, groups), tol, pairs)


def detect_separability(f, X, mode="add", tol=1e-2, bias=0.0, output=None, names=None):
    """The finest grouping of the inputs in which ``f`` is separable (``mode`` "add" or
    "mul"): inputs linked by a pair statistic above ``tol`` share a group. ``passed`` says
    whether there are at least two groups; ``statistic`` is the largest pair statistic
    across them (0 with one group)."""
    if mode not in ("add", "mul"):
        raise ValueError(f"mode must be 'add' or 'mul'; got {mode!r}")
    tol = _check_tol(tol)
    sf, X = as_function(f, X, output, names)
    D = derivatives(sf, X, 2)
    pairs = (st.additive_matrix(D, st.spreads(X)) if mode == "add"
             else st.multiplicative_matrix(D, float(bias)))
    groups = st.components(pairs, range(sf.d), tol)
    stat = st.cross_max(pairs, groups)
    res = _result(mode, groups, sf, stat, tol, pairs)
    return StructureTest(res.kind, res.groups, res.names, res.statistic, tol, len(groups) > 1,
                         res.pairs)


def generalized_separability(f, X, groups, tol=1e-2, output=None, names=None):
    """Whether ``f = F(g_1(x_A) + g_2(x_B) + ...)`` for some functions ``F, g_k`` (pykan's
    generalized separability; sums and products are special cases), for the groups of
    inputs ``groups`` (as in ``separability``). Uses third derivatives: ``f`` must be
    three times differentiable (a KAN with ``k >= 3``)."""
    tol = _check_tol(tol)
    sf, X = as_function(f, X, output, names)
    groups = check_groups(groups, sf.names, sf.d)
    D = derivatives(sf, X, 3)
    s = st.spreads(X)
    first, mixed = st.generalized_tensors(D, s)
    stat = st.generalized_statistic(first, mixed, st.angle_tensor(D, s), groups)
    return _result("generalized", groups, sf, stat, tol)


def symmetry(f, X, group, tol=1e-2, output=None, names=None):
    """Whether ``f`` depends on the inputs of ``group`` only through one combination
    ``h(x_group)`` (pykan's ``test_symmetry``): ``f(x^2 + y^2, z)`` is symmetric in
    ``[x, y]``. The direction of the gradient restricted to the group must not change with
    the other inputs. A group of all inputs, or of one, is symmetric (statistic 0)."""
    tol = _check_tol(tol)
    sf, X = as_function(f, X, output, names)
    group = check_group(group, sf.names, sf.d)
    rest = [v for v in range(sf.d) if v not in group]
    groups = [group] + ([rest] if rest else [])
    if not rest or len(group) == 1:
        return _result("symmetry", groups, sf, 0.0, tol)
    D = derivatives(sf, X, 2)
    angles = st.angle_tensor(D, st.spreads(X))
    stat = float(angles[group][:, group][:, :, rest].max())
    return _result("symmetry", groups, sf, stat, tol)
