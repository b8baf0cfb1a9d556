"""Pieces shared by the teaching widgets (B-spline explorer, grid extension, KART demo).

The teaching widgets follow the Explorer's pattern. Each demo is a plain object holding a
widget-free state (``kan_widgets.explore.teaching_*``: traits, commands, the numbers); its view
(``_teaching_*_view.py``) is built on first display (``.widget``, as in jupyter-scatter),
observes the state's ``revision`` and redraws, and its controls call the state's commands.
Every slider and button has a method twin on the demo, so a script or a test drives the same
code path as a click.
"""

from __future__ import annotations

import functools
import inspect

import ipywidgets as W

__all__ = ["FIG_WIDTH", "TeachingDemo", "TeachingView", "color", "forward", "html_table"]

# explicit figure width: inside an ipywidgets box plotly's autosize falls back to 700 px;
# 940 px fills JupyterLab's notebook column at a 1400 px wide window
FIG_WIDTH = 940

# plotly's default qualitative palette: neighbouring basis functions get distinct colours
_PALETTE = ["#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A",
            "#19D3F3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"]


def color(i: int) -> str:
    """The ``i``-th colour of a 10-colour cycle."""
    return _PALETTE[int(i) % len(_PALETTE)]


def html_table(rows, header=None, css_class="") -> str:
    """A small HTML table (for the metrics boxes); ``rows`` are sequences of cells."""
    head = ""
    if header:
        head = "<tr>" + "".join(f"<th style='text-align:left;padding:0 8px'>{h}</th>"
                                for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td style='padding:0 8px'>{c}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table class='{css_class}'>{head}{body}</table>"


def error_html(err) -> str:
    return f"<span style='color:#b00'>{err}</span>"


def forward(state_cls, *names):
    """Class decorator: ``demo.name`` reads ``demo.state.name`` for each of ``names``.

    Methods of ``state_cls`` become methods (same signature and docstring); anything else a
    read-only property, so the demo cannot be changed around its state's commands.
    """
    def decorate(cls):
        for name in names:
            attr = inspect.getattr_static(state_cls, name, None)  # None: an instance attribute
            if inspect.isfunction(attr):
                def method(self, *args, _name=name, **kw):
                    return getattr(self.state, _name)(*args, **kw)
                setattr(cls, name, functools.wraps(attr)(method))
            else:
                doc = getattr(attr, "__doc__", None) if isinstance(attr, property) else None
                setattr(cls, name, property(lambda self, _name=name: getattr(self.state, _name),
                                            doc=doc or f"``state.{name}`` (read-only)"))
        return cls
    return decorate


class TeachingDemo:
    """Base of the teaching demos: a plain object holding ``state``; the view is built once,
    on first display or first access to ``view``, ``widget`` or ``figure``."""

    _css_class = ""

    def __init__(self, state):
        self.state = state
        self._view = None

    def _make_view(self):
        raise NotImplementedError

    @property
    def view(self):
        """The ipywidgets/plotly view (built on first access)."""
        if self._view is None:
            with self.state.lock:  # no command changes the state while the view reads it
                if self._view is None:
                    view = self._make_view()
                    view.widget.add_class(self._css_class)
                    self._view = view
        return self._view

    @property
    def widget(self):
        """The ipywidgets root (builds the view on first access)."""
        return self.view.widget

    @property
    def figure(self):
        """The plotly ``FigureWidget`` (builds the view on first access)."""
        return self.view.figure

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.state.describe()})"


class TeachingView:
    """Base of the teaching views: controls wired to the state's commands, redraw on
    ``revision``.

    A subclass builds ``widget``, ``figure``, ``controls`` (name -> control) and
    ``message_box`` (where a rejected value is shown: ``print`` is lost in callbacks), then
    calls ``_start()``; it implements ``sync_controls()`` (state -> controls) and ``redraw()``.
    """

    css_prefix = ""

    def __init__(self, state):
        self.state = state
        self._syncing = False  # True while state is pushed into the controls

    def _start(self):
        self.state.observe(lambda change: self.refresh(), "revision")
        self.refresh()

    def refresh(self):
        """Push the state into the controls, then redraw the figure."""
        self.sync_controls()
        self.redraw()

    def sync_controls(self):
        raise NotImplementedError

    def redraw(self):
        raise NotImplementedError

    def push(self, control, **values):
        """Set trait values on a control, in the given order (``max`` before ``value``;
        ``options`` before ``value``), without re-entering our own observers."""
        old, self._syncing = self._syncing, True
        try:
            for name, v in values.items():
                setattr(control, name, v)
        finally:
            self._syncing = old

    def guarded(self, fn, errors=(ValueError, IndexError)):
        """``fn`` for a widget callback: a rejected value shows in ``message_box`` and the
        controls go back to the state's values."""
        def run(*args):
            try:
                return fn(*args)
            except errors as e:
                self.message_box.value = error_html(e)
                self.sync_controls()
        return run

    def _wire(self, actions):
        """Each control in ``self.controls`` calls ``actions[name](new value)`` on release."""
        for name, w in self.controls.items():
            w.continuous_update = False  # one action per release: the kernel may be on a slow CPU
            w.add_class(f"{self.css_prefix}-{name}")
            w.observe(self._handler(self.guarded(actions[name])), "value")

    def _handler(self, fn):
        def handler(change):
            if not self._syncing:  # a value pushed from the state is no user action
                fn(change["new"])
        return handler

    def _button(self, label, css, fn, **kw):
        b = W.Button(description=label, **kw)
        b.add_class(f"{self.css_prefix}-{css}")
        b.on_click(self.guarded(lambda _b: fn()))
        return b

    def _html(self, css):
        h = W.HTML()
        h.add_class(f"{self.css_prefix}-{css}")
        return h

    def _figure_box(self):
        box = W.Box([self.figure], layout={"width": "100%"})
        box.add_class(f"{self.css_prefix}-figure")
        return box
