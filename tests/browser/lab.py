"""Real-browser test helpers: JupyterLab/Voila servers and Playwright conveniences.

Follows the measured recipe in BROWSER-TESTING.md (shared notes). Everything here waits on
server or DOM state with bounded timeouts; the only fixed pause is the ~100 ms hover pause
plotly needs before a click.

Typical use (fixtures come from ``tests/browser/conftest.py``)::

    from .lab import (open_notebook, plotly_click_trace, run_all, screenshot,
                      wait_for_plotly, wait_for_text)

    def test_something(lab, page):
        lab.add_notebook("notebooks/demo.ipynb")          # or lab.write_notebook(name, nb)
        open_notebook(page, lab, "demo.ipynb")
        run_all(page)
        graph = wait_for_plotly(page)
        plotly_click_trace(page, graph, "edge 0")
        wait_for_text(page, ".kw-formula", "x**2")
        screenshot(page, "demo-clicked")
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts" / "browser"

CHROMIUM = os.environ.get("KW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}

# Timeouts in seconds: generous, but bounded.
SERVER_START_TIMEOUT = 60
KERNEL_IDLE_TIMEOUT = 60
RUN_ALL_TIMEOUT = 180
WIDGET_TIMEOUT = 30
HOVER_PAUSE_MS = 100

ENABLE_HINT = (
    "Browser tests need Debian Chromium at /usr/bin/chromium and the Python playwright "
    "package: `apt-get install -y chromium` and `pip install -e .[test]` "
    "(no `playwright install` needed). Set KW_REQUIRE_BROWSER=1 to make their absence "
    "an error instead of a skip (CI must)."
)


# --------------------------------------------------------------------------------------
# processes and HTTP
# --------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(base: Path) -> dict[str, str]:
    """Environment isolating the servers (and their kernels) from the user's Jupyter state."""
    env = dict(os.environ)
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "jupyter-config"),
        ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
        ("JUPYTER_DATA_DIR", "jupyter-data"),
        ("IPYTHONDIR", "ipython"),
    ]:
        d = base / sub
        d.mkdir(parents=True, exist_ok=True)
        env[var] = str(d)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    # Kernels import the package from this working tree.
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO_ROOT), env.get("PYTHONPATH", "")] if p)
    env.pop("JUPYTER_TOKEN", None)
    return env


def _log_tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "<no log>"


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with code {proc.returncode} before answering {url}\n"
                f"--- log tail ---\n{_log_tail(log)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError) as e:
            last = e
        time.sleep(0.1)
    raise TimeoutError(
        f"{url} did not answer within {timeout} s (last error: {last})\n"
        f"--- log tail ---\n{_log_tail(log)}"
    )


def _stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        proc.wait(timeout=timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------------------
# JupyterLab
# --------------------------------------------------------------------------------------


PYTHON3_KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


@dataclass
class LabServer:
    """A running JupyterLab server. ``url`` has no trailing slash and no token."""

    url: str
    token: str
    root_dir: Path
    port: int
    proc: subprocess.Popen
    log_path: Path
    startup_s: float = 0.0

    # -- REST ---------------------------------------------------------------------------
    def api(self, method: str, path: str, data: Any = None, timeout: float = 30) -> Any:
        """Call the Jupyter server REST API (``path`` like ``/api/sessions``); JSON or None."""
        body = None if data is None else json.dumps(data).encode()
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=body,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def sessions(self) -> list[dict]:
        return self.api("GET", "/api/sessions")

    def kernels(self) -> list[dict]:
        return self.api("GET", "/api/kernels")

    def delete_all_sessions(self, kernels: bool = True) -> None:
        """DELETE every session (which shuts its kernel down), then any leftover kernel."""
        for s in self.sessions():
            with contextlib.suppress(urllib.error.HTTPError):
                self.api("DELETE", f"/api/sessions/{s['id']}")
        if kernels:
            for k in self.kernels():
                with contextlib.suppress(urllib.error.HTTPError):
                    self.api("DELETE", f"/api/kernels/{k['id']}")

    # -- files --------------------------------------------------------------------------
    def add_notebook(self, src: str | os.PathLike, name: str | None = None) -> str:
        """Copy a notebook (path relative to the repo root, or absolute) into root_dir.

        A notebook without kernelspec metadata gets the ``python3`` one (else Lab would stop
        at its "Select Kernel" dialog). Returns its name relative to root_dir, for
        :func:`open_notebook`.
        """
        src = Path(src)
        if not src.is_absolute():
            src = REPO_ROOT / src
        name = name or src.name
        nb = json.loads(src.read_text(encoding="utf-8"))
        if "kernelspec" not in nb.get("metadata", {}):
            nb.setdefault("metadata", {})["kernelspec"] = dict(PYTHON3_KERNELSPEC)
        dest = self.root_dir / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(nb, indent=1), encoding="utf-8")
        return name

    def write_notebook(self, name: str, nb) -> Path:
        """Write an ``nbformat`` notebook node to ``root_dir/name``; returns the path.

        Adds the ``python3`` kernelspec when the notebook has none (see add_notebook).
        """
        import nbformat

        if "kernelspec" not in nb.metadata:
            nb.metadata["kernelspec"] = dict(PYTHON3_KERNELSPEC)
        dest = self.root_dir / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(dest))
        return dest

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"

    # -- lifecycle ----------------------------------------------------------------------
    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.delete_all_sessions()
            with contextlib.suppress(Exception):
                self.api("POST", "/api/shutdown", timeout=10)
        _stop_process(self.proc)


LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def start_lab(base: Path, timeout: float = SERVER_START_TIMEOUT) -> LabServer:
    """Start JupyterLab on 127.0.0.1 with a random token; root_dir is ``base/root``."""
    base = Path(base)
    root = base / "root"
    settings = base / "settings"
    workspaces = base / "ws"
    for d in (root, settings, workspaces):
        d.mkdir(parents=True, exist_ok=True)
    for rel, value in LAB_SETTINGS.items():
        p = settings / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(value))
    env = _server_env(base)
    last_error: Exception | None = None
    for attempt in range(3):  # a free port can be taken between probing and binding
        port = free_port()
        token = secrets.token_hex(24)
        log_path = base / f"lab-{attempt}.log"
        cmd = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workspaces}",
        ]  # fmt: skip
        t0 = time.monotonic()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_http(f"{url}/api/status?token={token}", proc, log_path, timeout)
        except Exception as e:  # retried, then re-raised
            last_error = e
            _stop_process(proc, timeout=0)
            continue
        return LabServer(url, token, root, port, proc, log_path, time.monotonic() - t0)
    raise RuntimeError(f"JupyterLab did not start: {last_error}")


# --------------------------------------------------------------------------------------
# Voila
# --------------------------------------------------------------------------------------


@dataclass
class VoilaServer:
    """A running Voila server for one notebook; the notebook renders at ``url`` + ``/``."""

    url: str
    notebook: Path
    port: int
    proc: subprocess.Popen
    log_path: Path
    startup_s: float = 0.0
    extra: dict = field(default_factory=dict)

    def stop(self) -> None:
        # Voila handles SIGTERM by stopping its loop and shutting down all kernels.
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _stop_process(self.proc)


def start_voila(
    notebook: str | os.PathLike, base: Path, timeout: float = SERVER_START_TIMEOUT
) -> VoilaServer:
    notebook = Path(notebook).resolve()
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    env = _server_env(base)
    last_error: Exception | None = None
    for attempt in range(3):
        port = free_port()
        log_path = base / f"voila-{attempt}.log"
        cmd = [
            sys.executable, "-m", "voila", str(notebook), "--no-browser",
            "--Voila.ip=127.0.0.1", f"--Voila.port={port}", "--Voila.port_retries=0",
        ]  # fmt: skip
        t0 = time.monotonic()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, cwd=notebook.parent, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_http(f"{url}/voila/static/voila.js", proc, log_path, timeout)
        except Exception as e:  # retried, then re-raised
            last_error = e
            _stop_process(proc, timeout=0)
            continue
        return VoilaServer(url, notebook, port, proc, log_path, time.monotonic() - t0)
    raise RuntimeError(f"Voila did not start: {last_error}")


# --------------------------------------------------------------------------------------
# driving pages
# --------------------------------------------------------------------------------------

_KERNEL_IDLE_JS = """(name) => {
    const app = window.jupyterapp;
    const w = app && app.shell && app.shell.currentWidget;
    if (!w || !w.sessionContext || !w.context || w.context.path !== name) return false;
    const s = w.sessionContext.session;
    return !!(s && s.kernel && s.kernel.status === 'idle');
}"""


