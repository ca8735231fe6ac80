"""The built site, opened page by page in a real browser (headless Debian Chromium).

The site is built with ``mkdocs build --strict`` (which also executes every
``exec`` block and notebook), served on 127.0.0.1, and every page is checked for
what a reader would notice: an error, a diagram or equation that did not render, a
broken image, link or anchor, or a request to any host but the site's own.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from conftest import ROOT, run_env

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("MLATLAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
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


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the site once, strictly, into a temporary folder."""
    if not (ROOT / "docs/assets/vendor/.stamp").exists():
        pytest.fail("docs/assets/vendor is missing: run `make test`, which copies the npm assets")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=run_env(), capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return out


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """Serve the built site on a free loopback port; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `make test`, which installs Debian chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def page_urls(site: Path, base: str) -> list[str]:
    """The URL of every HTML page of the built site."""
    paths = sorted(p.relative_to(site) for p in site.rglob("index.html"))
    urls = [urljoin(base, "" if str(p.parent) == "." else f"{p.parent}/") for p in paths]
    return [*urls, urljoin(base, "404.html")]


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
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))
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

    def close(self) -> None:
        self.context.close()


def test_every_page_renders(browser, server: str, site: Path) -> None:
    """Each page: status 200, no console error, no foreign request, all rendered."""
    problems: list[str] = []
    anchors: dict[str, set[str]] = {}
    for url in page_urls(site, server):
        visit = Visit(browser, server, url)
        r = visit.report
        found = list(visit.problems)
        found += [f"equation not rendered: {t!r}" for t in r["unrenderedMath"]]
        found += [f"diagram {i} not rendered" for i, d in enumerate(r["diagrams"]) if not d["rendered"]]
        found += [f"diagram {i} shows mermaid's syntax error" for i, d in enumerate(r["diagrams"]) if d["error"]]
        found += [f"image failed to load: {src}" for src in r["brokenImages"]]
        found += _broken_links(r["links"], server, site, anchors)
        problems += [f"{url[len(server) - 1:]}: {p}" for p in found]
        visit.close()
    assert problems == [], "\n".join(problems)


def _broken_links(links: list[str], base: str, site: Path, anchors: dict[str, set[str]]) -> list[str]:
    """Internal links whose page or anchor does not exist in the built site."""
    broken = []
    for link in links:
        if not link.startswith(base):
            continue  # a link to another site is not a request the page makes
        target, fragment = urldefrag(link)
        path = site / target[len(base):]
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            broken.append(f"broken link: {link}")
            continue
        if fragment and path.suffix == ".html":
            if str(path) not in anchors:
                anchors[str(path)] = set(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8")))
            if fragment not in anchors[str(path)]:
                broken.append(f"broken anchor: {link}")
    return broken


def test_the_attention_page_has_its_parts(browser, server: str) -> None:
    """The pipeline's real page: equations, a diagram, executed output, API link."""
    visit = Visit(browser, server, urljoin(server, "foundations/attention/"))
    r = visit.report
    text = visit.page.inner_text("article")
    visit.close()
    assert visit.problems == []
    assert r["math"] >= 4 and r["unrenderedMath"] == []
    assert len(r["diagrams"]) == 1 and r["diagrams"][0]["rendered"]
    # output printed by the snippets at build time, not typed into the page
    assert "decoding == full pass: True" in text
    assert "llama-3-8b (GQA): 128 KiB per token" in text
    assert any(link.endswith("/reference/attention/") for link in r["links"])


def test_instant_navigation_renders_math_and_diagrams(browser, server: str) -> None:
    """After an instant (no reload) navigation, equations and diagrams still render."""
    visit = Visit(browser, server, server)
    page = visit.page
    page.click("article a[href$='foundations/attention/']")
    page.wait_for_url("**/foundations/attention/")
    page.wait_for_function(RENDERED, timeout=20_000)
    assert page.evaluate("document.querySelectorAll('.arithmatex .katex').length") >= 4
    assert visit.problems == []
    visit.close()


def test_search_and_dark_mode(browser, server: str) -> None:
    """Search answers from the local index; the palette toggle switches to dark."""
    visit = Visit(browser, server, server)
    page = visit.page
    page.click("input[data-md-component='search-query']")
    page.keyboard.type("grouped", delay=20)  # Material searches on key events
    page.wait_for_selector(".md-search-result__item", timeout=20_000)
    assert "Attention" in page.inner_text(".md-search-result")
    page.keyboard.press("Escape")
    schemes = set()
    for _ in range(3):  # auto -> light -> dark -> auto
        page.click("form[data-md-component='palette'] label:visible")
        schemes.add(page.evaluate("document.body.getAttribute('data-md-color-scheme')"))
    assert "slate" in schemes
    assert visit.problems == []
    visit.close()
