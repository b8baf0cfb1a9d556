"""Formulas compiled to KANs: ``compile_formula("exp(sin(pi*x) + y**2)")`` returns a KAN whose
edges are symbolic and whose output is the formula (pykan's ``kan.compiler``, rebuilt).

How a formula becomes a network
-------------------------------
The expression is read as a graph of *nodes*; every node of the network is one of

- an input (a variable),
- a sum node: ``bias + sum_e c_e * f_e(a_e * u_e + b_e) + d_e`` over incoming edges ``e`` from
  nodes ``u_e`` one node-layer below, each ``f_e`` a library function,
- a multiplication node: the product of sub-nodes, each a sum as above.

A term ``k * f(a * u + b)`` becomes one edge (``f`` a library function, or a power in the
library: ``x^2 .. x^5``, ``1/x .. 1/x^5``, ``sqrt``, ``x^1.5``, ``1/sqrt(x)``; ``exp(-k*u**2)``
is one ``gaussian`` edge, ``1/(1 + exp(-z))`` one ``sigmoid`` edge); a sum becomes a
sum node; a product of several factors depending on the variables a multiplication node (one
sub-node per factor, the numeric coefficient folded into the first); other integer powers a
product of library powers (``x**7 = x^5 * x^2``); other real powers ``u**p = exp(p*log(u))``
(``u`` must stay positive). Equal subexpressions share one node. Numbers are rounded to
float64 once, when the edges are written.

Layers: a node sits one layer above its deepest input; a value needed further up is carried
by identity edges (``x``) through extra sum nodes, as in pykan. A KAN has one edge per
(source, destination) pair, so a sum that applies two functions to the same value
(``sin(pi*x) + x**2``) reads one of them from a copy of that value.

The compiled model is float64 by default, its edges are all symbolic (``formula(model)``
gives the input back), the unused edges are pruned with zero splines behind them (``unprune``
makes them live and trainable without changing the output), and each layer's grid spans its
inputs over the domain ``ranges``, so ``perturb`` turns it into splines ready to train.
"""

from __future__ import annotations

import itertools
import math

import sympy as sp
import torch

from kan_widgets.core.bspline import extend_grid
from kan_widgets.core.edges import EdgeId
from kan_widgets.core.functions import domain_of, function_names, get_function
from kan_widgets.core.grid import grid_from_samples
from kan_widgets.core.network import KAN
from kan_widgets.core.symbolic_edges import SymbolicFit

from .compiler_graph import FUNCTION_EDGES, POWER_EDGES, Builder, Edge, Layers, Node, Sub, set_depths
from .parse import FUNCTIONS, parse_formula
from .sympy_functions import sympy_function

__all__ = ["compile_formula", "FUNCTION_EDGES", "POWER_EDGES"]

# ---------------------------------------------------------------------------- the model
def _model(levels, grid, k, seed, dtype, base_fun) -> KAN:
    width, arity = [len(levels[0])], [[]]
    for nodes in levels[1:]:
        n_sum = sum(n.kind == "sum" for n in nodes)
        ar = [len(n.subs) for n in nodes if n.kind == "mult"]
        width.append([n_sum, len(ar)] if ar else n_sum)
        arity.append(ar)
    model = KAN(width, grid=grid, k=k, seed=seed, dtype=dtype, base_fun=base_fun,
                mult_arity=arity if any(arity) else 2)
    with torch.no_grad():
        for l, layer in enumerate(model.layers):
            layer.mask.zero_()
            layer.coef.zero_()
            layer.scale_base.zero_()
            src = {id(n): i for i, n in enumerate(levels[l])}
            j = 0
            for node in levels[l + 1]:
                for sub in node.subs:
                    layer.node_bias[j] = sub.bias
                    for e in sub.edges:
                        i = src[id(e.src)]
                        layer.mask[i, j] = 1
                        layer.set_symbolic(i, j, e.fn, (e.a, e.b, e.c, e.d))
                        model.symbolic_fits_[EdgeId(l, i, j)] = SymbolicFit(
                            e.fn, math.nan, get_function(e.fn).complexity, e.a, e.b, e.c, e.d)
                    j += 1
    return model


