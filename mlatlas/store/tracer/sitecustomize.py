"""Records what a block's Python processes read, for the execution store.

The store runs each block with this folder first on ``PYTHONPATH``, so Python
imports this file at start-up in every process the block starts (``python -c``,
the ``mlatlas`` command, its ``torchrun`` workers). With ``MLATLAS_TRACE`` set to a
file, each process appends one JSON line when it exits:

- ``read``: every file opened for reading (an audit hook on ``open``, so data files
  count as well as modules), and every imported module's file;
- ``written``: every file opened for writing (outputs are not inputs);
- ``modules``: the top-level names of the modules imported after start-up, which the
  store maps to installed distributions and their versions.

It is deliberately standalone (no ``mlatlas`` import): importing the package here
would make every block depend on it.
"""

import atexit
import json
import os
import sys

_TRACE = os.environ.get("MLATLAS_TRACE")
_STARTUP = set(sys.modules)  # imported before the block (site, .pth hooks): not its doing
_read: set = set()
_written: set = set()


def _writes(mode, flags) -> bool:
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return bool(isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))


def _on_open(event: str, args: tuple) -> None:
    if event != "open" or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    try:
        path = os.path.abspath(os.fsdecode(args[0]))
    except (TypeError, ValueError):
        return
    mode, flags = (args + (None, None))[1:3]
    (_written if _writes(mode, flags) else _read).add(path)


def _dump() -> None:
    modules = set()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and name != __name__:
            _read.add(os.path.abspath(file))
        if name not in _STARTUP:
            modules.add(name.partition(".")[0])
    record = {"read": sorted(_read - _written), "written": sorted(_written), "modules": sorted(modules)}
    with open(_TRACE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


if _TRACE:
    sys.addaudithook(_on_open)
    atexit.register(_dump)
