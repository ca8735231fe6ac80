"""The code blocks of the site's pages, expanded exactly as the site expands them.

A page's Markdown is first run through ``pymdownx.snippets`` with the options from
``mkdocs.yml`` (so ``--8<--`` includes become the snippet's text, as on the site),
then ``pytest-codeblocks`` extracts its fenced blocks.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import markdown
import yaml
from pytest_codeblocks import extract_from_buffer

from conftest import ROOT
from mlatlas.store import Block as StoreBlock

DOCS = ROOT / "docs"
EXECUTED = {"python", "bash", "notebook"}
"""Languages whose blocks the suite runs (a ``notebook`` fence holds a jupytext script).
Mermaid is rendered by the browser test."""
RENDERED = {"mermaid"}


@dataclass(frozen=True)
class Block:
    """One fenced code block of one page."""

    page: str
    lineno: int
    lang: str
    options: str
    code: str
    raw: str

    @property
    def id(self) -> str:
        """A test id such as ``foundations/attention.md:42``."""
        return f"{self.page}:{self.lineno}"

    @property
    def session(self) -> str:
        """The markdown-exec session the block runs in (``""`` for none)."""
        found = re.search(r'\bsession="([^"]*)"', self.options)
        return found.group(1) if found else ""

    def for_store(self) -> StoreBlock:
        """The block as the execution store runs it."""
        return StoreBlock(self.page, self.lineno, self.lang, self.code, self.session)


@cache
def _snippets_config() -> dict:
    """The ``pymdownx.snippets`` options that ``mkdocs.yml`` gives the site."""

    class _Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml uses !ENV and !!python/name tags; only the plain options matter here.
    _Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)
    for ext in config["markdown_extensions"]:
        if isinstance(ext, dict) and "pymdownx.snippets" in ext:
            return ext["pymdownx.snippets"]
    raise AssertionError("mkdocs.yml does not configure pymdownx.snippets")


def expand(text: str) -> str:
    """Expand ``--8<--`` includes the way the site does, from the repository root."""
    md = markdown.Markdown(
        extensions=["pymdownx.snippets"],
        extension_configs={"pymdownx.snippets": _snippets_config()},
    )
    with contextlib.chdir(ROOT):  # base_path is relative to where mkdocs runs
        lines = md.preprocessors["snippet"].run(text.splitlines())
    return "\n".join(lines) + "\n"


def blocks_of(text: str, page: str) -> list[Block]:
    """The fenced code blocks of one page's Markdown, includes expanded."""
    raw_blocks = extract_from_buffer(io.StringIO(text))
    expanded = extract_from_buffer(io.StringIO(expand(text)))
    if len(raw_blocks) != len(expanded):
        raise AssertionError(f"{page}: an include added or removed a code fence")
    out = []
    for raw, block in zip(raw_blocks, expanded, strict=True):
        lang, _, options = (block.syntax or "").strip().partition(" ")
        out.append(Block(page, raw.lineno, lang, options.strip(), block.code, raw.code))
    return out


def pages() -> list[Path]:
    """Every Markdown page of the site."""
    return sorted(DOCS.rglob("*.md"))


def all_blocks() -> list[Block]:
    """Every fenced code block on every page."""
    return [
        block
        for path in pages()
        for block in blocks_of(path.read_text(encoding="utf-8"), str(path.relative_to(DOCS)))
    ]


def shows_the_suite(block: Block) -> bool:
    """Whether a block shows the test suite's own code instead of an example.

    Such a block is Python made only of includes from ``tests/`` (normally a
    ``# --8<-- [start:name]`` section of a test module) and has no ``exec`` option:
    the code needs pytest's fixtures (a built site, a browser), so neither the page
    build nor ``test_codeblocks.py`` runs it as a script; pytest runs it, because it
    is the test. :func:`unexecuted` checks that each included file is one pytest runs.
    """
    lines = block.raw.strip().splitlines()
    return (
        block.lang == "python"
        and "exec=" not in block.options
        and bool(lines)
        and all(line.startswith('--8<-- "tests/') for line in lines)
    )


def run_by_pytest(path: str) -> bool:
    """Whether ``path`` (from the repository root) is a test module or a module of ``tests/`` one imports."""
    file = ROOT / path
    if file.parent != ROOT / "tests" or file.suffix != ".py" or not file.is_file():
        return False
    if file.name.startswith("test_") or file.name == "conftest.py":
        return True
    imported = re.compile(rf"^(from {file.stem} import|import {file.stem}\b)", re.MULTILINE)
    return any(imported.search(t.read_text(encoding="utf-8")) for t in (ROOT / "tests").glob("*.py"))


def unexecuted(blocks: list[Block]) -> list[str]:
    """Why each block that the suite would not run is not allowed on the site.

    Returns:
        One message per offending block; empty when every block is run or rendered.
    """
    problems = []
    for b in blocks:
        if b.lang in RENDERED:
            continue
        if b.lang not in EXECUTED:
            problems.append(f"{b.id}: a ```{b.lang or '(no language)'} block is shown but nothing runs it")
        elif shows_the_suite(b):
            files = [line.split('"')[1].split(":")[0] for line in b.raw.strip().splitlines()]
            not_run = [f for f in files if not run_by_pytest(f)]
            problems += [f"{b.id}: {f} is shown as test code but pytest does not run it" for f in not_run]
        elif b.lang in {"python", "notebook"} and not all(
            line.startswith('--8<-- "snippets/') for line in b.raw.strip().splitlines()
        ):
            problems.append(
                f"{b.id}: Python must be included from snippets/ with --8<--, not written in the page"
                " (or, without exec, be sections of the test suite's own files in tests/)"
            )
    return problems
