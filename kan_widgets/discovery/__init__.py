"""Discovery: from a table of data to a front of candidate formulas (``discover``).

Sits above ``core`` and ``symbolic`` (it needs sympy for formulas) and uses the top-level
``datasets``; it never imports ``explore`` or ``widgets``.
"""

from .front import Candidate, Front
from .search import discover, plan

__all__ = ["discover", "Front", "Candidate", "plan"]
