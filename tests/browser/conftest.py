"""Fixtures for the real-browser tests (JupyterLab / Voila driven by Debian Chromium).

Fixtures
--------
``lab_server`` (session)  one JupyterLab server, see :class:`lab.LabServer`.
``lab``        (function) the same server, with every session/kernel deleted before and
                          after the test. Use this one in tests.
``voila_server`` (session) factory: ``voila_server(notebook_path) -> lab.VoilaServer``;
                          one server per notebook path, reused, stopped at session end.
``browser``    (session)  Playwright Browser: /usr/bin/chromium, headless.
``context``    (function) a fresh BrowserContext (clean profile), viewport 1400x1000.
``page``       (function) a Page in that context. On failure a screenshot
                          ``test-artifacts/browser/FAILED-<test>.png`` and the browser
                          console ``...console.txt`` are saved.
``timings``    (function) dict; whatever a test puts there is appended as one JSON line to
                          ``test-artifacts/browser/timings.jsonl``.

Without Chromium or playwright the tests skip, unless ``KW_REQUIRE_BROWSER=1`` (CI), which
turns that into an error.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from . import lab as labmod

HERE = Path(__file__).resolve().parent
TEST_TIMEOUT_S = 600


def _missing_reason() -> str | None:
    if not Path(labmod.CHROMIUM).exists():
        return f"{labmod.CHROMIUM} not found"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"python playwright not importable ({e})"
    return None


def _require() -> bool:
    return os.environ.get("KW_REQUIRE_BROWSER", "") not in ("", "0")


def pytest_collection_modifyitems(config, items):
    # This hook sees every collected item: touch only ours.
    has_timeout = config.pluginmanager.hasplugin("timeout")
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if has_timeout and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


@pytest.fixture(scope="session", autouse=True)
def _browser_available():
    reason = _missing_reason()
    if reason is None:
        return
    if _require():
        pytest.fail(f"KW_REQUIRE_BROWSER=1 but {reason}. {labmod.ENABLE_HINT}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}. {labmod.ENABLE_HINT}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"kw_rep_{rep.when}", rep)


def _failed(request) -> bool:
    return any(
        getattr(getattr(request.node, f"kw_rep_{w}", None), "failed", False)
        for w in ("setup", "call")
    )


def _safe_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1])[:120]


# ---------------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, _browser_available):
    server = labmod.start_lab(tmp_path_factory.mktemp("jupyterlab"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lab(lab_server):
    """The session's JupyterLab server, with no session or kernel left from other tests."""
    lab_server.delete_all_sessions()
    yield lab_server
    lab_server.delete_all_sessions()


@pytest.fixture(scope="session")
def voila_server(tmp_path_factory, _browser_available):
    servers: dict[Path, labmod.VoilaServer] = {}

    def start(notebook_path) -> labmod.VoilaServer:
        nb = Path(notebook_path)
        if not nb.is_absolute():
            nb = labmod.REPO_ROOT / nb
        nb = nb.resolve()
        if not nb.exists():
            raise FileNotFoundError(nb)
        server = servers.get(nb)
        if server is None or server.proc.poll() is not None:
            server = labmod.start_voila(nb, tmp_path_factory.mktemp("voila"))
            servers[nb] = server
        return server

    try:
        yield start
    finally:
        for server in servers.values():
            server.stop()


# ---------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def _playwright(_browser_available):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def browser(_playwright):
    b = _playwright.chromium.launch(
        executable_path=labmod.CHROMIUM, headless=True, args=labmod.CHROMIUM_ARGS
    )
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport=labmod.VIEWPORT)
    ctx.set_default_timeout(labmod.WIDGET_TIMEOUT * 1000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context, request):
    p = context.new_page()
    console: list[str] = []
    p.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
    p.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
    yield p
    if _failed(request):
        name = "FAILED-" + _safe_name(request.node.nodeid)
        try:
            labmod.screenshot(p, name)
        except Exception as e:  # the page may be gone; the console is still useful
            console.append(f"[harness] screenshot failed: {e}")
        (labmod.ARTIFACTS_DIR / f"{name}.console.txt").write_text("\n".join(console) + "\n")


@pytest.fixture
def timings(request):
    data: dict = {}
    yield data
    if data:
        labmod.ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        row = {"test": request.node.nodeid, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **data}
        with open(labmod.ARTIFACTS_DIR / "timings.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
