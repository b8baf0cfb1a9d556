"""The layering rule of DESIGN.md: a layer imports only the layers below it.

Two checks: the source of every module is read with ``ast`` and every import in it (module
level *and* inside functions, relative imports resolved) is checked against its layer's list;
and a subprocess imports each package and checks what ended up in ``sys.modules``.
"""

import ast
import pathlib
import subprocess
import sys

import pytest

import kan_widgets

ROOT = pathlib.Path(kan_widgets.__file__).parent

FORBIDDEN = {
    "kan_widgets.core": ["sympy", "ipywidgets", "plotly", "matplotlib", "IPython", "traitlets",
                         "kan_widgets.symbolic", "kan_widgets.explore", "kan_widgets.widgets"],
    "kan_widgets.symbolic": ["ipywidgets", "plotly", "matplotlib", "kan_widgets.explore",
                             "kan_widgets.widgets"],
    "kan_widgets.explore": ["ipywidgets", "plotly", "matplotlib", "kan_widgets.widgets"],
    "kan_widgets.discovery": ["ipywidgets", "plotly", "matplotlib", "traitlets",
                             "kan_widgets.explore", "kan_widgets.widgets"],
    "kan_widgets": ["ipywidgets", "plotly", "kan_widgets.widgets"],
}
# top-level modules sit above every subpackage; importing any subpackage loads them (the
# package __init__ runs first), so only the source check can see a reach-up to them
TOP_LEVEL = ["kan_widgets.datasets"]
# discovery sits above core and symbolic and takes the user's Dataset: it may use datasets
SOURCE_FORBIDDEN = {p: v + (TOP_LEVEL if p not in ("kan_widgets", "kan_widgets.discovery") else [])
                    for p, v in FORBIDDEN.items()}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: pathlib.Path, name=None):
    """(absolute module name, line) of every import statement anywhere in the file, which
    is module ``name`` (default: from its path in the package)."""
    name = name or _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            yield mod, node.lineno
            for alias in node.names:  # `from . import symbolic` imports a module
                yield f"{mod}.{alias.name}", node.lineno


def _layer_files(package):
    """The modules that belong to ``package``'s layer (for the top level: its own modules,
    not the subpackages, which are layers of their own)."""
    if package == "kan_widgets":
        return sorted(ROOT.glob("*.py"))
    return sorted((ROOT / package.split(".", 1)[1]).rglob("*.py"))


def _hits(imported, forbidden):
    return imported == forbidden or imported.startswith(forbidden + ".")


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_source_imports_only_lower_layers(package):
    files = _layer_files(package)
    assert files
    bad = [f"{f.relative_to(ROOT.parent)}:{line} imports {mod}"
           for f in files for mod, line in _imports(f)
           for forbidden in SOURCE_FORBIDDEN[package] if _hits(mod, forbidden)]
    assert not bad, f"{package} reaches up or out (DESIGN.md layering): {bad}"


def test_source_check_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from ..symbolic import parse\n    import sympy\n")
    found = {m for m, _ in _imports(probe, "kan_widgets.core.probe")}
    assert {"kan_widgets.symbolic", "kan_widgets.symbolic.parse", "sympy"} <= found


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