def open_notebook(page, lab: LabServer, name: str, timeout: float = KERNEL_IDLE_TIMEOUT):
    """Open ``root_dir/name`` in JupyterLab and wait until its kernel is idle.

    The notebook must already be in ``root_dir`` (:meth:`LabServer.add_notebook` or
    :meth:`LabServer.write_notebook`). Returns the seconds it took.
    """
    if not (lab.root_dir / name).exists():
        raise FileNotFoundError(f"{name} is not in {lab.root_dir}; add_notebook() it first")
    t0 = time.monotonic()
    page.goto(lab.notebook_url(name), wait_until="domcontentloaded")
    try:
        page.wait_for_function(_KERNEL_IDLE_JS, arg=name, timeout=timeout * 1000, polling=100)
    except Exception as e:
        state = page.evaluate(_LAB_STATE_JS)
        raise TimeoutError(f"{name}: kernel not idle after {timeout} s; page state: {state}") from e
    return time.monotonic() - t0


_LAB_STATE_JS = """() => {
    const app = window.jupyterapp;
    const w = app && app.shell && app.shell.currentWidget;
    const s = w && w.sessionContext && w.sessionContext.session;
    const d = document.querySelector('.jp-Dialog');
    return {app: !!app, widget: w ? (w.context ? w.context.path : w.id) : null,
            kernel: s && s.kernel ? s.kernel.status : null,
            dialog: d ? d.innerText.slice(0, 300) : null};
}"""


_RUN_ALL_START_JS = """() => {
    const st = window.__kwRunAll = {done: false, ok: null, error: null};
    window.jupyterapp.commands.execute('notebook:run-all-cells').then(
        (ok) => { st.ok = ok; st.done = true; },
        (err) => { st.error = String(err); st.done = true; });
    return true;
}"""

_CELL_ERRORS_JS = """() => {
    const w = window.jupyterapp.shell.currentWidget;
    const errs = [];
    for (const cell of w.content.widgets) {
        if (cell.model.type !== 'code') continue;
        for (const o of cell.model.outputs.toJSON()) {
            if (o.output_type === 'error') errs.push(o.ename + ': ' + o.evalue);
        }
    }
    return errs;
}"""


def run_all(page, timeout: float = RUN_ALL_TIMEOUT, check: bool = True) -> float:
    """Run all cells of the current notebook; wait until every cell has executed.

    With ``check`` (default) raise AssertionError listing any cell errors. Returns seconds.
    """
    t0 = time.monotonic()
    page.evaluate(_RUN_ALL_START_JS)
    page.wait_for_function(
        "() => window.__kwRunAll && window.__kwRunAll.done", timeout=timeout * 1000, polling=100
    )
    state = page.evaluate("() => window.__kwRunAll")
    if check:
        errors = page.evaluate(_CELL_ERRORS_JS)
        if errors or state.get("error"):
            raise AssertionError(
                f"run-all failed: {state.get('error') or ''}\n" + "\n".join(errors)
            )
    return time.monotonic() - t0


def open_voila(page, voila: VoilaServer, timeout: float = RUN_ALL_TIMEOUT) -> float:
    """Load the Voila page and wait until the notebook ran and its cells are shown."""
    t0 = time.monotonic()
    page.goto(f"{voila.url}/", wait_until="domcontentloaded", timeout=timeout * 1000)
    page.wait_for_function(
        """() => {
            const r = document.getElementById('rendered_cells');
            return !document.getElementById('loading') && r && r.style.display !== 'none';
        }""",
        timeout=timeout * 1000,
        polling=100,
    )
    return time.monotonic() - t0


def wait_for_selector(page, selector: str, timeout: float = WIDGET_TIMEOUT, state="visible"):
    """Wait for the first element matching ``selector``; returns its Locator."""
    loc = page.locator(selector).first
    loc.wait_for(state=state, timeout=timeout * 1000)
    return loc


def wait_for_text(page, selector: str, text, timeout: float = WIDGET_TIMEOUT, exact=True):
    """Wait until the first ``selector`` element has ``text`` (str or compiled regex).

    ``exact=False`` means "contains". Returns the Locator. Fails with Playwright's message
    (expected vs. actual text) on timeout.
    """
    from playwright.sync_api import expect

    loc = page.locator(selector).first
    if exact:
        expect(loc).to_have_text(text, timeout=timeout * 1000)
    else:
        expect(loc).to_contain_text(text, timeout=timeout * 1000)
    return loc


