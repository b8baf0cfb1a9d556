"""Keep an Explorer in sync with cells run after it: a change made to the model by a later
cell (``model.fit(...)``, ``model.auto_symbolic()``, ``load_state_dict``, a parameter edited
by hand) is picked up when the cell finishes (IPython's ``post_run_cell`` event, which fires
in JupyterLab, Notebook and Voila alike) and recorded by ``Session.poll`` as an undoable step.
"""

from __future__ import annotations

import weakref

__all__ = ["watch_cells"]


def watch_cells(session) -> bool:
    """Poll ``session`` after every executed cell of the running IPython kernel.

    Holds the session weakly: when it is gone the hook removes itself. Returns whether a hook
    was registered (False outside IPython, or when this session already has one).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    ip = get_ipython()
    if ip is None or getattr(session, "_cell_hook", None) is not None:
        return False
    ref = weakref.ref(session)

    def after_cell(result=None):
        s = ref()
        if s is None:
            ip.events.unregister("post_run_cell", after_cell)
            return
        try:
            s.poll()
        except Exception as err:  # shown in the Explorer, never in the user's cell output
            s.report("sync with the model", err)

    ip.events.register("post_run_cell", after_cell)
    session._cell_hook = after_cell
    return True


def unwatch_cells(session) -> None:
    """Remove the hook of ``watch_cells`` (if any)."""
    hook = getattr(session, "_cell_hook", None)
    if hook is None:
        return
    from IPython import get_ipython

    ip = get_ipython()
    if ip is not None:
        try:
            ip.events.unregister("post_run_cell", hook)
        except ValueError:
            pass
    session._cell_hook = None
