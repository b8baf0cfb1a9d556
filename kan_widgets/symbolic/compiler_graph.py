"""The formula graph of ``compile_formula``: an expression read as input, sum and
multiplication nodes joined by library-function edges (``_Builder``), then laid out in
layers, one edge per (source, destination) pair (``_Layers``). ``compiler`` explains the
rules and writes the graph into a KAN."""

from __future__ import annotations

import itertools

import sympy as sp

__all__ = ["FUNCTION_EDGES", "POWER_EDGES", "MAX_NODES", "Builder", "Layers", "Edge", "Sub",
           "Node", "set_depths"]

# sympy function -> library name of the edge that computes it
FUNCTION_EDGES = {sp.sin: "sin", sp.cos: "cos", sp.tan: "tan", sp.tanh: "tanh", sp.exp: "exp",
                  sp.log: "log", sp.Abs: "abs", sp.sign: "sgn", sp.asin: "arcsin",
                  sp.acos: "arccos", sp.atan: "arctan", sp.atanh: "arctanh", sp.cosh: "cosh",
                  sp.sinh: "sinh"}
# exponent -> library name of the power edge
POWER_EDGES = {sp.Integer(2): "x^2", sp.Integer(3): "x^3", sp.Integer(4): "x^4",
               sp.Integer(5): "x^5", sp.Integer(-1): "1/x", sp.Integer(-2): "1/x^2",
               sp.Integer(-3): "1/x^3", sp.Integer(-4): "1/x^4", sp.Integer(-5): "1/x^5",
               sp.Rational(1, 2): "sqrt", sp.Rational(3, 2): "x^1.5",
               sp.Rational(-1, 2): "1/sqrt(x)"}
MAX_NODES = 2000  # a formula that needs more nodes than this is refused (it is not a toy)


class Edge:
    __slots__ = ("src", "fn", "a", "b", "c", "d")

    def __init__(self, src, fn, a=1.0, b=0.0, c=1.0, d=0.0):
        self.src, self.fn = src, fn
        self.a, self.b, self.c, self.d = (float(v) for v in (a, b, c, d))

    def scaled(self, k: float) -> Edge:
        return Edge(self.src, self.fn, self.a, self.b, self.c * k, self.d * k)


class Sub:
    """A sum of edges plus a bias: a sum node, or one factor of a multiplication node."""

    __slots__ = ("edges", "bias")

    def __init__(self, edges, bias=0.0):
        self.edges, self.bias = list(edges), float(bias)


class Node:
    __slots__ = ("kind", "subs", "index", "depth", "label")

    def __init__(self, kind, subs=(), index=None, label=""):
        self.kind, self.subs, self.index, self.label = kind, list(subs), index, label
        self.depth = 0 if kind == "input" else None


def _unsupported(e) -> ValueError:
    known = sorted({str(f) for f in FUNCTION_EDGES} | {"sqrt", "sgn", "gaussian", "sigmoid"})
    return ValueError(
        f"compile_formula: {e.func.__name__} (in {str(e)[:60]!r}) is not a function of the "
        f"library, so no edge can compute it. Supported: + - * /, powers, numbers, pi, E and "
        f"{', '.join(known)}. Rewrite it with these (cot(x) = cos(x)/sin(x), "
        f"asinh(x) = log(x + sqrt(x**2 + 1)), x**(1/3) as exp(log(x)/3) for x > 0), or fit "
        f"it instead: KAN(...).fit(kw.datasets.from_formula(...))")


