"""Shared paths and environment for the test suite."""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: pages, snippets and mkdocs.yml are resolved from here."""


def run_env() -> dict[str, str]:
    """The environment a reader's shell would have after ``make setup``.

    The venv's ``bin`` comes first on ``PATH`` (so ``mlatlas`` is this checkout's),
    matplotlib draws off-screen, and nothing may reach a model hub.
    """
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(MPLBACKEND="Agg", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


# --- the built site, served and opened in a browser (shared by every browser test) ---


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the site once per test session, strictly, into a temporary folder."""
    from browsing import build_site

    if not (ROOT / "docs/assets/vendor/.stamp").exists():
        pytest.fail("docs/assets/vendor is missing: run `make test`, which copies the npm assets")
    out = tmp_path_factory.mktemp("site")
    result = build_site(out)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return out


@pytest.fixture(scope="session")
def server(site: Path) -> Iterator[str]:
    """Serve the built site on a free loopback port; yield its base URL."""
    from browsing import QuietHandler

    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    from browsing import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `make test`, which installs Debian chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
