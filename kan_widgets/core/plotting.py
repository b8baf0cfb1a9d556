"""The hook behind ``KAN.plot``: core draws nothing itself (it never imports plotly nor the
widgets layer); a higher layer installs the function that does with ``set_plotter``.
``import kan_widgets`` installs a stand-in that imports ``kan_widgets.widgets.static_plot``
on the first ``plot`` call, so ``plot`` costs nothing until it is used.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["set_plotter", "plot_model", "PYKAN_PLOT_ARGS"]

# pykan's plot(folder=..., beta=..., ...) arguments: what each one becomes here
PYKAN_PLOT_ARGS = {
    "folder": "plot returns a plotly Figure instead of writing files to a folder: save it with "
              "model.plot().write_image('model.png') (or .svg, .pdf)",
    "beta": "opacity follows the attribution score as tanh(3 * score), as pykan's beta=3",
    "metric": "scores come from model.attribute(X); pass scores=model.attribution(X)[0]",
    "scale": "set the size with width_px=...",
    "tick": "the network figure has no axes",
    "sample": "the Explorer (kan_widgets.Explorer(model, data)) shows an edge's samples",
    "in_vars": "input names come from the data of the last fit (a Dataset or DataFrame)",
    "out_vars": "output names come from the data of the last fit (a Dataset or DataFrame)",
    "varscale": "set the size with width_px=...",
}

_plotter: Callable | None = None


def set_plotter(plotter: Callable | None):
    """Install ``plotter(model, **options) -> figure`` behind ``KAN.plot``; returns the
    previous one (``None`` removes it)."""
    global _plotter
    if plotter is not None and not callable(plotter):
        raise TypeError(f"the plotter must be callable; got {plotter!r}")
    previous, _plotter = _plotter, plotter
    return previous


def plot_model(model, options: dict, pykan_args: dict):
    """What ``KAN.plot`` does: refuse pykan's arguments with what to do instead, then call
    the installed plotter."""
    if pykan_args:
        name = next(iter(pykan_args))
        hint = PYKAN_PLOT_ARGS.get(name)
        if hint is None:
            raise TypeError(f"plot() got an unexpected keyword argument {name!r}; it takes "
                            f"{', '.join(options)}")
        raise TypeError(f"plot() has no {name!r} argument (that is pykan's plot): {hint}")
    if _plotter is None:
        raise RuntimeError("model.plot draws with plotly, which kan_widgets.core does not "
                           "import: run `import kan_widgets` (installs the plotter) and call "
                           "it again")
    return _plotter(model, **options)