class Builder:
    """Expression -> graph of ``Node`` (see the module doc)."""

    def __init__(self, symbols):
        self.symbols = list(symbols)
        self.inputs = {s: Node("input", index=n, label=str(s)) for n, s in enumerate(symbols)}
        self.memo = {}
        self.count = 0

    def _split(self, e, as_add):
        """(numeric part, part depending on the variables)."""
        k, rest = e.as_independent(*self.symbols, as_Add=as_add)
        return k, rest

    def _new(self, kind, subs, label):
        self.count += 1
        if self.count > MAX_NODES:
            raise ValueError(f"compile_formula: the formula needs more than {MAX_NODES} nodes; "
                             "simplify it first")
        return Node(kind, subs, label=label)

    # ------------------------------------------------------------------ pieces
    def unary(self, e):
        """``(library name, argument)`` when ``e`` is one library function of an argument,
        else None (sums, products, other powers). ``exp(-k*u**2)`` is one ``gaussian`` edge
        and ``1/(1 + exp(-z))`` one ``sigmoid`` edge (the library's definitions of both)."""
        if e.func is sp.exp:
            k, sq = self._split(e.args[0], False)
            if sq.is_Pow and sq.exp == 2 and k.is_number and bool(k < 0):
                return "gaussian", sp.sqrt(-k) * sq.base
        if e.is_Pow and e.exp == -1 and e.base.is_Add:
            one, t = self._split(e.base, True)
            if one == 1 and t.func is sp.exp:
                return "sigmoid", -t.args[0]
        if e.func in FUNCTION_EDGES:
            return FUNCTION_EDGES[e.func], e.args[0]
        if e.is_Pow:
            base, ex = e.as_base_exp()
            if ex in POWER_EDGES:
                return POWER_EDGES[ex], base
            if not (ex.is_Integer and not base.is_number):  # other real powers, u**y, 2**x
                if base.is_number and not bool(base > 0):
                    raise ValueError(f"compile_formula: {e} has a base that is not positive; "
                                     "only positive numbers can be raised to a variable power")
                return "exp", ex * sp.log(base)
        elif isinstance(e, sp.Function) or (e.args and not (e.is_Add or e.is_Mul or e.is_Pow)):
            raise _unsupported(e)
        return None

    def edge(self, e) -> Edge:
        """``e`` (depending on the variables) as one edge ``c * f(a * u + b)``."""
        k, rest = self._split(e, False)
        k = float(k)
        if rest in self.inputs:
            return Edge(self.inputs[rest], "x", c=k)
        un = self.unary(rest)
        if un is not None:
            name, arg = un
            c0, core = self._split(arg, False)
            if core.is_Add and c0 != 1:  # sqrt(3)*(x - 1): a*x + b, not a*(a node of x - 1)
                arg = sp.Add(*(c0 * t for t in core.args))
            b, inner = self._split(arg, True)
            a, u = self._split(inner, False)
            return Edge(self.node(u), name, a, b, k, 0.0)
        return Edge(self.node(rest), "x", c=k)

    def sub(self, e) -> Sub:
        b, rest = self._split(e, True)
        return Sub([self.edge(t) for t in sp.Add.make_args(rest)] if rest != 0 else [], b)

    def factors(self, e):
        """Factors of a product, integer powers beyond the library split (x**7 = x^5 * x^2)."""
        out = []
        for f in sp.Mul.make_args(e):
            base, ex = f.as_base_exp()
            if ex.is_Integer and abs(int(ex)) > 5 and not base.is_number:
                n, sign = abs(int(ex)), 1 if ex > 0 else -1
                while n > 0:
                    step = 5 if n >= 7 or n == 5 else (n if n <= 5 else n - 2)
                    out.append(sp.Pow(base, sign * step, evaluate=False))
                    n -= step
            else:
                out.append(f)
        return out

    def node(self, e) -> Node:
        """A node whose value is ``e`` (no numeric factor or term left outside)."""
        if e in self.inputs:
            return self.inputs[e]
        if e in self.memo:
            return self.memo[e]
        label = str(e)
        if e.is_Add:
            n = self._new("sum", [self.sub(e)], label)
        else:
            k, rest = self._split(e, False)
            fs = self.factors(rest)
            if len(fs) >= 2:
                subs = [self.sub(f) for f in fs]
                k = float(k)
                subs[0] = Sub([x.scaled(k) for x in subs[0].edges], subs[0].bias * k)
                n = self._new("mult", subs, label)
            else:
                n = self._new("sum", [Sub([self.edge(e)])], label)
        self.memo[e] = n
        return n


# ---------------------------------------------------------------------------- layering
def set_depths(node, seen) -> int:
    if node.kind == "input":
        return 0
    if node.depth is not None:
        return node.depth
    if id(node) in seen:
        raise RuntimeError("cycle in the formula graph")  # cannot happen for an expression
    seen.add(id(node))
    d = 0
    for sub in node.subs:
        inputs = [e.src for e in sub.edges if e.src.kind == "input"]
        for e in sub.edges:
            # an input read twice by one sum needs a copy, one layer up
            extra = 1 if e.src.kind == "input" and inputs.count(e.src) > 1 else 0
            d = max(d, set_depths(e.src, seen) + extra)
    node.depth = d + 1
    seen.discard(id(node))
    return node.depth


class Layers:
    """Nodes per node-layer; carriers and copies are added while sources are resolved."""

    def __init__(self, inputs, root):
        self.levels = [list(inputs)] + [[] for _ in range(root.depth)]
        self.placed = set()
        self.carriers = {}
        self.place(root)

    def place(self, node):
        if node.kind != "input" and id(node) not in self.placed:
            self.placed.add(id(node))
            self.levels[node.depth].append(node)

    def source(self, u, d: int, taken: set):
        """A node of depth ``d`` whose value is ``u``'s, not in ``taken``."""
        if u.depth == d and id(u) not in taken:
            self.place(u)
            return u
        if u.depth == d:  # a second read of u by one sum: a copy of u (same edges)
            dup = Node(u.kind, [Sub([Edge(e.src, e.fn, e.a, e.b, e.c, e.d) for e in s.edges],
                                      s.bias) for s in u.subs], label=u.label)
            dup.depth = d
            self.place(dup)
            return dup
        for k in itertools.count():
            c = self.carriers.get((id(u), d, k))
            if c is None:
                c = self.carriers[(id(u), d, k)] = Node("sum", [Sub([Edge(u, "x")])],
                                                        label=u.label)
                c.depth = d
                self.place(c)
            if id(c) not in taken:
                return c

    def resolve(self):
        """Point every edge at a node exactly one layer below (top layer first)."""
        for m in range(len(self.levels) - 1, 0, -1):
            for node in self.levels[m]:  # carriers appended to lower levels only
                for sub in node.subs:
                    taken = set()
                    for e in sub.edges:
                        e.src = self.source(e.src, m - 1, taken)
                        taken.add(id(e.src))
        for m in range(1, len(self.levels)):  # sum nodes first, as the model's layout
            self.levels[m].sort(key=lambda n: n.kind == "mult")
