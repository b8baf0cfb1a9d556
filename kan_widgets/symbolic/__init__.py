"""Formulas from KANs (sympy): extraction, rounding, LaTeX, export, user functions.

``parse_formula(text)`` reads formula text safely (an ``ast`` whitelist, never ``eval``).
``formula(model)`` turns a model whose live edges are all symbolic into one sympy expression
per output; ``latex`` prints them; ``to_callable`` and ``to_source`` export them to numpy,
torch or plain Python; ``compile_formula`` builds the KAN that computes a formula;
``register_function`` adds a function to the library on both the torch and the sympy side.
"""

from .compiler import compile_formula
from .export import to_callable, to_source
from .formula import clean, formula, latex, round_numbers, snap_constants
from .parse import parse_formula
from .sympy_functions import SYMPY_FUNCTIONS, register_function, sympy_function

__all__ = ["formula", "latex", "to_callable", "to_source", "register_function", "round_numbers",
           "snap_constants", "clean", "sympy_function", "SYMPY_FUNCTIONS", "parse_formula",
           "compile_formula"]
