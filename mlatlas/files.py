"""Files that appear whole or not at all: write next to the target, then rename.

Every file mlatlas writes for a user (a mesh, a CSV, a plot, a JSON report, a saved
model folder) goes through here. The bytes go to a temporary name in the target's
own folder, on the same file system, and only a finished write is renamed into place
with :func:`os.replace`, which is atomic. A crash, a full disk or bad input halfway
through leaves the old target, or nothing, and never half a file.

Example:
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_file(folder / "numbers.csv", "w") as handle:
    ...     _ = handle.write("n\\n1\\n")
    >>> sorted(p.name for p in folder.iterdir())
    ['numbers.csv']
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from mlatlas.errors import MlatlasError


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file for writing; on success it becomes ``path``.

    Args:
        path: The file to write; its folder must exist.
        mode: ``"wb"`` for bytes or ``"w"`` for UTF-8 text.

    Yields:
        The open file. If the ``with`` block raises, the temporary file is removed
        and the error goes on (an ``OSError`` as a one-line ``MlatlasError``).

    Raises:
        MlatlasError: The folder does not exist or is not writable, the target is a
            folder, or the write fails (disk full, no permission).
    """
    target = _checked(Path(path))
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    text = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    try:
        # "x": a new file, with the usual permissions (0o666 less the umask), never clobbering one
        with open(temporary, mode.replace("w", "x"), **text) as handle:
            yield handle
        os.replace(temporary, target)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise MlatlasError(f"cannot write {target}: {error.strerror or error}") from None
        raise


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically; return the path."""
    with atomic_file(path, "w") as handle:
        handle.write(text)
    return Path(path)


def write_folder(path: str | os.PathLike[str], fill: Callable[[Path], None]) -> Path:
    """Create the folder ``path`` by letting ``fill`` write into a temporary one.

    Args:
        path: The folder to create; it must not exist yet, or be an empty folder.
        fill: Called with the temporary folder; writes the contents.

    Returns:
        The folder written.

    Raises:
        MlatlasError: ``path`` exists and is not an empty folder, its parent
            does not exist, or writing fails (nothing is left behind).
    """
    target = Path(path)
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise MlatlasError(f"cannot write {target}: it exists and is not an empty folder")
    _checked(target, folder=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        temporary.mkdir()
        fill(temporary)
        if target.is_dir():
            target.rmdir()
        os.replace(temporary, target)
    except BaseException as error:
        shutil.rmtree(temporary, ignore_errors=True)
        if isinstance(error, OSError):
            raise MlatlasError(f"cannot write {target}: {error.strerror or error}") from None
        raise
    return target


def check_folder(folder: str | os.PathLike[str]) -> Path:
    """Fail now if files cannot be written into ``folder`` (made if missing), before any long work.

    Permissions are not enough to tell (root passes every ``os.access`` check, and
    ``/proc`` refuses new files to everyone), so this really creates and removes a
    temporary file in ``folder``, or in its nearest existing ancestor when ``folder``
    does not exist yet. Nothing is left behind.

    Raises:
        MlatlasError: ``folder`` is a file, or nothing can be created there.

    Example:
        >>> check_folder("/proc/nope")
        Traceback (most recent call last):
        ...
        mlatlas.errors.MlatlasError: cannot write into /proc/nope: ...
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise MlatlasError(f"cannot write into {folder}: it is a file, not a folder")
    existing = next(p for p in [folder, *folder.absolute().parents] if p.exists())
    try:
        with tempfile.TemporaryDirectory(dir=existing, prefix=".mlatlas-check-"):
            pass
    except OSError as error:
        raise MlatlasError(f"cannot write into {folder}: {error.strerror or error}") from None
    return folder


def _checked(target: Path, *, folder: bool = False) -> Path:
    """``target`` if it can be written: its folder exists and is writable, and it is not a folder."""
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise MlatlasError(f"cannot write {target}: folder {parent} does not exist")
    if not folder and target.is_dir():
        raise MlatlasError(f"cannot write {target}: it is a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise MlatlasError(f"cannot write {target}: folder {parent} is not writable")
    return target
