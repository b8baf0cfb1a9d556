"""The one reader of formula text: Python's ``ast`` with a whitelist, never ``eval``.

Every place where text becomes a formula goes through :func:`parse_formula`:
``datasets.from_formula``, ``register_function`` given a str, the user-function definitions
that ``KAN.load`` rebuilds, and the sympy side of the built-in library (its entries are
source text in ``x``). ``sympy.sympify`` and ``parse_expr`` are never called on text: both
evaluate Python, so a model file or a typed formula could run code.

What is accepted
----------------
- numbers: ``int`` and ``float`` literals (no complex, no strings, no ``True``/``None``)
- names: the allowed variables, and the constants ``pi`` and ``E``
- ``+ - * / **`` and unary ``+ -``
- calls, with positional arguments only, of the functions in :data:`FUNCTIONS`
  (``sin``, ``exp``, ``log``, ``sqrt``, ``Abs``/``abs``, ``asin``/``arcsin`` ...) and of
  the extra functions a caller passes (the library names ``sgn``, ``gaussian``, ...)
- a few special functions (``symbolic.special``): ``erf``, ``erfc``, ``gamma``,
  ``loggamma``, and ``besselj``, ``bessely``, ``besseli``, ``besselk`` whose first argument
  is an integer order (a literal, ``|n| <= 100``): ``besselj(0, 20*x)``

Anything else (attributes, subscripts, lambdas, comprehensions, keywords, unknown names,
``__import__(...)``) raises ``ValueError`` naming the part and its column. The expression is
built node by node from the tree. Size is bounded so no input hangs: at most ``max_length``
characters, nesting at most ``MAX_DEPTH`` deep, exact numbers at most ``MAX_BITS`` bits and
numeric exponents at most ``MAX_EXPONENT`` in size (``9**9**9`` is refused at once).
"""

from __future__ import annotations

import ast
import math
import numbers
from collections.abc import Callable, Iterable, Mapping

import sympy as sp

from .special import MAX_ORDER, ORDERED, SPECIAL_FUNCTIONS

__all__ = ["parse_formula", "as_expression", "FUNCTIONS", "CONSTANTS", "MAX_LENGTH", "MAX_DEPTH", "MAX_BITS",
           "MAX_EXPONENT"]

MAX_LENGTH = 10_000  # characters of text
MAX_DEPTH = 100  # nested calls, powers and unary signs (sums and products are flattened)
MAX_BITS = 4096  # size of an exact integer or of a fraction's numerator/denominator
MAX_EXPONENT = 1000  # |numeric exponent|: x**1000 is fine, x**10**6 is not a formula

CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}

# name -> (sympy function, accepted numbers of arguments)
FUNCTIONS: dict[str, tuple[Callable, tuple[int, ...]]] = {
    **{n: (getattr(sp, n), (1,)) for n in (
        "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "acot", "sinh", "cosh",
        "tanh", "coth", "asinh", "acosh", "atanh", "exp", "sqrt", "cbrt", "Abs", "sign", "erf",
        "erfc", "floor", "ceiling")},
    "abs": (sp.Abs, (1,)),
    "log": (sp.log, (1, 2)),
    "atan2": (sp.atan2, (2,)),
    "arcsin": (sp.asin, (1,)),
    "arccos": (sp.acos, (1,)),
    "arctan": (sp.atan, (1,)),
    "arcsinh": (sp.asinh, (1,)),
    "arccosh": (sp.acosh, (1,)),
    "arctanh": (sp.atanh, (1,)),
    **{n: (fn, (2,) if n in ORDERED else (1,)) for n, fn in SPECIAL_FUNCTIONS.items()},
}

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_NOT_FINITE = (sp.zoo, sp.oo, -sp.oo, sp.nan)


