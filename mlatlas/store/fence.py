"""The site's executed fences: markdown-exec's rendering, the store's outputs.

``mkdocs.yml`` routes executed fences here instead of to ``markdown_exec.formatter``.
For each block this looks up its entry in the store; when there is none, or the one
there is stale, it runs the block (:func:`mlatlas.store.produce.produce`) and stores
what it printed. Then markdown-exec renders the source and output exactly as it
would have after running the block itself, and a line under the block says how long
it ran, when, and from which commit.

Environment:
    MLATLAS_STORE: the store's folder (default ``store/`` beside ``mkdocs.yml``).
    MLATLAS_STORE_MODE: ``run`` (default) executes what is missing; ``render`` never
        executes, and a block with no current entry is a build warning (an error under
        ``--strict``): the test suite builds this way, from the outputs it just produced.
"""

from __future__ import annotations

import html
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from markdown_exec import ExecutionError, base_format, code_block, get_logger
from markupsafe import Markup

from mlatlas.store import notebook, page
from mlatlas.store.entry import Entry, Store, block_key
from mlatlas.store.produce import Block, produce

_logger = get_logger("mkdocs.plugins.mlatlas.store")

VENDOR_STAMP = Path("docs/assets/vendor/.stamp")
"""Written by ``make setup`` once mermaid, KaTeX and the other browser assets are copied in."""


def require_setup(argv: list[str] = sys.argv, cwd: Path | None = None) -> None:
    """Stop a site build that would publish pages without diagrams and math, in one line.

    ``mkdocs.yml`` names this module, so every build imports it while reading its
    configuration: if the build runs in a checkout where ``make setup`` never copied
    the browser assets, it exits before writing anything.

    Example:
        >>> require_setup(["pytest"])  # not a site build: nothing to check
    """
    program = Path(argv[0]).parent.name if Path(argv[0]).name == "__main__.py" else Path(argv[0]).name
    building = program in {"mkdocs", "zensical"} and bool({"build", "serve"} & set(argv[1:]))
    if building and not ((cwd or Path.cwd()) / VENDOR_STAMP).exists():
        raise SystemExit(
            f"mlatlas: error: {VENDOR_STAMP.parent} is missing (mermaid, KaTeX): run `make setup` before building"
        )


require_setup()


def store() -> Store:
    """The store the build reads and writes, from the environment."""
    root = Path.cwd()
    return Store(Path(os.environ.get("MLATLAS_STORE", root / "store")), root)


def _session_codes(md: Any, session: str, code: str) -> list[str]:
    """The code of this block, after the earlier blocks of its session on this page."""
    if not session:
        return [code]
    sessions = md.__dict__.setdefault("_mlatlas_sessions", {})  # one Markdown instance per page
    sessions.setdefault(session, []).append(code)
    return list(sessions[session])


def provenance(entry: Entry) -> Markup:
    """The line under a block: how long it ran, when, and from which commit."""
    when = datetime.fromisoformat(entry.produced.replace("Z", "+00:00"))
    commit = f"{entry.commit} with local changes" if entry.dirty else entry.commit
    text = f"ran in {entry.seconds:.1f} s on {when:%Y-%m-%d %H:%M} UTC, from commit {commit}"
    return Markup(f'<p class="mlatlas-ran" title="{html.escape(entry.produced)}">{html.escape(text)}</p>')


def _current(language: str, codes: list[str], session: str) -> tuple[Entry | None, str | None]:
    """The current entry for a block, produced now if need be, or why there is none."""
    where = store()
    entry = where.get(block_key(language, codes))
    reason = "no stored output" if entry is None else where.stale(entry)
    if not reason:
        return entry, None
    if os.environ.get("MLATLAS_STORE_MODE") == "render":
        return None, f"no current output in the store ({reason}); run `make test` to produce it"
    chain = [Block(page="", line=0, lang=language, code=c, session=session) for c in codes]
    entry, outcome = produce(where, chain)[-1]
    if outcome.returncode != 0:
        return None, code_block("text", (outcome.output + outcome.stderr)[-4000:])
    return entry, None


def formatter(source: str, language: str, css_class: str, options: dict, md: Any, **kwargs: Any) -> Markup:
    """A superfences formatter for ``python``, ``bash`` and ``notebook`` fences, rendered from the store."""
    session = options.get("session") or ""
    codes = [source] if language == "notebook" else _session_codes(md, session, source)
    entry, failure = _current(language, codes, session)

    def run(code: str, **_: Any) -> str:
        if failure is not None:
            raise ExecutionError(failure, None)
        if language == "notebook":
            header = notebook.download_link(source, options["download"]) + provenance(entry)
            return notebook.page_markdown(source, notebook.outputs_of(entry.output), header)
        return entry.output

    if language == "notebook":
        rendered = base_format(language="python", run=run, code=source, md=md, id_prefix="")
    else:
        rendered = base_format(language=language, run=run, code=source, md=md, **options)
    if failure is not None:
        _logger.warning(f"a {language} block failed: {failure[:2000]}")
        return rendered
    page.record(md, language, source, entry)
    if language == "notebook":
        return rendered
    return Markup(rendered + provenance(entry))
