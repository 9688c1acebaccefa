"""Shared fixtures: the app served in-process on a free port, and a real browser (Debian chromium driven by
Playwright; never `playwright install`).

Browser tests skip when chromium is missing, except under TRM_VIZ_REQUIRE_BROWSER=1 (CI), where that fails.
The app uses the checkpoints TRM_VIZ_CHECKPOINTS selects (default: the repository's checkpoints/).
"""
from __future__ import annotations

import os

# Before torch is imported: on a CPU shared with other jobs, spinning OpenMP threads make a trace ~10x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import shutil  # noqa: E402
import socket  # noqa: E402

import pytest  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    """A port nothing listens on right now (Gradio refuses server_port=0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("TRM_VIZ_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium); browser tests skipped")
    return path


@pytest.fixture(scope="session")
def registry():
    """The shipped-checkpoint registry the app uses; tests that run a model need its Sudoku checkpoint."""
    from trm_viz.ui.models import ModelRegistry

    reg = ModelRegistry()
    if "sudoku" not in reg.available():
        pytest.skip(f"no Sudoku checkpoint in {reg.root} (set TRM_VIZ_CHECKPOINTS to a folder of <task>/ "
                    "checkpoints)")
    reg.get("sudoku")
    return reg


@pytest.fixture(scope="session")
def app_server(registry):
    """The whole app (build_app + launch_kwargs, as app.py serves it) on 127.0.0.1:<free port>. Yields the
    launched gr.Blocks; its ``local_url`` is the page."""
    from trm_viz.ui.app_layout import build_app, launch_kwargs

    demo = build_app(registry, warm=False)
    kwargs = launch_kwargs()
    kwargs.update(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    demo.launch(**kwargs)
    try:
        yield demo
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser():
    """One headless chromium per test module (two live Playwright instances in one thread are not allowed, so it
    is not kept across modules)."""
    path = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
