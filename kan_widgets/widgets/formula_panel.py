"""The model's formula in LaTeX, updated after every change, with sympy / Python source."""

from __future__ import annotations

import html
import threading

import ipywidgets as widgets

from ._explorer_common import button, guard

__all__ = ["FormulaPanel"]


class FormulaPanel:
    """Formula of the session's model.

    Attributes
    ----------
    widget : the panel (CSS class ``kw-formula``)
    math : HTMLMath with the LaTeX (or why there is no formula yet)
    digits : decimal places the constants are rounded to (``formula(..., digits=)``)
    sympy_button, python_button : put sympy / Python source in ``code`` to copy
    code : Textarea holding the source (hidden until a button is pressed)
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
                                             layout={"width": "140px"},
                                             style={"description_width": "58px"})
        self.sympy_button = button("Copy as sympy", "kw-copy-sympy",
                                   "Show sympy source to copy")
        self.python_button = button("Copy as Python", "kw-copy-python",
                                    "Show a numpy function to copy")
        self.code = widgets.Textarea("", layout={"width": "100%", "height": "110px",
                                                  "display": "none"})
        self.code.add_class("kw-formula-code")
        self.sympy_button.on_click(guard(lambda b: self.show_code("sympy"), session, "formula"))
        self.python_button.on_click(guard(lambda b: self.show_code("python"), session,
                                          "formula"))
        self.digits.observe(guard(lambda ch: self.refresh(), session, "formula"), "value")
        self.widget = widgets.VBox([
            widgets.HTML("<div class='kw-panel-title'>Formula</div>"), self.math,
            widgets.HBox([self.digits, self.sympy_button, self.python_button]), self.code,
        ])
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
            self.sympy_button.disabled = self.python_button.disabled = bool(text.error)
            if self._shown and not text.error:
                self.code.value = text.sympy if self._shown == "sympy" else text.python
            elif text.error:
                self.code.value = ""
                self.code.layout.display = "none"
                self._shown = None

    def show_code(self, kind="python") -> str:
        """Put the ``"sympy"`` or ``"python"`` source in the Textarea; returns it."""
        if kind not in ("sympy", "python"):
            raise ValueError(f"kind must be 'sympy' or 'python'; got {kind!r}")
        text = self.text
        if text is None or text.error:
            raise ValueError(text.error if text else "no formula yet")
        src = text.sympy if kind == "sympy" else text.python
        with self._lock, self.widget.hold_sync():
            self._shown = kind
            self.code.value = src
            self.code.layout.display = None
        return src
