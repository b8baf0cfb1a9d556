"""Text fields that refuse bad input in place, with the reason next to them.

An ipywidgets ``FloatText`` silently reverts ``1e400`` and reads ``"2.5"`` typed into an
``IntText`` as 25; these fields keep exactly what was typed, read it with a reader of
``explore.checks`` (never ``eval``), and while it is invalid show the reason in red
(CSS class ``kw-field-error``) and report ``valid = False`` so the panel can disable its
buttons.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

__all__ = ["CheckedField"]


class CheckedField:
    """A labelled ``Text`` whose content is read by ``reader`` (text -> value or ValueError).

    Parameters
    ----------
    value : the initial value (shown as its text)
    reader : callable reading the text, raising ``ValueError`` with the reason
    description, css_class, width_px, label_px : the look; ``css_class`` names the field for
        automation (``kw-lr``, ``kw-steps``, ...)

    Attributes
    ----------
    text : the ``Text`` widget (what is typed)
    error : HTML with the reason while the text is invalid, else empty
    widget : both, in one box (CSS classes ``kw-field`` and ``css_class``)
    valid, reason : whether the text reads, and why not
    value : the last valid value; setting it writes its text
    """

    def __init__(self, value, reader, description, css_class, width_px=118, label_px=38,
                 fmt=str):
        self._reader = reader
        self._fmt = fmt
        self._callbacks = []
        self._value = reader(value)
        self.valid, self.reason = True, ""
        self.text = widgets.Text(fmt(self._value), description=description,
                                 continuous_update=True,
                                 layout={"width": f"{width_px}px"},
                                 style={"description_width": f"{label_px}px"})
        self.error = widgets.HTML("")
        self.error.add_class("kw-field-error")
        self.widget = widgets.VBox([self.text, self.error], layout={"width": "auto"})
        self.widget.add_class("kw-field")
        self.widget.add_class(css_class)
        self.text.observe(self._on_text, "value")

    def _on_text(self, change):
        try:
            value = self._reader(change["new"])
        except ValueError as err:
            self.valid, self.reason = False, str(err)
            self.error.value = (f"<span style='color:#b00020;font-size:11px'>"
                                f"{html.escape(self.reason)}</span>")
        else:
            self._value = value
            self.valid, self.reason = True, ""
            self.error.value = ""
        for cb in self._callbacks:
            cb(self)

    def on_change(self, callback):
        """Call ``callback(field)`` after every edit (valid or not)."""
        self._callbacks.append(callback)

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, v):
        self.text.value = self._fmt(v)  # read back through the reader, like typing it

    @property
    def description(self):
        return self.text.description

    def type(self, text):
        """Type ``text`` into the field (a programmatic twin of typing)."""
        self.text.value = text
        return self
