"""The Explorer's model side, without widgets: ``Session`` (state, commands, undo/redo, the
lock) and what to draw as plain numbers (``NetworkLayout``, ``build_scene``)."""

from .history import History, Step, UndoHistory, restore_state
from .layout import NetworkLayout
from .scene import (
    EdgeDetail,
    FormulaText,
    NetworkScene,
    build_scene,
    candidate_curve,
    edge_detail,
    fix_previews,
    formula_text,
)
from .session import Session
from .training import ModelLock

__all__ = ["Session", "ModelLock", "UndoHistory", "History", "Step", "restore_state", "NetworkLayout",
           "NetworkScene", "EdgeDetail", "FormulaText", "build_scene", "edge_detail",
           "fix_previews", "candidate_curve", "formula_text"]
