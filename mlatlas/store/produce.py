"""Execute blocks and turn what they printed into entries of the store.

The build (:mod:`mlatlas.store.fence`) calls :func:`produce` for a block it finds no
current entry for; the test suite calls it for every block of the site, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlatlas.store import execute
from mlatlas.store.entry import (
    Entry,
    Store,
    block_key,
    checkout_state,
    distributions_of,
    file_digest,
    python_version,
    repository_files,
)


@dataclass(frozen=True)
class Block:
    """One executed block of a page.

    Attributes:
        page: The page, relative to ``docs/``.
        line: The line of its opening fence.
        lang: ``"python"`` or ``"bash"``.
        code: The code, includes expanded, exactly as the reader sees it.
        session: The markdown-exec session it belongs to, or ``""``.
    """

    page: str
    line: int
    lang: str
    code: str
    session: str = ""


def chains(blocks: list[Block]) -> list[list[Block]]:
    """Group blocks into what runs together: a block alone, or a whole session of a page."""
    groups: dict[tuple, list[Block]] = {}
    for block in blocks:
        together = (block.page, block.session) if block.session else (block.page, block.line)
        groups.setdefault(together, []).append(block)
    return list(groups.values())


def keys_of(chain: list[Block]) -> list[str]:
    """The key of each block of a chain (a session block's key covers the blocks before it)."""
    return [block_key(b.lang, [c.code for c in chain[: i + 1]]) for i, b in enumerate(chain)]


def produce(store: Store, chain: list[Block]) -> list[tuple[Entry, execute.Outcome]]:
    """Run a chain of blocks and store an entry for each block that succeeded.

    Returns:
        Each block's entry and outcome, in order; a failing block's entry is not stored,
        and the blocks after it in a session did not run.
    """
    outcomes = execute.run(chain[0].lang, [b.code for b in chain], store.root)
    tracked = repository_files(store.root)
    commit, changed = checkout_state(store.root)
    produced = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    store_folder = (_relative(store.folder, store.root) or "\0") + "/"
    results = []
    for block, key, outcome in zip(chain, keys_of(chain), outcomes, strict=False):
        inputs = {}
        for path in sorted(outcome.read):
            relative = _relative(Path(path), store.root)
            if relative in tracked and not relative.startswith(store_folder):
                inputs[relative] = file_digest(store.root / relative)
        entry = Entry(
            key=key, lang=block.lang, page=block.page, line=block.line, output=outcome.output,
            seconds=round(outcome.seconds, 2), produced=produced, commit=commit,
            dirty=bool(changed & set(inputs)), inputs=inputs,
            packages=distributions_of(outcome.modules), python=python_version(),
        )
        if outcome.returncode == 0:
            store.put(entry)
        results.append((entry, outcome))
    return results


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return ""