_GD = (
    "const gd = el.classList.contains('js-plotly-plot') ? el"
    " : el.querySelector('.js-plotly-plot');"
    " if (!gd) throw new Error('no .js-plotly-plot in the given locator');"
)

_PLOTLY_READY_JS = (
    "(el) => { const gd = el.classList.contains('js-plotly-plot') ? el"
    " : el.querySelector('.js-plotly-plot');"
    " return !!(gd && gd._fullLayout && gd.calcdata && gd.querySelector('.main-svg')); }"
)


def wait_for_plotly(page, selector=".js-plotly-plot", timeout: float = WIDGET_TIMEOUT):
    """Wait until the first plotly graph matching ``selector`` has drawn; returns its Locator.

    ``selector`` is a CSS selector or a Locator (e.g. ``page.locator(".js-plotly-plot")
    .nth(1)``). It may also match a container (e.g. ``.kw-explorer``): the helpers below
    then use the first ``.js-plotly-plot`` inside it.
    """
    loc = (page.locator(selector) if isinstance(selector, str) else selector).first
    loc.wait_for(state="attached", timeout=timeout * 1000)
    handle = loc.element_handle(timeout=timeout * 1000)
    page.wait_for_function(_PLOTLY_READY_JS, arg=handle, timeout=timeout * 1000, polling=100)
    return loc


def _axis_key(axis_id: str, kind: str) -> str:
    # 'x' -> 'xaxis', 'x3' -> 'xaxis3'; 'xaxis2' stays 'xaxis2'.
    if axis_id.startswith(f"{kind}axis"):
        return axis_id
    return f"{kind}axis{axis_id[1:]}"


def _gd_function(params: str, body: str) -> str:
    """A JS arrow function of ``params`` whose body starts with ``gd`` resolved from ``el``."""
    return f"({params}) => {{ {_GD}\n{body} }}"


_SCROLL_JS = (
    "(el) => {" + _GD + " gd.scrollIntoView({block: 'center', inline: 'center'});"
    " return new Promise((res) => { let last = null, same = 0, n = 0;"
    "  const tick = () => { const r = gd.getBoundingClientRect(); const k = r.top + ',' + r.left;"
    "   same = (k === last) ? same + 1 : 0; last = k; n += 1;"
    "   if (same >= 2 || n > 300) res(same >= 2); else requestAnimationFrame(tick); };"
    "  requestAnimationFrame(tick); }); }"
)

_POINT_JS = _gd_function(
    "el, a",
    """
    const L = gd._fullLayout, xa = L[a.xaxis], ya = L[a.yaxis];
    if (!xa || !ya) throw new Error('no axes ' + a.xaxis + '/' + a.yaxis + ' in the figure');
    let px, py;
    if (a.calc) { px = xa.c2p(a.x); py = ya.c2p(a.y); }
    else { px = xa.d2p(a.x); py = ya.d2p(a.y); }
    if (!isFinite(px) || !isFinite(py)) throw new Error('point not on axes: ' + a.x + ',' + a.y);
    const inside = px >= -1 && px <= xa._length + 1 && py >= -1 && py <= ya._length + 1;
    const r = gd.querySelector('.main-svg').getBoundingClientRect();
    return {x: r.left + xa._offset + px, y: r.top + ya._offset + py, inside: inside,
            vw: window.innerWidth, vh: window.innerHeight};
""",
)

_TRACE_JS = _gd_function(
    "el, a",
    """
    const names = gd.data.map((t) => t.name);
    const i = names.indexOf(a.name);
    if (i < 0) throw new Error('no trace named ' + JSON.stringify(a.name) +
                               '; traces: ' + JSON.stringify(names));
    const fd = gd._fullData[i];
    if (!fd.visible || fd.visible === 'legendonly') throw new Error('trace ' + a.name +
                                                                    ' is not visible');
    const cd = (gd.calcdata[i] || []).filter((p) => isFinite(p.x) && isFinite(p.y));
    if (!cd.length) throw new Error('trace ' + a.name + ' has no drawn (x, y) points');
    let x, y;
    if (a.point === 'centroid') {
        x = cd.reduce((s, p) => s + p.x, 0) / cd.length;
        y = cd.reduce((s, p) => s + p.y, 0) / cd.length;
    } else {
        const p = gd.calcdata[i][a.point];
        if (!p || !isFinite(p.x) || !isFinite(p.y)) throw new Error('trace ' + a.name +
                                                    ' has no drawn point ' + a.point);
        x = p.x; y = p.y;
    }
    return {index: i, x: x, y: y, xaxis: fd.xaxis || 'x', yaxis: fd.yaxis || 'y'};
""",
)


