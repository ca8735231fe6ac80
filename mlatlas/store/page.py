"""What a page with executed code tells its reader: how to install for it, and its notebook.

Every executed block's entry records the installed distributions its processes
imported (:mod:`mlatlas.store.entry`). From those, :func:`install_line` works out the
one ``pip install`` line that makes the page's blocks run: ``mlatlas`` with exactly
the extras whose requirements cover them, plus any distribution no extra provides
(the stand-ins a page runs against, say). Nothing is typed by hand: change what a
snippet imports and the line follows.

:class:`PageInfo` is a Markdown extension (``mkdocs.yml`` lists it, and Zensical
reads it too): after the page's fences have rendered, it puts the install line and a
link to download the page's blocks, in order, as a notebook under the page's title.
"""

from __future__ import annotations

import ast
import base64
import functools
import html
import importlib.metadata
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat
from markdown import Extension, Markdown
from markdown.postprocessors import Postprocessor
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mlatlas.store.entry import Entry, file_digest, providers

PACKAGE = "mlatlas"
AGGREGATES = {"docs", "test"}
"""Extras that gather everything for the site or the suite: never offered to a reader."""


@functools.cache
def _requires(distribution: str) -> tuple[Requirement, ...]:
    try:
        return tuple(Requirement(r) for r in importlib.metadata.requires(distribution) or [])
    except importlib.metadata.PackageNotFoundError:
        return ()


def _extra_of(requirement: Requirement) -> str | None:
    found = re.search(r"""extra\s*==\s*['"]([^'"]+)['"]""", str(requirement.marker or ""))
    return found.group(1) if found else None


@functools.cache
def closure(distribution: str, extra: str | None = None) -> frozenset[str]:
    """Every distribution that installing ``distribution`` (with ``extra``) brings, by canonical name.

    Example:
        >>> "numpy" in closure("mlatlas")
        True
    """
    seen: set[str] = set()
    for requirement in _requires(distribution):
        if _extra_of(requirement) != extra:
            continue
        name = canonicalize_name(requirement.name)
        if name == canonicalize_name(distribution):  # mlatlas[plot] inside another extra
            for inner in requirement.extras:
                seen |= closure(distribution, inner)
            continue
        seen |= {name} | closure(name)
        for inner in requirement.extras:
            seen |= closure(name, inner)
    return frozenset(seen)


def extras() -> list[str]:
    """The package's extras a reader may be told to install."""
    metadata = importlib.metadata.metadata(PACKAGE)
    return [e for e in metadata.get_all("Provides-Extra") or [] if e not in AGGREGATES]


def needed(imported: set[str]) -> tuple[list[str], list[str]]:
    """The extras, and the requirements beyond them, that cover the imported distributions.

    Greedy set cover: the extra that covers most of what is still uncovered, the smaller
    one on a tie. What no extra covers is taken from the aggregate extras' own bounds.

    Returns:
        The sorted extras, and requirement strings for what remains.
    """
    wanted = {canonicalize_name(d) for d in imported} - {PACKAGE} - closure(PACKAGE)
    chosen: list[str] = []
    options = {extra: closure(PACKAGE, extra) for extra in extras()}
    while wanted & set().union(*options.values()):
        best = max(options, key=lambda e: (len(wanted & options[e]), -len(options[e])))
        chosen.append(best)
        wanted -= options.pop(best)
    chosen = [e for e in chosen if not any(closure(PACKAGE, e) <= closure(PACKAGE, o) for o in chosen if o != e)]
    rest = []
    for requirement in _requires(PACKAGE):
        name = canonicalize_name(requirement.name)
        if name in wanted and _extra_of(requirement) in AGGREGATES:
            rest.append(str(Requirement(f"{requirement.name}{_brackets(requirement)}{requirement.specifier}")))
            wanted -= {name} | closure(name)
    return sorted(chosen), sorted(set(rest))


def _brackets(requirement: Requirement) -> str:
    return f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""


