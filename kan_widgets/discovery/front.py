"""``Candidate`` (one formula with its model and history) and ``Front`` (the candidates that
no simpler one beats, as PySR's hall of fame)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Candidate", "Front"]


@dataclass
class Candidate:
    """One discovered formula.

    Attributes
    ----------
    formula : sympy expression in the user's variable names
    error : test error, RMSE on the test data divided by the spread (std) of the test target
        (0 is exact, 1 is no better than the mean)
    train_error : the same on the training data
    complexity : number of nodes of the sympy expression tree (see ``polish.complexity``)
    model : the KAN it came from, fully symbolic; it works in the candidate's *view*: open it
        with ``Explorer(candidate.model, candidate.data)``
    data : the data in that view (inputs scaled to [-1, 1], ``log`` taken in the log view)
    view : "linear" or "log"
    width : the model's width when it was created
    steps : what was done to make it, in order (plain sentences)
    below_threshold : some edge had no library function with r2 over the threshold, and the
        best available one was used (the error shows what that cost)
    seconds : wall time spent on it
    """

    formula: object
    error: float
    train_error: float
    complexity: int
    model: object = field(repr=False)
    data: object = field(repr=False)
    view: str = "linear"
    width: list = field(default_factory=list)
    steps: list = field(default_factory=list, repr=False)
    below_threshold: bool = False
    seconds: float = 0.0

    def __str__(self) -> str:
        return str(self.formula)

    def _repr_latex_(self):
        import sympy as sp

        return f"${sp.latex(self.formula)}$"


class Front:
    """Candidates on the accuracy/complexity front, simplest first.

    ``front[i]`` and iteration go over ``candidates`` (each strictly more accurate than every
    simpler one); ``all`` holds every candidate made, best error first; ``best`` is the
    simplest candidate whose error is within 1.5x (plus 1e-6) of the smallest error, the
    choice PySR calls "best" in spirit: beyond it extra complexity buys little.
    ``interrupted`` says the run was stopped early (Ctrl-C or a callback).
    """

    def __init__(self, target="y", variables=()):
        self.target, self.variables = target, list(variables)
        self.all: list[Candidate] = []
        self.interrupted = False
        self.seconds = 0.0

    def add(self, cand: Candidate):
        self.all.append(cand)
        self.all.sort(key=lambda c: (c.error, c.complexity))

    @property
    def candidates(self) -> list[Candidate]:
        out, seen = [], set()
        for c in sorted(self.all, key=lambda c: (c.complexity, c.error)):
            key = str(c.formula)
            if key in seen:
                continue
            seen.add(key)
            if not out or c.error < out[-1].error:
                out.append(c)
        return out

    @property
    def best(self) -> Candidate | None:
        cands = self.candidates
        if not cands:
            return None
        low = min(c.error for c in cands)
        return next(c for c in cands if c.error <= 1.5 * low + 1e-6)

    def __len__(self):
        return len(self.candidates)

    def __iter__(self):
        return iter(self.candidates)

    def __getitem__(self, i):
        return self.candidates[i]

    def to_dataframe(self):
        """The front as a pandas DataFrame (pandas must be installed)."""
        import pandas as pd

        return pd.DataFrame([{"complexity": c.complexity, "error": c.error,
                              "formula": str(c.formula), "view": c.view, "width": c.width,
                              "below_threshold": c.below_threshold, "seconds": c.seconds}
                             for c in self.candidates])

    def __repr__(self) -> str:
        head = (f"Front: {len(self)} candidate(s) for {self.target} = f("
                f"{', '.join(self.variables)}) from {len(self.all)} tried in "
                f"{self.seconds:.1f} s" + (" (interrupted)" if self.interrupted else ""))
        best = self.best
        rows = [head, f"  {'#':>2} {'complexity':>10} {'test error':>11}  formula"]
        for k, c in enumerate(self.candidates):
            err = f"{c.error:.3e}" if math.isfinite(c.error) else "inf"
            mark = "*" if c is best else " "
            text = str(c.formula)
            text = text if len(text) <= 90 else text[:87] + "..."
            rows.append(f"{mark} {k:>2} {c.complexity:>10} {err:>11}  {text}")
        if best is not None:
            rows.append("  * best (front.best); error: test RMSE / std of the target")
        return "\n".join(rows)