_HOVER_JS = """([el, c]) => {
    const gd = el.classList.contains('js-plotly-plot') ? el : el.querySelector('.js-plotly-plot');
    const h = gd && gd._hoverdata;
    return !!(h && h.length && (c === null || h.some((p) => p.curveNumber === c)));
}"""


def _hover_and_click(page, el_loc, pos: dict, curve: int | None) -> dict:
    x, y = pos["x"], pos["y"]
    if not pos["inside"]:
        raise ValueError(f"data point lies outside the plot area (pixel {x:.0f},{y:.0f})")
    if not (0 <= x < pos["vw"] and 0 <= y < pos["vh"]):
        raise ValueError(f"data point is outside the viewport (pixel {x:.0f},{y:.0f})")
    page.mouse.move(max(x - 30, 0), max(y - 30, 0))
    page.mouse.move(x, y, steps=5)
    # Soft wait for plotly's hover state (what plotly_click is fired from); then the pause.
    # Not hovering is reported in the result ("hovered") rather than raised: the caller's
    # assertion on the widget state is the real check.
    hovered = True
    try:
        page.wait_for_function(
            _HOVER_JS, arg=[el_loc.element_handle(), curve], timeout=1500, polling=20
        )
    except Exception:
        hovered = False
    page.wait_for_timeout(HOVER_PAUSE_MS)
    page.mouse.click(x, y)
    return {"x": x, "y": y, "hovered": hovered}


def plotly_click(page, graph, x, y, subplot_axes=("xaxis", "yaxis")) -> dict:
    """Click the data point (x, y) of a plotly graph like a user does.

    ``graph`` is a Locator of the ``.js-plotly-plot`` div (or a container holding one).
    ``subplot_axes`` names the layout axes, e.g. ``("xaxis3", "yaxis3")`` or ``("x3", "y3")``.
    Returns ``{"x", "y", "hovered"}``: the clicked page pixel and whether plotly showed
    hover data there before the click (if not, the click most likely did nothing).
    """
    page.wait_for_function(
        _PLOTLY_READY_JS, arg=graph.element_handle(), timeout=WIDGET_TIMEOUT * 1000
    )
    graph.evaluate(_SCROLL_JS)
    axes = {"xaxis": _axis_key(subplot_axes[0], "x"), "yaxis": _axis_key(subplot_axes[1], "y")}
    pos = graph.evaluate(_POINT_JS, {"x": x, "y": y, "calc": False, **axes})
    return _hover_and_click(page, graph, pos, None)


def plotly_click_trace(page, graph, trace_name: str, point: int | str = 0) -> dict:
    """Click a point of the trace whose ``name`` is ``trace_name``.

    ``point`` is the point index (default: the first) or ``"centroid"`` (mean of its x/y).
    Works on subplots: the trace's own ``xaxis``/``yaxis`` (``x3`` -> ``xaxis3``) are used.
    Returns ``{"x", "y", "hovered", "trace_index"}`` (see :func:`plotly_click`).
    """
    page.wait_for_function(
        _PLOTLY_READY_JS, arg=graph.element_handle(), timeout=WIDGET_TIMEOUT * 1000
    )
    graph.evaluate(_SCROLL_JS)
    t = graph.evaluate(_TRACE_JS, {"name": trace_name, "point": point})
    axes = {"xaxis": _axis_key(t["xaxis"], "x"), "yaxis": _axis_key(t["yaxis"], "y")}
    pos = graph.evaluate(_POINT_JS, {"x": t["x"], "y": t["y"], "calc": True, **axes})
    out = _hover_and_click(page, graph, pos, t["index"])
    out["trace_index"] = t["index"]
    return out


def screenshot(page, name: str, full_page: bool = False) -> Path:
    """Save ``test-artifacts/browser/NAME.png`` at the repo root; returns the path."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
