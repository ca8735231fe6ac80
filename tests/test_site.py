"""The built site, opened page by page in a real browser (headless Debian Chromium).

The site is built with ``mkdocs build --strict`` and with ``zensical build --strict``
from the same ``mkdocs.yml``, both rendered from the outputs the suite just produced,
served on 127.0.0.1, and every page is checked for
what a reader would notice: an error, a diagram or equation that did not render, a
broken image, link or anchor, or a request to any host but the site's own.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import pytest

from browsing import RENDERED, Visit, page_urls
from conftest import GENERATORS

pytestmark = [pytest.mark.browser, pytest.mark.site, pytest.mark.xdist_group("blocks")]


@pytest.mark.parametrize("generator", GENERATORS)
def test_every_page_renders(browser, generator: str, request: pytest.FixtureRequest) -> None:
    """Each page, built by MkDocs and by Zensical: status 200, no console error, no foreign request, all rendered."""
    prefix = "" if generator == "mkdocs" else "zensical_"
    server, site = request.getfixturevalue(f"{prefix}server"), request.getfixturevalue(f"{prefix}site")
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


# --8<-- [start:instant]
def test_instant_navigation_renders_math_and_diagrams(browser, server: str) -> None:
    """After an instant (no reload) navigation, equations and diagrams still render."""
    visit = Visit(browser, server, server)
    page = visit.page
    page.evaluate("window.notReloaded = true")  # a full page load would forget this
    page.click("article a[href$='foundations/attention/']")
    page.wait_for_url("**/foundations/attention/")
    page.wait_for_function(RENDERED, timeout=20_000)
    assert page.evaluate("window.notReloaded === true"), "the link reloaded the page instead of navigating instantly"
    assert page.evaluate("document.querySelectorAll('.arithmatex .katex').length") >= 4
    assert visit.problems == []
    visit.close()
# --8<-- [end:instant]


# --8<-- [start:search]
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
# --8<-- [end:search]


def test_tables_sort_by_a_clicked_column(browser, server: str) -> None:
    """Plain tables sort by a clicked heading, numerically for numeric columns."""
    visit = Visit(browser, server, urljoin(server, "map/export-controls/"))
    page = visit.page
    table = page.locator("article table", has=page.locator("th", has_text="TPP")).first
    column = [h.strip() for h in table.locator("th").all_inner_texts()].index("TPP") + 1
    cells = table.locator(f"tbody tr td:nth-child({column})")

    def values() -> list[float]:
        return [float(t.replace(",", "")) for t in cells.all_inner_texts()]

    unsorted = values()
    table.locator("th", has_text="TPP").first.click()
    first = values()
    table.locator("th", has_text="TPP").first.click()
    second = values()
    assert sorted(unsorted) in (first, second) and sorted(unsorted, reverse=True) in (first, second)
    assert first != unsorted or second != unsorted
    assert visit.problems == []
    visit.close()


def test_both_generators_build_the_same_pages(site: Path, zensical_server: str, zensical_site: Path) -> None:
    """Zensical skips plugins it does not support without a word: it must not lose a page.

    The notebook pages are the ones that vanished under mkdocs-jupyter; they are
    ``notebook`` fences now, and both builds must have them, with their download.
    """

    def pages(folder: Path) -> set[str]:
        return {str(p.relative_to(folder)) for p in folder.rglob("*.html")}

    assert pages(site) == pages(zensical_site)
    for notebook in ("foundations/attention-maps/index.html", "labs/distillation-notebook/index.html"):
        for folder in (site, zensical_site):
            assert 'download="' in (folder / notebook).read_text(encoding="utf-8"), f"{folder.name}: {notebook}"
