"""One stored output, the inputs it came from, and the folder that keeps them.

An entry is found by its **key**, a hash of the block itself: its language and its
code (for a block in a markdown-exec session, the code of every earlier block of
that session too, since they ran first in the same process). It stays **current**
while everything else it ran from is unchanged:

- every file of the repository it read (snippets, ``mlatlas/`` modules, data files),
  by content hash, as recorded by the tracer when it ran;
- the version of every installed distribution it imported, and Python's version.

Keys are about inputs, not outputs: a block that prints a timing is current as long
as its inputs are, although a re-run would print another number.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import platform
import re
import subprocess
import sysconfig
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlatlas.files import write_text

FORMAT = 1
"""Bumped when the entry layout or the key changes, so old entries read as stale."""


def block_key(lang: str, codes: list[str]) -> str:
    """The key of a block: its language and code, after the session's earlier blocks.

    Example:
        >>> block_key("python", ["print(1)\\n"]) == block_key("python", ["print(1)"])
        True
        >>> block_key("python", ["print(1)"]) == block_key("bash", ["print(1)"])
        False
    """
    text = json.dumps([FORMAT, lang, [c.strip("\n") for c in codes]])
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _file_digest(path: Path, stamp: tuple[int, int]) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_digest(path: Path) -> str | None:
    """The SHA-256 of a file's bytes, or ``None`` if it is gone (cached by mtime and size)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return _file_digest(path, (stat.st_mtime_ns, stat.st_size))


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _installed() -> dict[str, importlib.metadata.Distribution]:
    """The distributions installed in this environment's site-packages, by canonical name.

    Only site-packages counts: a package's vendored copies (setuptools puts its
    ``_vendor`` folder on ``sys.path`` once imported) are not installed for a reader.
    """
    paths = list(dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]))
    return {_canonical(d.metadata["Name"]): d for d in importlib.metadata.distributions(path=paths)}


def _top_level(distribution: importlib.metadata.Distribution) -> set[str]:
    declared = (distribution.read_text("top_level.txt") or "").split()
    if declared:
        return set(declared)
    names = set()
    for file in distribution.files or []:
        first = file.parts[0]
        if not first.endswith((".dist-info", ".egg-info", ".pth", ".data")) and first not in {"..", "__pycache__"}:
            names.add(first.removesuffix(".py"))
    return names


@functools.cache
def _distributions() -> dict[str, list[str]]:
    """Top-level module name -> the installed distributions that provide it."""
    provides: dict[str, list[str]] = {}
    for distribution in _installed().values():
        for module in _top_level(distribution):
            provides.setdefault(module, []).append(distribution.metadata["Name"])
    return provides


def providers(module: str) -> list[str]:
    """The installed distributions that provide a top-level module (``PIL`` -> ``pillow``)."""
    return _distributions().get(module, [])


def installed_version(distribution: str) -> str | None:
    """The installed release of a distribution, or ``None`` when it is not installed.

    A local version label is dropped (``2.13.0+cpu`` is release ``2.13.0``): it names a
    build of the same code, such as PyTorch's CPU wheel index.

    Example:
        >>> installed_version("no-such-distribution") is None
        True
    """
    found = _installed().get(_canonical(distribution))
    return found.version.partition("+")[0] if found else None


def distributions_of(modules: set[str]) -> dict[str, str]:
    """The installed distributions (and versions) that provide these top-level modules.

    ``mlatlas`` itself is left out: its files are tracked one by one.
    """
    names = {d for m in modules for d in _distributions().get(m, [])} - {"mlatlas"}
    return {name: version for name in sorted(names) if (version := installed_version(name))}


def python_version() -> str:
    """Python's ``major.minor``, the part of its version that changes behaviour."""
    return ".".join(platform.python_version_tuple()[:2])


@dataclass
class Entry:
    """A block's stored output and where it came from.

    Attributes:
        key: :func:`block_key` of the block.
        lang: ``"python"`` or ``"bash"``.
        page: The page it is on (``docs/`` relative) and ``line``, its line there.
        output: What it printed, as shown on the page.
        seconds: How long it ran.
        produced: When it ran (UTC, ISO 8601).
        commit: The short commit of the checkout it ran in.
        dirty: Whether any of its inputs differed from that commit.
        inputs: Repository files it read, with their SHA-256.
        packages: Installed distributions it imported, with their versions.
        python: Python's ``major.minor``.
    """

    key: str
    lang: str
    page: str
    line: int
    output: str
    seconds: float
    produced: str
    commit: str
    dirty: bool
    inputs: dict[str, str] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)
    python: str = ""
    format: int = FORMAT


class Store:
    """The folder of entries, one JSON file per key: ``<folder>/<key[:2]>/<key>.json``.

    Args:
        folder: Where the entries live (``store/`` in the repository).
        root: The repository root, against which input paths are resolved.
    """

    def __init__(self, folder: Path, root: Path) -> None:
        self.folder, self.root = Path(folder), Path(root)

    def path(self, key: str) -> Path:
        """The file of one key."""
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Entry | None:
        """The entry stored under ``key``, current or not; ``None`` if there is none."""
        path = self.path(key)
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            return None
        return Entry(**data)

    def put(self, entry: Entry) -> None:
        """Store an entry (atomically: a reader never sees half a file)."""
        self.path(entry.key).parent.mkdir(parents=True, exist_ok=True)
        write_text(self.path(entry.key), json.dumps(asdict(entry), indent=1, sort_keys=True) + "\n")

    def keys(self) -> set[str]:
        """Every key that has an entry."""
        return {p.stem for p in self.folder.glob("*/*.json")}

    def remove(self, key: str) -> None:
        """Drop one entry (one no block of the site has any more)."""
        self.path(key).unlink(missing_ok=True)
        if self.path(key).parent.is_dir() and not any(self.path(key).parent.iterdir()):
            self.path(key).parent.rmdir()

    def stale(self, entry: Entry) -> str | None:
        """Why an entry no longer holds for the current checkout, or ``None`` if it is current."""
        if entry.python != python_version():
            return f"Python {python_version()}, not {entry.python}"
        for name, version in entry.packages.items():
            if installed_version(name) != version.partition("+")[0]:
                return f"{name} {installed_version(name) or '(not installed)'}, not {version}"
        for relative, digest in entry.inputs.items():
            if file_digest(self.root / relative) != digest:
                return f"{relative} changed"
        return None


def repository_files(root: Path) -> set[str]:
    """Files of the checkout that are not ignored (tracked or new), relative to ``root``."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root, capture_output=True, text=True, check=True,
    )
    return {name for name in listed.stdout.split("\0") if name}


def checkout_state(root: Path) -> tuple[str, set[str]]:
    """The short commit of the checkout, and the files that differ from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    changed = subprocess.run(
        ["git", "status", "--porcelain", "-z", "--untracked-files=all"], cwd=root, capture_output=True, text=True
    )
    files = {item[3:] for item in changed.stdout.split("\0") if len(item) > 3}
    return (head.stdout.strip() or "unknown"), files
