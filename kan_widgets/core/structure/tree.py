"""The tree of a function's structure (pykan's ``tree()`` / ``plot_tree``), split top-down.

At each node (a set of inputs and the function restricted to them, the other inputs held at
their median) the first test that splits the inputs decides the node:

1. ``sum``: additively separable groups (``f = u(x_A) + v(x_B)``);
2. ``product``: multiplicatively separable groups. A child of a sum is known only up to a
   constant (``x*y + sin(z)``: the ``x*y`` part is seen as ``x*y + sin(z_0)``), so there the
   constant that makes it a product is fitted first;
3. ``generalized``: ``F(g_A(x_A) + g_B(x_B))``, the finest grouping over all bipartitions
   (third derivatives; nodes of at most ``max_generalized`` inputs);
4. ``composite``: ``F(h_A(x_A), x_c, ...)`` with groups that enter through one combination
   each (symmetry), merged greedily;
5. otherwise ``entangled``: no structure found, the inputs hang below as leaves.

Below a generalized or composite node the children are known only through an unknown
outer function, so only tests 3 to 5 apply there (a sum and a product differ only by an
outer ``exp``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from . import statistics as st
from .derivatives import as_function, derivatives
from .separability import _check_tol

__all__ = ["TreeNode", "StructureTree", "structure_tree", "set_tree_plotter"]

_SYMBOL = {"sum": "+", "product": "×", "generalized": "G", "composite": "F",
           "entangled": "?"}
_tree_plotter = None


def set_tree_plotter(plotter):
    """Install ``plotter(tree, **options) -> figure`` behind ``StructureTree.plot`` (core
    draws nothing itself; ``import kan_widgets`` installs the plotly one). Returns the
    previous one."""
    global _tree_plotter
    if plotter is not None and not callable(plotter):
        raise TypeError(f"the plotter must be callable; got {plotter!r}")
    previous, _tree_plotter = _tree_plotter, plotter
    return previous


@dataclass(frozen=True)
class TreeNode:
    """A node: ``kind`` (``"variable"``, ``"sum"``, ``"product"``, ``"generalized"``,
    ``"composite"``, ``"entangled"``), its inputs (indices), its children, and the statistic
    of the split that made it (None for leaves and entangled nodes)."""

    kind: str
    variables: tuple
    children: tuple = ()
    statistic: float | None = None


class StructureTree:
    """The structure tree of a function; ``root`` is a ``TreeNode``, ``names`` the inputs.

    ``shape()`` is a nested tuple (``("sum", (("product", ("x", "y")), "z"))``), ``text()``
    a one-line summary, ``layout()`` the positions drawn by ``plot()``.
    """

    def __init__(self, root: TreeNode, names, tol: float):
        self.root, self.names, self.tol = root, list(names), tol

    def shape(self, node: TreeNode | None = None):
        node = self.root if node is None else node
        if node.kind == "variable":
            return self.names[node.variables[0]]
        return (node.kind, tuple(self.shape(c) for c in node.children))

    def text(self, node: TreeNode | None = None) -> str:
        node = self.root if node is None else node
        if node.kind == "variable":
            return self.names[node.variables[0]]
        parts = [self.text(c) for c in node.children]
        if node.kind == "sum":
            return " + ".join(parts)
        if node.kind == "product":
            return " * ".join(p if len(c.children) == 0 or c.kind != "sum" else f"({p})"
                              for p, c in zip(parts, node.children))
        return f"{_SYMBOL[node.kind]}({', '.join(parts)})"

    def nodes(self):
        """Every node, depth first (root first)."""
        out, stack = [], [self.root]
        while stack:
            n = stack.pop()
            out.append(n)
            stack.extend(reversed(n.children))
        return out

    def layout(self) -> dict:
        """Where each node goes: leaves on ``y = 0`` at ``x = 0, 1, ...`` in order, a parent
        one level above its highest child, centred over its children.

        Returns ``{"nodes": [(x, y, kind, label, statistic)], "edges": [(child, parent)]}``,
        indices into ``nodes`` (depth-first order, root first)."""
        nodes = self.nodes()
        index = {id(n): k for k, n in enumerate(nodes)}
        pos: dict[int, tuple[float, float]] = {}
        leaf = itertools.count()

        def place(n):
            if not n.children:
                pos[id(n)] = (float(next(leaf)), 0.0)
            else:
                for c in n.children:
                    place(c)
                xs = [pos[id(c)][0] for c in n.children]
                pos[id(n)] = (sum(xs) / len(xs), 1.0 + max(pos[id(c)][1] for c in n.children))

        place(self.root)
        rows = [(*pos[id(n)], n.kind,
                 self.names[n.variables[0]] if n.kind == "variable" else _SYMBOL[n.kind],
                 n.statistic) for n in nodes]
        edges = [(index[id(c)], index[id(n)]) for n in nodes for c in n.children]
        return {"nodes": rows, "edges": edges}

    def plot(self, **options):
        """The tree as a plotly figure (inputs at the bottom, the root on top). Needs
        ``import kan_widgets``, which installs the plotter."""
        if _tree_plotter is None:
            raise RuntimeError("StructureTree.plot draws with plotly, which kan_widgets.core "
                               "does not import: run `import kan_widgets` and call it again")
        return _tree_plotter(self, **options)

    def __repr__(self) -> str:
        lines = [f"StructureTree: {self.text()}  (tol {self.tol:g})"]

        def walk(n, depth):
            label = (self.names[n.variables[0]] if n.kind == "variable"
                     else f"{_SYMBOL[n.kind]} {n.kind}")
            stat = "" if n.statistic is None else f"  [statistic {n.statistic:.2g}]"
            lines.append("  " * depth + label + stat)
            for c in n.children:
                walk(c, depth + 1)

        walk(self.root, 1)
        return "\n".join(lines)


class _Builder:
    def __init__(self, X, tol, max_generalized):
        self.X, self.tol, self.max_generalized = X, tol, max_generalized
        self.s = st.spreads(X)
        self.ref = X.median(0).values

    def node(self, sf, variables, fit_constant=False, outer=False) -> TreeNode:
        variables = list(variables)
        if len(variables) == 1:
            return TreeNode("variable", tuple(variables))
        D = derivatives(sf, self.X, 2)
        if not outer:
            found = self._sum_or_product(sf, D, variables, fit_constant)
            if found is not None:
                return found
        if len(variables) <= self.max_generalized:
            found = self._generalized(sf, variables)
            if found is not None:
                return found
        return self._composite(sf, D, variables)

    def _children(self, sf, groups, **flags):
        return tuple(self.node(sf.restricted(g, self.ref), g, **flags) for g in groups)

    def _sum_or_product(self, sf, D, variables, fit_constant):
        add = st.additive_matrix(D, self.s)
        groups = st.components(add, variables, self.tol)
        if len(groups) > 1:
            return TreeNode("sum", tuple(variables),
                            self._children(sf, groups, fit_constant=True),
                            st.cross_max(add, groups))
        constants = [0.0]
        if fit_constant:
            constants += st.fit_constant(D, itertools.combinations(variables, 2))
        best = None
        for c in constants:  # the constant giving the finest product, then the cleanest
            mul = st.multiplicative_matrix(D, c)
            groups = st.components(mul, variables, self.tol)
            key = (-len(groups), st.cross_max(mul, groups))
            if best is None or key < best[0]:
                best = (key, c, groups)
        (_, stat), c, groups = best
        if len(groups) < 2:
            return None
        shifted = sf.shifted(c) if c else sf
        return TreeNode("product", tuple(variables), self._children(shifted, groups), stat)

    def _generalized(self, sf, variables):
        D3 = derivatives(sf, self.X, 3)
        first, mixed = st.generalized_tensors(D3, self.s)
        angles = st.angle_tensor(D3, self.s)
        n = len(variables)
        valid = []
        for mask in range(1, 2 ** (n - 1)):  # bipartitions, the last input always in B
            A = [v for k, v in enumerate(variables) if mask >> k & 1]
            B = [v for v in variables if v not in A]
            if st.generalized_statistic(first, mixed, angles, [A, B]) <= self.tol:
                valid.append(set(A))
        if not valid:
            return None
        # the finest grouping every valid split agrees with: inputs on the same side of all
        atoms: dict[tuple, list[int]] = {}
        for v in variables:
            atoms.setdefault(tuple(v in A for A in valid), []).append(v)
        groups = sorted(atoms.values(), key=lambda g: g[0])
        stat = st.generalized_statistic(first, mixed, angles, groups)
        if stat > self.tol:  # the atoms fail together: keep the cleanest single split
            A = min(valid, key=lambda A: st.generalized_statistic(
                first, mixed, [sorted(A), [v for v in variables if v not in A]]))
            groups = sorted([sorted(A), [v for v in variables if v not in A]],
                            key=lambda g: g[0])
            stat = st.generalized_statistic(first, mixed, angles, groups)
        return TreeNode("generalized", tuple(variables), self._children(sf, groups, outer=True),
                        stat)

    def _composite(self, sf, D, variables):
        angles = st.angle_tensor(D, self.s)
        groups = [[v] for v in variables]

        def stat(G):
            rest = [v for v in variables if v not in G]
            return float(angles[G][:, G][:, :, rest].max())

        while len(groups) > 2:
            scored = [(stat(sorted(P + Q)), p, q) for (p, P), (q, Q)
                      in itertools.combinations(enumerate(groups), 2)]
            best, p, q = min(scored)
            if best > self.tol:
                break
            groups[p] = sorted(groups[p] + groups[q])
            del groups[q]
        if all(len(g) == 1 for g in groups):
            return TreeNode("entangled", tuple(variables),
                            tuple(TreeNode("variable", (v,)) for v in variables))
        groups.sort(key=lambda g: g[0])
        worst = max(stat(G) for G in groups if len(G) > 1)
        return TreeNode("composite", tuple(variables), self._children(sf, groups, outer=True),
                        worst)


def structure_tree(f, X, tol=1e-2, output=None, names=None, max_generalized=8):
    """The tree of ``f``'s structure at samples ``X``: sums, products, generalized sums and
    compositions, found top-down by the separability and symmetry tests (see module doc).

    Parameters
    ----------
    f : KAN or torch function of ``X`` (n, d) (see ``separability``)
    X : (n, d) samples spread over the inputs' ranges
    tol : tolerance of every test
    output : the output column when ``f`` has several
    names : input names (default: the model's, else x1, x2, ...)
    max_generalized : the generalized test (all bipartitions, third derivatives) runs on
        nodes of at most this many inputs

    Returns
    -------
    StructureTree; ``.plot()`` draws it, ``.shape()`` / ``.text()`` summarise it.
    """
    tol = _check_tol(tol)
    if isinstance(max_generalized, bool) or not isinstance(max_generalized, int) \
            or max_generalized < 0:
        raise ValueError(f"max_generalized must be an int >= 0; got {max_generalized!r}")
    sf, X = as_function(f, X, output, names)
    root = _Builder(X, tol, max_generalized).node(sf, range(sf.d))
    return StructureTree(root, sf.names, tol)
