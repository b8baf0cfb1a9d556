"""The layering rule of DESIGN.md: a layer imports only the layers below it."""

import subprocess
import sys

import pytest

FORBIDDEN = {
    "kan_widgets.core": ["sympy", "ipywidgets", "plotly", "matplotlib", "IPython", "traitlets",
                         "kan_widgets.symbolic", "kan_widgets.explore", "kan_widgets.widgets"],
    "kan_widgets.symbolic": ["ipywidgets", "plotly", "matplotlib", "kan_widgets.explore",
                             "kan_widgets.widgets"],
    "kan_widgets.explore": ["ipywidgets", "plotly", "matplotlib", "kan_widgets.widgets"],
    "kan_widgets": ["ipywidgets", "plotly", "kan_widgets.widgets"],
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_lower_layers(package):
    code = (
        "import importlib, sys, pkgutil\n"
        f"pkg = importlib.import_module({package!r})\n"
        "if hasattr(pkg, '__path__') and pkg.__name__ != 'kan_widgets':\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    bad = [m for m in FORBIDDEN[package] if m in loaded]
    assert not bad, f"importing {package} pulled in {bad}: keep the layering of DESIGN.md"