def _ranges(ranges, n):
    if isinstance(ranges, (tuple, list)) and len(ranges) == 2 and all(
            isinstance(v, (int, float)) for v in ranges):
        ranges = [tuple(ranges)] * n
    ranges = [tuple(float(v) for v in r) for r in ranges]
    if len(ranges) != n or any(len(r) != 2 or not r[0] < r[1] for r in ranges):
        raise ValueError(f"ranges must be (low, high) or one (low, high) per variable ({n}); "
                         f"got {ranges!r}")
    return ranges


def _fit_grids(model, levels, ranges, n_samples, seed):
    """Each layer's grid over its inputs on the domain; every edge's argument checked to lie
    where its function is defined (where the model's safe variant is the exact function)."""
    g = torch.Generator().manual_seed(seed)
    lo = torch.tensor([r[0] for r in ranges], dtype=torch.float64)
    hi = torch.tensor([r[1] for r in ranges], dtype=torch.float64)
    corners = torch.tensor(list(itertools.product(*ranges)), dtype=torch.float64)[:64]
    X = torch.cat([lo + (hi - lo) * torch.rand(n_samples, len(ranges), generator=g,
                                               dtype=torch.float64), corners])
    X = X.to(model.dtype)
    with torch.no_grad():
        x = X
        for l, layer in enumerate(model.layers):
            for (i, j), name in layer.sym_names.items():
                a, b = (float(v) for v in layer.sym_affine[i, j, :2])
                if not _defined(name, a * x[:, i] + b):
                    raise ValueError(
                        f"compile_formula: {name}({a:.4g}*u + {b:.4g}) with u = "
                        f"{levels[l][i].label[:60]!r} leaves the domain of {name!r} (or exceeds "
                        f"1e6) for some inputs in ranges={ranges}; give ranges where the formula "
                        "is defined and finite")
            pad = 0.05 * (x.max(0).values - x.min(0).values).clamp_min(1e-3)
            v = torch.cat([x, (x.min(0).values - pad)[None], (x.max(0).values + pad)[None]])
            layer.knots = extend_grid(grid_from_samples(v, layer.G, 1.0), layer.k)
            layer.grid_changed()
            x = model.nodes_from_subnodes(l, layer(x))
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"compile_formula: the formula is not finite everywhere in "
                             f"ranges={ranges}; give a domain where it is")


# where the library's functions leave their domain: poles and branch ends
_CRITICAL = torch.tensor([0.0, 1.0, -1.0] + [math.pi / 2 + n * math.pi for n in range(-64, 64)],
                         dtype=torch.float64)


def _defined(name: str, z: torch.Tensor) -> bool:
    """Whether ``name`` is defined on the whole interval ``[min z, max z]``: the argument of
    an edge is continuous on the domain (a box), so it takes every value in between; the
    samples, an even sweep and the poles and branch ends inside are checked."""
    dom = domain_of(get_function(name))
    if dom is None:
        return True
    lo, hi = float(z.min()), float(z.max())
    crit = _CRITICAL[(_CRITICAL >= lo) & (_CRITICAL <= hi)]
    sweep = torch.linspace(lo, hi, 4001, dtype=torch.float64)
    return bool(dom(torch.cat([z.double(), sweep, crit])).all())


def _library_calls():
    return {n: sympy_function(n) for n in function_names()
            if n.isidentifier() and n != "x" and n not in FUNCTIONS}