class _Builder:
    """Builds a sympy expression from a whitelisted ``ast`` tree (see the module doc)."""

    def __init__(self, text, variables, functions):
        self.text = text
        self.variables = variables  # name -> Symbol, or None: any other name is a variable
        self.functions = functions

    # ------------------------------------------------------------------ errors
    def fail(self, node, why):
        part = ast.get_source_segment(self.text, node) or type(node).__name__
        if len(part) > 60:
            part = part[:57] + "..."
        col = getattr(node, "col_offset", None)
        where = f" at column {col + 1}" if col is not None else ""
        raise ValueError(f"cannot read formula {_short(self.text)!r}: {why}: {part!r}{where}")

    # ------------------------------------------------------------------ nodes
    def build(self, node, depth=0):
        if depth > MAX_DEPTH:
            self.fail(node, f"nested more than {MAX_DEPTH} deep")
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            value = self.build(node.operand, depth + 1)
            return self.checked(node, lambda: -value if isinstance(node.op, ast.USub) else value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return self.binop(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        what = {ast.Attribute: "attribute access", ast.Subscript: "indexing",
                ast.Lambda: "a lambda", ast.Compare: "a comparison", ast.BoolOp: "and/or",
                ast.IfExp: "if/else", ast.BinOp: "an operator other than + - * / **",
                ast.UnaryOp: "an operator other than unary + -"}.get(type(node))
        if what is None and isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp,
                                              ast.GeneratorExp)):
            what = "a comprehension"
        self.fail(node, f"{what or type(node).__name__} is not allowed in a formula")

    def number(self, node):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(node, "only int and float numbers are allowed")
        if isinstance(v, int):
            if v.bit_length() > MAX_BITS:
                self.fail(node, f"number larger than {MAX_BITS} bits")
            return sp.Integer(v)
        if not math.isfinite(v):
            self.fail(node, "number out of range")
        # from the literal text, so '0.1' keeps its decimal digits as sympify would
        literal = (ast.get_source_segment(self.text, node) or repr(v)).replace("_", "")
        return sp.Float(literal)

    def name(self, node):
        n = node.id
        if self.variables is not None and n in self.variables:
            return self.variables[n]
        if n in CONSTANTS:
            return CONSTANTS[n]
        if n in self.functions:
            self.fail(node, f"{n} is a function; call it, e.g. {n}(x)")
        if self.variables is None and not n.startswith("__"):
            return sp.Symbol(n)
        allowed = sorted(self.variables or ())
        self.fail(node, f"unknown name (allowed variables: {', '.join(allowed) or 'none'}; "
                        f"constants: {', '.join(CONSTANTS)})")

    def operands(self, node, ops, depth):
        """Flatten a left-leaning chain of ``ops`` (``a + b - c`` ...) into (op, operand)
        pairs, so a long sum costs no recursion depth."""
        chain = []
        while isinstance(node, ast.BinOp) and type(node.op) in ops:
            chain.append((node.op, node.right))
            node = node.left
        chain.append((None, node))
        return [(op, self.build(n, depth + 1), n) for op, n in reversed(chain)]

    def binop(self, node, depth):
        if isinstance(node.op, ast.Pow):
            base = self.build(node.left, depth + 1)
            exp = self.build(node.right, depth + 1)
            self.check_power(node, base, exp)
            return self.checked(node, lambda: base**exp)
        ops = (ast.Add, ast.Sub) if isinstance(node.op, (ast.Add, ast.Sub)) else (ast.Mult, ast.Div)
        items = self.operands(node, ops, depth)
        terms = []
        for op, value, sub in items:
            if isinstance(op, ast.Sub):
                value = -value
            elif isinstance(op, ast.Div):
                if value == 0:
                    self.fail(sub, "division by zero")
                value = 1 / value
            terms.append(value)
        combine = sp.Add if ops[0] is ast.Add else sp.Mul
        return self.checked(node, lambda: combine(*terms))

    def check_power(self, node, base, exp):
        """Refuse, before sympy computes it, a power whose exact value would be huge."""
        if not exp.is_number:
            return
        try:
            size = sp.Abs(exp)
            if base in (0, 1, -1):
                if base == 0 and bool(sp.re(exp) < 0):
                    self.fail(node, "division by zero (0 to a negative power)")
                return
            if base.is_Rational:  # computed exactly: bound the size of the result
                bits = max(int(base.p).bit_length(), int(base.q).bit_length())
                if bool(bits * size > MAX_BITS):
                    self.fail(node, f"power with more than {MAX_BITS} bits")
            elif bool(size > MAX_EXPONENT):  # (2*x)**n distributes: 2**n is computed too
                self.fail(node, f"exponent larger than {MAX_EXPONENT}")
        except TypeError:  # an undecidable comparison (an infinite or undefined exponent)
            self.fail(node, "the exponent is not a finite number")

    def call(self, node, depth):
        if not isinstance(node.func, ast.Name):
            self.fail(node.func, "only plain function names can be called")
        n = node.func.id
        if n not in self.functions:
            known = ", ".join(sorted(self.functions, key=str.lower))
            self.fail(node.func, f"unknown function (known: {known})")
        if node.keywords:
            self.fail(node.keywords[0], "keyword arguments are not allowed")
        if any(isinstance(a, ast.Starred) for a in node.args):
            self.fail(node, "*arguments are not allowed")
        fn, arities = self.functions[n]
        if len(node.args) not in arities:
            want = " or ".join(map(str, arities))
            self.fail(node, f"{n} takes {want} argument(s), got {len(node.args)}")
        args = [self.build(a, depth + 1) for a in node.args]
        if n in ORDERED and fn is FUNCTIONS[n][0]:
            order = args[0]
            if not (order.is_Integer and abs(int(order)) <= MAX_ORDER):
                self.fail(node.args[0], f"the order of {n} must be an integer between "
                                        f"-{MAX_ORDER} and {MAX_ORDER}, like {n}(0, x)")
        return self.checked(node, lambda: fn(*args))

    def checked(self, node, make):
        """Run one sympy construction step; errors and oversized numbers become ValueError."""
        try:
            out = make()
        except (TypeError, ValueError, ArithmeticError, RecursionError) as e:
            self.fail(node, f"sympy cannot build it ({type(e).__name__}: {e})")
        coeff = out if out.is_Rational else (out.as_coeff_Mul()[0] if out.is_Mul else None)
        if coeff is not None and coeff.is_Rational and max(
                int(coeff.p).bit_length(), int(coeff.q).bit_length()) > MAX_BITS:
            self.fail(node, f"number larger than {MAX_BITS} bits")
        return out


