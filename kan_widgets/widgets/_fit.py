"""Keep plotly figures as wide as their box: a tiny invisible anywidget.

plotly's ``FigureWidget`` sizes an ``autosize`` figure when it is first drawn and again on a
window resize, but not when only its box changes (the Explorer's grid switching columns when
the side bar opens, a panel drawn before its box had a width: it then falls back to 700 px).
``FitPlots`` watches the box of the Explorer (``ResizeObserver``) and resizes each plotly graph
inside whose width differs from its box's (``Plotly.Plots.resize``), skipping figures with a
fixed width. Python is not involved: no round trip, nothing to do when the kernel is busy.
"""

from __future__ import annotations

import anywidget
import traitlets

__all__ = ["FitPlots"]

_ESM = """
function render({ model, el }) {
  el.style.display = "none";
  let root = null, observer = null, frame = 0, tries = 0;
  const timers = [];
  const fit = () => {
    frame = 0;
    const Plotly = window.Plotly;
    if (!root || !Plotly || !Plotly.Plots) return;
    for (const gd of root.querySelectorAll(".js-plotly-plot")) {
      const full = gd._fullLayout;
      if (!full || !gd.layout || gd.layout.autosize === false) continue;
      const w = gd.clientWidth;
      if (w > 0 && Math.abs(w - full.width) > 1) Plotly.Plots.resize(gd);
    }
  };
  const schedule = () => { if (!frame) frame = requestAnimationFrame(fit); };
  const attach = () => {
    root = el.closest(model.get("scope"));
    if (!root) {  // not in the page yet
      if (++tries < 100) timers.push(setTimeout(attach, 100));
      return;
    }
    observer = new ResizeObserver(schedule);
    observer.observe(root);
    // figures drawn after the box settled do not resize it: look again a few times
    for (const t of [0, 300, 1000, 2500]) timers.push(setTimeout(schedule, t));
  };
  attach();
  return () => {
    if (observer) observer.disconnect();
    timers.forEach(clearTimeout);
    if (frame) cancelAnimationFrame(frame);
  };
}
export default { render };
"""


class FitPlots(anywidget.AnyWidget):
    """Put one inside a box: the plotly graphs in the nearest ancestor matching ``scope`` (a
    CSS selector) follow the width of their boxes."""

    _esm = _ESM
    scope = traitlets.Unicode(".kw-explorer").tag(sync=True)

    def __init__(self, scope=".kw-explorer", **kw):
        super().__init__(scope=scope, **kw)
        self.add_class("kw-fit-plots")