def compile_formula(expr, variables=None, *, ranges=(-1.0, 1.0), grid=5, k=3, seed=0,
                    dtype=torch.float64, base_fun="silu", n_samples=2000) -> KAN:
    """A KAN that computes ``expr`` exactly, with symbolic edges (pykan's compiler).

    Parameters
    ----------
    expr : formula text (read by the safe parser: ``"exp(sin(pi*x) + y**2)"``, ``^`` is a
        power) or a sympy expression
    variables : input names in order (str or sympy Symbols); default the formula's variables
        sorted by name. Names listed but unused are inputs with no edges.
    ranges : the domain: ``(low, high)`` for every variable or one pair per variable; each
        layer's grid spans its inputs there, and every edge is checked to be defined there
    grid, k, seed, base_fun : as ``KAN`` (used once the edges are turned into splines)
    dtype : float64 by default (the output equals the formula to ~1e-12 relative)
    n_samples : domain samples for the grids and the domain check

    Returns
    -------
    KAN, ``variables_`` set to the names; ``formula(model)`` gives ``expr`` back (floats for
    its constants). The module doc says how the network is laid out.

    Raises
    ------
    ValueError : unreadable text (the parser's reason), a function outside the library (the
        message lists what is supported and how to rewrite), or a domain where the formula is
        not defined
    """
    if isinstance(variables, (str, sp.Symbol)):
        variables = [variables]
    if isinstance(expr, str):
        expr = parse_formula(expr, variables, functions=_library_calls(), caret_power=True)
    elif not isinstance(expr, sp.Basic):
        raise TypeError(f"compile_formula takes formula text or a sympy expression; got "
                        f"{type(expr).__name__}")
    if expr.has(sp.I, sp.zoo, sp.oo, sp.nan):
        raise ValueError(f"compile_formula: {expr} is not a finite real formula")
    free = sorted(expr.free_symbols, key=lambda s: s.name)
    if variables is None:
        symbols = free
    else:
        symbols = [v if isinstance(v, sp.Symbol) else sp.Symbol(str(v)) for v in variables]
        missing = [s.name for s in free if s not in symbols]
        if missing:
            raise ValueError(f"compile_formula: the formula uses {missing}, not among "
                             f"variables={[s.name for s in symbols]}")
    if not symbols:
        raise ValueError(f"compile_formula: {expr} has no variables; name the inputs with "
                         "variables=[...]")
    b = Builder(symbols)
    if expr.is_number:
        root = Node("sum", [Sub([], float(expr))])
    else:
        root = b.node(expr)
        if root.kind != "sum":
            root = Node("sum", [Sub([Edge(root, "x")])], label=str(expr))
    set_depths(root, set())
    if root.depth == 0:
        root.depth = 1
    lay = Layers(b.inputs.values(), root)
    lay.resolve()
    model = _model(lay.levels, grid, k, seed, dtype, base_fun)
    _fit_grids(model, lay.levels, _ranges(ranges, len(symbols)), int(n_samples), seed)
    model.variables_ = [s.name for s in symbols]
    model.output_names_ = [str(expr)]
    return model.mark_changed()


def node_formulas(model, variables=None, digits=4) -> list[list]:
    """The value of every node of ``model`` (all live edges symbolic) as a sympy expression,
    per node-layer (0 = the inputs): what each node of a compiled network computes.

    Numbers are rounded to ``digits`` decimals (``formula`` does the same for the outputs).
    """
    from .formula import _products, clean, round_numbers

    names = variables or model.variables_ or [f"x_{i + 1}" for i in range(model.width[0])]
    xs = [sp.Symbol(str(v)) for v in names]
    out = [list(xs)]
    for l, layer in enumerate(model.layers):
        aff = layer.sym_affine.detach().double().cpu().tolist()
        subs = []
        for j in range(layer.n_out):
            terms = [aff[i][j][2] * sympy_function(layer.sym_names[(i, j)])(
                aff[i][j][0] * xs[i] + aff[i][j][1]) + aff[i][j][3]
                for i in range(layer.n_in)
                if layer.mask[i, j] != 0 and (i, j) in layer.sym_names]
            node = float(layer.node_scale[j]) * sp.Add(*terms) + float(layer.node_bias[j])
            subs.append(clean(node))
        xs = [round_numbers(clean(e), digits) for e in _products(model, l + 1, subs, True)]
        out.append(xs)
    return out