def _short(text):
    return text if len(text) <= 80 else text[:77] + "..."


def parse_formula(text: str, variables: Iterable | None = None, *,
                  functions: Mapping[str, Callable] | None = None, caret_power: bool = False,
                  max_length: int = MAX_LENGTH) -> sp.Expr:
    """Read formula text as a sympy expression, without evaluating any Python.

    Parameters
    ----------
    text : the formula, e.g. ``"exp(sin(pi*x) + y**2)"``
    variables : allowed variable names (str or sympy Symbols, which are used as given); any
        other name is refused. ``None`` accepts every name that is not a function, a constant
        or a dunder as a new plain Symbol.
    functions : extra one-argument functions, name -> callable on sympy expressions (for
        example the library's ``sgn`` and ``gaussian``); they shadow :data:`FUNCTIONS`
    caret_power : read ``^`` as ``**`` (as typed in a text box), not as xor
    max_length : longest text accepted

    Returns
    -------
    sympy expression (finite and real-valued where it is constant)

    Raises
    ------
    ValueError : the text is not a formula of the accepted form; the message names the
        offending part and its column.
    TypeError : ``text`` is not a str
    """
    if not isinstance(text, str):
        raise TypeError(f"a formula must be a str; got {type(text).__name__}")
    if len(text) > max_length:
        raise ValueError(f"formula text of {len(text)} characters is too long (at most "
                         f"{max_length})")
    if caret_power:
        text = text.replace("^", "**")
    if "\x00" in text:
        raise ValueError("formula text contains a NUL character")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        col = f" at column {e.offset}" if e.offset else ""
        raise ValueError(f"cannot read formula {_short(text)!r}: {e.msg}{col}") from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise ValueError(f"cannot read formula {_short(text)!r}: too long or too deeply nested "
                         f"({type(e).__name__})") from None
    table = dict(FUNCTIONS)
    for n, fn in (functions or {}).items():
        table[n] = (fn, (1,))
    names = None
    if variables is not None:
        names = {}
        for v in variables:
            sym = v if isinstance(v, sp.Symbol) else sp.Symbol(str(v))
            names[sym.name] = sym
    builder = _Builder(text.strip(), names, table)
    try:
        expr = builder.build(tree.body)
    except RecursionError:
        raise ValueError(f"cannot read formula {_short(text)!r}: too deeply nested") from None
    if expr.has(*_NOT_FINITE):
        raise ValueError(f"formula {_short(text)!r} is not finite (it contains an infinity or "
                         "an undefined value: a division by zero, or a pole at a constant?)")
    if expr.has(sp.I):
        raise ValueError(f"formula {_short(text)!r} has an imaginary part (a square root or log "
                         "of a negative constant?); only real formulas are supported")
    return expr


def as_expression(obj) -> sp.Basic:
    """A sympy expression from an expression (kept as is), a real number, or formula text
    (read by :func:`parse_formula`, any variable names allowed). Never evaluates Python."""
    if isinstance(obj, str):
        return parse_formula(obj)
    if isinstance(obj, sp.Basic):
        return obj
    if isinstance(obj, numbers.Real) and not isinstance(obj, bool):
        return sp.S(obj)  # a number, not text: no parsing involved
    raise TypeError(f"expected a sympy expression, a number or formula text; got "
                    f"{type(obj).__name__}")
