"""Shared fixtures: the app served in-process on a free port, and a real browser (Debian chromium driven by
Playwright; never `playwright install`).

Browser tests skip when chromium is missing, except under TRM_VIZ_REQUIRE_BROWSER=1 (CI), where that fails.
The app uses the checkpoints TRM_VIZ_CHECKPOINTS selects (default: the repository's checkpoints/). Its files go
to a temporary Gradio cache of the test session's own: tests that sweep it must not delete the files of an app
running beside them (files.py).
"""
from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
from contextlib import contextmanager

os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="trm_viz_tests_")   # before Gradio is imported
atexit.register(shutil.rmtree, os.environ["GRADIO_TEMP_DIR"], ignore_errors=True)

import pytest  # noqa: E402

import trm_viz  # noqa: F401,E402  (first of the package: it sets OMP_WAIT_POLICY before torch is imported)

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
    assert "sudoku" in reg.available(), f"the shipped Sudoku checkpoint is missing from {reg.root}"
    reg.get("sudoku")
    return reg


@contextmanager
def served(demo):
    """A built app launched as app.py serves it (launch_kwargs) on 127.0.0.1:<free port>, closed afterwards.
    Yields the launched gr.Blocks; its ``local_url`` is the page."""
    from trm_viz.ui.app_layout import launch_kwargs

    kwargs = launch_kwargs()
    kwargs.update(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    demo.launch(**kwargs)
    try:
        yield demo
    finally:
        demo.close()


@pytest.fixture(scope="session")
def app_server(registry):
    """The whole app with the shipped checkpoints, served (see ``served``)."""
    from trm_viz.ui.app_layout import build_app

    with served(build_app(registry, warm=False)) as demo:
        yield demo


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
