"""Formula extraction: a KAN whose live edges are all symbolic, as sympy expressions.

Each output is composed layer by layer, exactly as the forward pass computes it::

    node_j = node_scale_j * sum_i (c_ij * f_ij(a_ij * x_i + b_ij) + d_ij) + node_bias_j

(pruned edges contribute 0); a multiplication node (``KAN(width=[2, [0, 1], 1])``) is the
product of its sub-nodes, each computed as above. ``simplify=True`` then cleans up the affine clutter without
sympy's slow general ``simplify``: polynomial parts are expanded everywhere, also inside
function arguments (``0.0124*(-8.98*x - 0.0002)**2`` becomes ``0.99996*x**2 + ...``), additive constants are
pulled out of ``exp`` (``c*exp(k + g) = (c*e^k)*exp(g)``) and scale factors out of ``log`` and
of roots and inverse powers of sums (``log(0.003*x + 0.006) = log(0.003) + log(x + 2)``), so
that a recovered ``exp(sin(pi*x) + y**2)`` shows no stray factors and rounding does not eat
the digits of small inner coefficients. ``digits`` rounds every number to
that many decimal places and drops those that round to zero.
"""

from __future__ import annotations

import math

import sympy as sp

from .parse import as_expression
from .sympy_functions import sympy_function

__all__ = ["formula", "latex", "round_numbers", "snap_constants", "clean"]


def _symbols(model, variables):
    n = model.width[0]
    if variables is None:
        variables = model.variables_ or [f"x_{i + 1}" for i in range(n)]
    variables = list(variables)
    if len(variables) != n:
        raise ValueError(f"{len(variables)} variable names for a model with {n} inputs")
    return [v if isinstance(v, sp.Symbol) else sp.Symbol(str(v)) for v in variables]


def _unfixed(model):
    return [e for e in model.edges() if model.edge_mode(e) == "spline"]


def _scale_of(add):
    """Largest |coefficient| of the non-constant terms of a sum (None if not numeric)."""
    coefs = [abs(float(t.as_coeff_Mul()[0])) for t in add.args if not t.is_Number]
    k = max(coefs, default=0.0)
    return k if k > 0 and abs(k - 1) > 1e-12 else None


def _normalized(t):
    """``log(k g) = log k + log g`` and ``(k g)^p = k^p g^p`` (k > 0) with g's largest
    coefficient 1: constants move out where rounding cannot eat their digits."""
    arg = t.args[0]
    k = _scale_of(arg)
    if isinstance(t, sp.log):
        return sp.log(sp.Float(k)) + sp.log(sp.expand(arg / k))
    p = t.args[1]
    return sp.Float(k) ** p * sp.expand(arg / k) ** p


def _normalizable(t):
    if not t.args or not t.args[0].is_Add or _scale_of(t.args[0]) is None:
        return False
    if isinstance(t, sp.log):
        return True
    return t.is_Pow and t.exp.is_Rational and not (t.exp.is_Integer and t.exp > 0)


def clean(expr):
    """Expand polynomial parts everywhere (not ``exp(a+b)`` or logs), pull numeric constants
    out of ``exp``, ``log`` and roots/inverse powers of sums."""
    def expand(e):
        return sp.expand(e, deep=True, mul=True, multinomial=True, power_exp=False,
                         power_base=False, log=False)

    def has_const(t):
        return isinstance(t, sp.exp) and t.args[0].is_Add and any(
            a.is_Number for a in t.args[0].args)

    def pull(t):
        const = sum((a for a in t.args[0].args if a.is_Number), sp.Integer(0))
        return sp.exp(const) * sp.exp(t.args[0] - const)

    expr = expand(expr)
    for _ in range(4):  # nested functions: a few passes reach a fixed point
        new = expand(expr.replace(has_const, pull).replace(_normalizable, _normalized))
        if new == expr:
            break
        expr = new
    # exact integers (the 1.0 left by normalising, a power's 2.0) print as integers
    return expr.xreplace({f: sp.Integer(int(f)) for f in expr.atoms(sp.Float) if float(f).is_integer()})


def _rounded(v: float, digits: int):
    r = round(v, digits)
    if r == 0:
        return sp.Integer(0)
    if r == int(r):
        return sp.Integer(int(r))
    # full precision (inside an expression sympy prints it without trailing zeros); a
    # low-precision Float('1.3', '') would make later arithmetic inexact
    return sp.Float(r)


def round_numbers(expr, digits: int):
    """Round every float in ``expr`` to ``digits`` decimal places; integers become exact and
    numbers that round to 0 vanish (a term with a tiny coefficient is dropped)."""
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise ValueError(f"digits must be an int >= 0; got {digits!r}")
    floats = {a: _rounded(float(a), digits) for a in expr.atoms(sp.Float)}
    return expr.xreplace(floats)


