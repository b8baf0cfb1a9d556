"""The model's formula in LaTeX, updated after every change; its sympy / Python source goes
to the clipboard."""

from __future__ import annotations

import html
import threading

import ipywidgets as widgets

from ._explorer_common import button, guard, set_enabled
from .clipboard import Clipboard

__all__ = ["FormulaPanel"]


class FormulaPanel:
    """Formula of the session's model.

    Attributes
    ----------
    widget : the panel (CSS class ``kw-formula``)
    math : HTMLMath with the LaTeX (or why there is no formula yet); a long formula scrolls
        inside it (CSS class ``kw-formula-math``)
    digits : decimal places the constants are rounded to (``formula(..., digits=)``)
    sympy_button, python_button : Copy as sympy / Copy as Python: put the source on the
        browser's clipboard (``clipboard``); where the browser refuses, the source is shown in
        ``code`` to copy by hand
    code : Textarea holding the source (hidden unless copying failed or ``show_code``)
    copy_status : HTML saying what was copied, or why not (CSS class ``kw-copy-status``)
    clipboard : the invisible ``Clipboard`` widget that talks to the browser
    text : the last ``FormulaText``
    """

    def __init__(self, session):
        self.session = session
        self._lock = threading.RLock()
        self.text = None
        self._shown = None  # "sympy" / "python" / None: which source the Textarea holds
        self.math = widgets.HTMLMath("")
        self.math.add_class("kw-formula-math")
        self.digits = widgets.BoundedIntText(4, min=1, max=15, description="decimals",
                                             tooltip="decimal places of the constants",
                                             layout={"width": "118px"},
                                             style={"description_width": "60px"})
        self.sympy_button = button("Copy as sympy", "kw-copy-sympy",
                                   "Copy sympy source of the formula to the clipboard")
        self.python_button = button("Copy as Python", "kw-copy-python",
                                    "Copy a numpy function of the formula to the clipboard")
        self.copy_status = widgets.HTML("")
        self.copy_status.add_class("kw-copy-status")
        self.code = widgets.Textarea("", layout={"width": "100%", "height": "110px",
                                                  "display": "none"})
        self.code.add_class("kw-formula-code")
        self.clipboard = Clipboard()
        self.sympy_button.on_click(guard(lambda b: self.copy("sympy"), session, "formula"))
        self.python_button.on_click(guard(lambda b: self.copy("python"), session, "formula"))
        self.digits.observe(guard(lambda ch: self.refresh(), session, "formula"), "value")
        head = widgets.Box([self.sympy_button, self.python_button, self.digits,
                            self.copy_status, self.clipboard])
        head.add_class("kw-formula-head")
        self.widget = widgets.VBox([head, self.math, self.code])
        self.widget.add_class("kw-formula")
        session.observe(guard(lambda ch: self.refresh(), session, "formula"), "revision")
        self.refresh()

    def refresh(self):
        """Recompute (cached per model revision and digits) and show the formula."""
        text = self.session.formula(self.digits.value)
        with self._lock, self.widget.hold_sync():
            self.text = text
            if text.error:
                self.math.value = f"<i>{html.escape(text.error)}</i>"
            else:
                self.math.value = text.latex
            why = "no formula yet: " + text.error if text.error else ""
            for b in (self.sympy_button, self.python_button):
                set_enabled(b, not text.error, why)
            if self._shown and not text.error:
                self.code.value = text.sympy if self._shown == "sympy" else text.python
            elif text.error:
                self.code.value = ""
                self.code.layout.display = "none"
                self.copy_status.value = ""
                self._shown = None

    def _source(self, kind):
        if kind not in ("sympy", "python"):
            raise ValueError(f"kind must be 'sympy' or 'python'; got {kind!r}")
        text = self.text
        if text is None or text.error:
            raise ValueError(text.error if text else "no formula yet")
        return text.sympy if kind == "sympy" else text.python

    def copy(self, kind="python") -> str:
        """Put the ``"sympy"`` or ``"python"`` source on the clipboard (the Copy buttons);
        returns it. The text also goes into ``code``, shown if the browser refuses."""
        src = self._source(kind)
        with self._lock, self.widget.hold_sync():
            self._shown = kind
            self.code.value = src
            self.copy_status.value = "<span class='kw-msg-info'>copying…</span>"
        self.clipboard.copy(src, callback=lambda ok, err: self._copied(kind, ok, err))
        return src

    def _copied(self, kind, ok, error):
        name = "sympy" if kind == "sympy" else "Python"
        with self._lock, self.widget.hold_sync():
            if ok:
                self.copy_status.value = (f"<span class='kw-msg-info'>{name} source copied to "
                                          "the clipboard ✓</span>")
            else:
                self.copy_status.value = (
                    f"<span class='kw-msg-warning'>the browser did not copy "
                    f"({html.escape(error)}): select the text below and copy it</span>")
                self.code.layout.display = None

    def show_code(self, kind="python") -> str:
        """Put the ``"sympy"`` or ``"python"`` source in the Textarea and show it; returns it."""
        src = self._source(kind)
        with self._lock, self.widget.hold_sync():
            self._shown = kind
            self.code.value = src
            self.code.layout.display = None
        return src
