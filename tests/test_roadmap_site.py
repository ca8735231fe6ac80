"""The roadmap page in a real browser: its diagrams render, and its checklist remembers.

Uses the suite's shared strict build, loopback server and headless Chromium
(``conftest.py``); each ``Visit`` is a fresh browser context, so its local storage
starts empty.
"""

from __future__ import annotations

import json
from urllib.parse import urljoin

import pytest

from browsing import RENDERED, Visit

pytestmark = pytest.mark.browser

BOX = 'input[data-item="mle/python"]'
OTHER_BOX = 'input[data-item="mle/numpy"]'
BRANCH = '[data-branch="mle/swe"] [data-progress]'
BAR = '[data-branch="mle/swe"] progress'


def _ready(page) -> None:
    """Wait until the checklist script has set the page up (it marks each list)."""
    page.wait_for_function("document.querySelectorAll('.mlatlas-checklist[data-ready]').length === 3")


def test_ticks_update_progress_and_survive_a_reload(browser, server: str) -> None:
    visit = Visit(browser, server, urljoin(server, "map/roadmap/"))
    page, report = visit.page, visit.report
    assert len(report["diagrams"]) >= 10
    assert all(d["rendered"] and not d["error"] for d in report["diagrams"])
    _ready(page)
    assert page.inner_text(BRANCH) == "0 / 17"
    assert not page.is_checked(BOX)

    page.check(BOX)
    assert page.inner_text(BRANCH) == "1 / 17"
    assert page.get_attribute(BAR, "value") == "1"
    assert page.inner_text('[data-checklist="roadmap"] [data-total]') == "1 / 91"
    stored = json.loads(page.evaluate("localStorage.getItem('mlatlas.roadmap.v1')"))
    assert stored == {"mle/python": True}

    page.reload(wait_until="networkidle")
    page.wait_for_function(RENDERED, timeout=20_000)
    _ready(page)
    assert page.is_checked(BOX)
    assert page.inner_text(BRANCH) == "1 / 17"

    page.uncheck(BOX)
    assert page.inner_text(BRANCH) == "0 / 17"
    assert json.loads(page.evaluate("localStorage.getItem('mlatlas.roadmap.v1')")) == {}
    assert visit.problems == []
    visit.close()


def test_checklist_works_after_instant_navigation(browser, server: str) -> None:
    """Material swaps the page without a reload: the script must set up the new page."""
    visit = Visit(browser, server, urljoin(server, "map/roadmap/"))
    page = visit.page
    _ready(page)
    page.check(BOX)
    page.evaluate("window.__sameDocument = true")
    page.click("a.md-footer__link--next")  # Material intercepts it: no page load
    page.wait_for_url("**/map/multimodal/")
    page.wait_for_function("document.querySelectorAll('.mlatlas-checklist').length === 0")
    page.wait_for_function(RENDERED, timeout=20_000)
    page.click("a.md-footer__link--prev")
    page.wait_for_url("**/map/roadmap/")
    _ready(page)
    assert page.evaluate("window.__sameDocument === true")  # still the first document
    assert page.is_checked(BOX)
    page.check(OTHER_BOX)  # listeners are attached on the swapped-in page too
    assert page.inner_text(BRANCH) == "2 / 17"
    page.click('[data-checklist="roadmap"] [data-reset]')
    assert page.inner_text(BRANCH) == "0 / 17"
    assert visit.problems == []
    visit.close()
