"""Tests of a function's structure (separability, symmetry), the tree they imply, and the
reordering of hidden nodes (``swap``, ``auto_swap``); torch only."""

from .separability import StructureTest, detect_separability, generalized_separability, separability, symmetry
from .tree import StructureTree, TreeNode, set_tree_plotter, structure_tree

__all__ = ["StructureTest", "separability", "detect_separability", "generalized_separability",
           "symmetry", "StructureTree", "TreeNode", "structure_tree", "set_tree_plotter"]