def snap_constants(expr, tol=1e-3, max_denominator=12):
    """Replace each float by the simplest exact number within ``tol`` (relative, absolute
    below 1): an integer, ``p/q``, ``p*pi/q`` or ``p*e/q`` with ``q <= max_denominator`` (the smallest
    ``q`` wins, then the closest).

    For checking recovery: ``snap_constants(formula(model)[0])`` gives
    ``exp(sin(pi*x) + y**2)`` for a model that learned it. Floats with no close match stay.
    """
    def snap(v):
        scale = max(1.0, abs(v))
        best = None  # smallest denominator first, then the closest
        for base, unit in ((1.0, sp.Integer(1)), (math.pi, sp.pi), (math.e, sp.E)):
            for q in range(1, max_denominator + 1):
                p = round(v * q / base)
                err = abs(v - p * base / q)
                if err <= tol * scale and (best is None or (q, err) < best[:2]):
                    best = (q, err, sp.Rational(p, q) * unit)
        return None if best is None else best[2]

    repl = {}
    for a in expr.atoms(sp.Float):
        s = snap(float(a))
        if s is not None:
            repl[a] = s
    return expr.xreplace(repl)


def formula(model, variables=None, digits=None, simplify=True):
    """The model as formulas: one sympy expression per output.

    Parameters
    ----------
    model : KAN whose live edges are all symbolic (``fix_symbolic`` / ``auto_symbolic``)
    variables : input names or sympy Symbols; default the names of the data of the last
        ``fit`` (``model.variables_``) when known, else ``x_1 .. x_n``
    digits : round numbers to this many decimal places, dropping those that become 0
    simplify : expand affine compositions into clean polynomials (see the module doc)

    Returns
    -------
    list of sympy expressions, ``len == width[-1]``

    Raises
    ------
    ValueError : some live edges are still splines (they are named in the message)
    """
    todo = _unfixed(model)
    if todo:
        shown = ", ".join(str(tuple(e)) for e in todo[:12]) + (" ..." if len(todo) > 12 else "")
        raise ValueError(f"{len(todo)} live edge(s) are still splines, so there is no formula: "
                         f"{shown}. Fix them with model.auto_symbolic() or "
                         "model.fix_symbolic(edge, name), or prune them.")
    xs = _symbols(model, variables)
    for l, layer in enumerate(model.layers):
        aff = layer.sym_affine.detach().double().cpu().tolist()
        mask = layer.mask.detach().cpu().tolist()
        scale = layer.node_scale.detach().double().cpu().tolist()
        bias = layer.node_bias.detach().double().cpu().tolist()
        outs = []
        for j in range(layer.n_out):
            terms = []
            for i in range(layer.n_in):
                if mask[i][j] == 0:
                    continue  # pruned: contributes 0
                a, b, c, d = (sp.Float(v) for v in aff[i][j])
                f = sympy_function(layer.sym_names[(i, j)])
                terms.append(c * f(a * xs[i] + b) + d)
            node = sp.Float(scale[j]) * sp.Add(*terms) + sp.Float(bias[j])
            outs.append(clean(node) if simplify else node)
        xs = _products(model, l + 1, outs, simplify)
    if digits is not None:
        xs = [round_numbers(e, digits) for e in xs]
        if simplify:  # rounding can leave exp(k + ...) or 1.0 factors behind
            xs = [round_numbers(clean(e), digits) for e in xs]
    return xs


def _products(model, m: int, subs: list, simplify: bool) -> list:
    """Sub-node expressions of node-layer ``m`` -> node expressions: each multiplication
    node is the product of its sub-nodes (``clean`` expands polynomial factors)."""
    if not hasattr(model, "mult_layout") or not model.mult_layout(m).arity:
        return subs
    layout = model.mult_layout(m)
    nodes = []
    for j in range(layout.n_nodes):
        e = sp.Mul(*(subs[s] for s in layout.sub_nodes(j)))
        nodes.append(clean(e) if simplify and j >= layout.n_sum else e)
    return nodes


def latex(model_or_exprs, variables=None, digits=None, simplify=True):
    """LaTeX strings, one per output, of ``formula(model, ...)`` (or of given expressions)."""
    if hasattr(model_or_exprs, "layers"):
        exprs = formula(model_or_exprs, variables, digits, simplify)
    else:
        exprs = model_or_exprs if isinstance(model_or_exprs, (list, tuple)) else [model_or_exprs]
        exprs = [as_expression(e) for e in exprs]
        if digits is not None:
            exprs = [round_numbers(e, digits) for e in exprs]
    return [sp.latex(e) for e in exprs]