def install_line(imported: set[str], source: str | None = None) -> str:
    """The one ``pip install`` line for a page whose blocks imported these distributions.

    Args:
        imported: Distribution names, from the page's store entries.
        source: Where the package comes from, as a direct reference
            (``git+https://github.com/o/mlatlas`` or a wheel's ``file://`` URL); without
            one, the line installs the checkout the reader is in.

    Example:
        >>> install_line({"numpy"}, "git+https://github.com/o/mlatlas")
        'pip install "mlatlas @ git+https://github.com/o/mlatlas"'
    """
    chosen, rest = needed(imported)
    name = PACKAGE + (f"[{','.join(chosen)}]" if chosen else "")
    target = f'"{name} @ {source}"' if source else f'-e ".{name[len(PACKAGE):]}"'
    return " ".join(["pip install", target, *(f'"{r}"' for r in rest)])


def notebook_of(blocks: list[tuple[str, str]], title: str, install: str) -> str:
    """A page's blocks, in order, as an ``.ipynb``: a ``%pip`` cell first, shell blocks as ``%%bash`` cells."""
    cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nThe code of this page of the atlas, block by block.")]
    cells.append(nbformat.v4.new_code_cell("%" + install))
    for lang, code in blocks:
        cells.append(nbformat.v4.new_code_cell(code.strip("\n") if lang == "python" else "%%bash\n" + code.strip("\n")))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"  # stable ids: the page is the same on every build
    return nbformat.writes(notebook)


def direct_imports(inputs: Iterable[str], packages: Iterable[str], root: Path) -> set[str]:
    """The installed distributions that the repository's own code imported, of those a block used.

    A block's processes import much more than it asks for: a library imports its own
    optional dependencies when they happen to be installed (trimesh, transformers).
    What a reader must install is what the code they run names: the ``import``
    statements of the repository files the block ran (its snippet, the ``mlatlas``
    modules it loaded), kept only where that import really happened.

    Args:
        inputs: Repository files the block read (its entry's ``inputs``).
        packages: Distributions its processes imported (its entry's ``packages``).
        root: The repository root.
    """
    names: set[str] = set()
    for relative in inputs:
        if relative.endswith(".py"):
            names |= _imported_names(root / relative, file_digest(root / relative))
    provided = {d for name in names for d in providers(name)}
    return {canonicalize_name(p) for p in packages} & {canonicalize_name(d) for d in provided}


@functools.cache
def _imported_names(path: Path, digest: str | None) -> frozenset[str]:
    """The top-level names a Python file imports, parsed once per content (every block reads ``mlatlas/``)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return frozenset()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return frozenset(names)


def record(md: Any, lang: str, code: str, entry: Entry) -> None:
    """Note one rendered block of the page and what its code imported (called by the fence formatter)."""
    imported = direct_imports(entry.inputs, entry.packages, Path.cwd())
    md.__dict__.setdefault("_mlatlas_blocks", []).append((lang, code, imported))


class _Header(Postprocessor):
    def run(self, text: str) -> str:
        blocks = self.md.__dict__.pop("_mlatlas_blocks", [])
        if not blocks:
            return text
        imported = set().union(*(packages for _, _, packages in blocks))
        repo_url = os.environ.get("MLATLAS_REPO_URL")
        install = install_line(imported, f"git+{repo_url}" if repo_url else None)
        title = re.search(r"<h1[^>]*>(.*?)<", text, re.S)
        name = html.unescape(title.group(1)).strip() if title else "page"
        runnable = [(lang, code) for lang, code, _ in blocks if lang != "notebook"]
        header = f'<div class="mlatlas-page-run"><p>Run this page: <code>{html.escape(install)}</code>'
        if runnable:
            data = base64.b64encode(notebook_of(runnable, name, install).encode()).decode()
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "page"
            header += (
                f' <a class="mlatlas-download" download="{slug}.ipynb"'
                f' href="data:application/x-ipynb+json;base64,{data}">download its blocks as a notebook</a>'
            )
        header += "</p></div>"
        end = text.find("</h1>")
        return text[: end + 5] + header + text[end + 5 :] if end >= 0 else header + text


class PageInfo(Extension):
    """The Markdown extension that heads each page with executed code with its install line and notebook."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        md.postprocessors.register(_Header(md), "mlatlas-page-run", 5)


def makeExtension(**kwargs: Any) -> PageInfo:  # noqa: N802 (Python-Markdown's entry point)
    """Let ``mkdocs.yml`` name this module in ``markdown_extensions``."""
    return PageInfo(**kwargs)


__all__ = ["PageInfo", "closure", "extras", "install_line", "needed", "notebook_of", "record", "direct_imports"]
