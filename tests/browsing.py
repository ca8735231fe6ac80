"""Helpers for the browser tests: build the site, serve it, open pages in Chromium.

The fixtures in ``conftest.py`` use these so that every browser test shares one
strict build, one loopback server and one headless Debian Chromium.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from conftest import ROOT, run_env
from mlatlas.agents import CHROMIUM, CHROMIUM_ARGS  # noqa: F401 (shared with the agent examples; conftest imports them here)

# Material draws each mermaid diagram into a closed shadow root; open it for the test.
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) { return attach.call(this, { ...init, mode: "open" }); };
"""
RENDERED = """() => {
  const math = [...document.querySelectorAll(".arithmatex")];
  const diagrams = [...document.querySelectorAll("div.mermaid")];
  return document.querySelectorAll("pre.mermaid").length === 0
    && diagrams.every(d => d.shadowRoot && d.shadowRoot.querySelector("svg"))
    && math.every(m => m.querySelector(".katex"));
}"""
REPORT = """() => ({
  math: document.querySelectorAll(".arithmatex").length,
  unrenderedMath: [...document.querySelectorAll(".arithmatex")]
    .filter(m => !m.querySelector(".katex")).map(m => m.textContent.slice(0, 60)),
  diagrams: [...document.querySelectorAll("div.mermaid, pre.mermaid")].map(d => {
    const svg = d.shadowRoot && d.shadowRoot.querySelector("svg");
    const error = !!svg && (svg.getAttribute("aria-roledescription") === "error"
      || /Syntax error/.test(svg.textContent));
    return { rendered: !!svg, error };
  }),
  brokenImages: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
  links: [...document.querySelectorAll("a[href]")].map(a => a.href),
})"""




def build_site(out: Path, site_url: str, store: Path, generator: str = "mkdocs") -> subprocess.CompletedProcess[str]:
    """Build the site strictly into ``out`` for a site served at ``site_url``, with MkDocs or Zensical.

    Every executed block is rendered from ``store`` and none is run: a block with no
    current output there fails the build. Both generators read the same ``mkdocs.yml``.
    """
    env = {
        **run_env(), "MLATLAS_SITE_URL": site_url, "MLATLAS_STORE": str(store), "MLATLAS_STORE_MODE": "render",
        "MLATLAS_SITE_DIR": str(out),
    }
    command = {
        "mkdocs": [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        "zensical": [str(Path(sys.executable).parent / "zensical"), "build", "--strict", "--clean", "-f", "mkdocs.yml"],
    }[generator]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)


class QuietHandler(SimpleHTTPRequestHandler):
    """A static file handler that does not log every request."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def page_urls(site: Path, base: str) -> list[str]:
    """The URL of every HTML page of the built site."""
    paths = sorted(p.relative_to(site) for p in site.rglob("index.html"))
    urls = [urljoin(base, "" if str(p.parent) == "." else f"{p.parent}/") for p in paths]
    return [*urls, urljoin(base, "404.html")]


# --8<-- [start:visit]
class Visit:
    """One page opened in a fresh tab, with everything the browser reported."""

    def __init__(self, browser, base: str, url: str) -> None:
        self.base, self.problems = base, []
        context = browser.new_context()
        context.add_init_script(OPEN_SHADOW_ROOTS)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"uncaught exception: {e}"))
        page.on("request", self._check_host)
        page.on("requestfailed", self._check_failure)
        response = page.goto(url, wait_until="networkidle")
        if response is None or response.status != 200:
            self.problems.append(f"status {response and response.status}, expected 200")
        with contextlib.suppress(PlaywrightTimeout):  # the report below says what did not render
            page.wait_for_function(RENDERED, timeout=20_000)
        self.report = page.evaluate(REPORT)
        self.page, self.context = page, context

    def _check_host(self, request) -> None:
        scheme = urlsplit(request.url).scheme
        if scheme in {"data", "blob", "about"}:
            return
        if not request.url.startswith(self.base):
            self.problems.append(f"request to another host: {request.url}")

    def _check_failure(self, request) -> None:
        # Reloading or swapping a page while Chromium still fetches the favicon aborts
        # that fetch: the browser's housekeeping, not something the page asked for.
        if request.url.endswith("/favicon.png") and request.failure == "net::ERR_ABORTED":
            return
        self.problems.append(f"request failed: {request.url} ({request.failure})")

    def close(self) -> None:
        self.context.close()
# --8<-- [end:visit]


