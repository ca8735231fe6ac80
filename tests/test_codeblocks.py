"""Every code block a reader sees on a page is run here, exactly as shown, once.

Pages are expanded the way the site expands them (see ``pages.py``); each Python
block (always an include of a file in ``snippets/``) and each shell block runs in a
fresh process from the repository root, as a reader would run it after copying it
(the ``executed`` fixture). What they print goes into a fresh execution store, from
which the test build of the site is rendered; the committed store (``store/``) must
hold exactly those blocks, each entry current.
"""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil

import pytest

import mlatlas
from conftest import ROOT
from mlatlas.store import Store
from pages import EXECUTED, Block, all_blocks, blocks_of, run_by_pytest, shows_the_suite, unexecuted

BLOCKS = all_blocks()
# A block that shows the suite's own tests is run by pytest itself, with its fixtures.
RUNNABLE = [b for b in BLOCKS if b.lang in EXECUTED and not shows_the_suite(b)]


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.id for b in RUNNABLE])
def test_block_runs(block: Block, executed) -> None:
    """The block exits 0 and prints something (a block that shows nothing is a smell)."""
    assert block.id in executed.outcomes, f"{block.id} did not run: an earlier block of its session failed"
    entry, outcome = executed.outcomes[block.id]
    assert outcome.returncode == 0, f"{block.id} failed:\n{outcome.output}\n{outcome.stderr}"
    assert outcome.output.strip(), f"{block.id} printed nothing"


def test_committed_store_is_current(executed) -> None:
    """``store/`` holds a current entry for every block and nothing else, so the site shows what the code prints.

    When it does not, this refreshes ``store/`` from this run (the stale and missing
    entries replaced, the unused removed) and fails: commit ``store/``.
    """
    if os.environ.get("MLATLAS_NEWEST") == "1":
        pytest.skip("the newest-releases run: every stored output is stale under new versions")
    committed = Store(ROOT / "store", ROOT)
    if not executed.stale and not executed.unused:
        return
    refreshed = 0
    for block_id in executed.stale:
        if block_id in executed.outcomes and executed.outcomes[block_id][1].returncode == 0:
            committed.put(executed.outcomes[block_id][0])
            refreshed += 1
    for key in executed.unused:
        committed.remove(key)
    reasons = "\n".join(f"  {block_id}: {why}" for block_id, why in sorted(executed.stale.items()))
    pytest.fail(
        f"store/ was not current ({len(executed.stale)} blocks, {len(executed.unused)} unused entries);"
        f" refreshed {refreshed} and removed the unused from this run: commit store/\n{reasons}"
    )


def test_every_block_is_run_or_rendered() -> None:
    """No page shows a code block that neither this suite runs nor the browser renders."""
    assert RUNNABLE, "found no runnable block at all: is the page discovery broken?"
    assert unexecuted(BLOCKS) == []


def test_the_guard_catches_an_unexecuted_block() -> None:
    """The check above really fails on a stray block and on Python written in a page."""
    page = '```yaml\na: 1\n```\n\n```python\nprint("typed into the page")\n```\n'
    problems = unexecuted(blocks_of(page, "stray.md"))
    assert len(problems) == 2
    assert "```yaml" in problems[0] and "snippets/" in problems[1]


def test_the_guard_accepts_only_test_code_that_pytest_runs() -> None:
    """Sections of the suite may be shown unexecuted, but only as includes of files pytest runs."""
    shown = '```python title="tests/test_site.py"\n--8<-- "tests/test_site.py:search"\n```\n'
    (block,) = blocks_of(shown, "shown.md")
    assert shows_the_suite(block) and unexecuted([block]) == []
    assert "def test_search_and_dark_mode(" in block.code
    # executed, or mixed with code typed into the page: then the snippets/ rule applies and rejects it
    executed = shown.replace("```python", '```python exec="on"')
    mixed = shown.replace('search"\n', 'search"\nprint("typed into the page")\n')
    for page in (executed, mixed):
        (block,) = blocks_of(page, "mixed.md")
        assert not shows_the_suite(block)
        assert "snippets/" in unexecuted([block])[0]
    assert run_by_pytest("tests/test_site.py") and run_by_pytest("tests/browsing.py")
    assert not run_by_pytest("snippets/engineering/agents_loop.py") and not run_by_pytest("tests/nothing.py")


def test_includes_expand_like_the_site() -> None:
    """An include becomes the snippet file's exact text."""
    snippet = ROOT / "snippets/attention/kv_cache_sizes.py"
    page = f'```python\n--8<-- "{snippet.relative_to(ROOT)}"\n```\n'
    (block,) = blocks_of(page, "include.md")
    assert block.code.strip() == snippet.read_text(encoding="utf-8").strip()


def test_every_snippet_is_shown() -> None:
    """Each file in snippets/ is included by a page (a notebook in a ``notebook`` fence)."""
    included = "\n".join(b.raw for b in BLOCKS)
    orphans = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "snippets").rglob("*.py"))
        if str(path.relative_to(ROOT)) not in included
    ]
    assert orphans == []


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(mlatlas.__path__, "mlatlas.") if "._" not in m.name)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str) -> None:
    """Examples in docstrings appear in the API reference, so they run too."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_every_public_module_has_a_reference_page() -> None:
    """The API reference covers every public module of mlatlas."""
    reference = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs/reference").glob("*.md"))
    missing = [name for name in _modules() if f"::: {name}\n" not in reference]
    assert missing == []
