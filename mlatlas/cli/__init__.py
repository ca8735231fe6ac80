"""The ``mlatlas`` command: one entry point, a sub-command per topic or lab.

Each sub-command lives in its own module here with a ``register(subparsers)``
function that adds its parser and sets ``handler``, a function of the parsed
arguments returning an exit status; every module of this package that defines
``register`` is a sub-command, listed by ``--help`` in alphabetical order. Handlers call the library, which raises
:class:`~mlatlas.errors.MlatlasError` on bad input; :func:`main` turns that (and
argparse's own complaints) into one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import signal
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

from mlatlas import __version__
from mlatlas.errors import EXIT_USAGE, MlatlasError


def command_names() -> list[str]:
    """Names of the modules in this package, alphabetically (each may add a sub-command)."""
    return sorted(module.name for module in pkgutil.iter_modules(__path__))


def commands(names: Sequence[str] | None = None) -> list[ModuleType]:
    """The modules of ``mlatlas.cli`` that add a sub-command, alphabetically.

    Args:
        names: Import only these modules; ``None`` imports all of them.
    """
    wanted = command_names() if names is None else names
    modules = [importlib.import_module(f"{__name__}.{name}") for name in wanted]
    return [module for module in modules if hasattr(module, "register")]


def _needed(argv: Sequence[str]) -> list[str] | None:
    """Which command modules parsing ``argv`` needs; ``None`` means all of them.

    Command modules import their libraries (torch, scipy, ...), which takes seconds,
    so ``mlatlas scaling ...`` imports only the scaling command and ``--version`` none.
    """
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    first = None if first is None else first.replace("-", "_")
    if first in command_names():
        return [first]
    if first is None and "--version" in argv:
        return []
    return None


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, a CI runner, ``docker stop``), raised wherever the command is.

    It is a :class:`KeyboardInterrupt`, so every clean-up that Ctrl+C runs (the
    temporary files of :mod:`mlatlas.files`, a lab's staging folder) runs for it too.
    """


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


class _OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are a single line, not usage plus error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # main() prints "mlatlas: error: ..."; name the sub-command only, not the program twice.
        command = self.prog.removeprefix("mlatlas").strip()
        raise MlatlasError(f"{command + ': ' if command else ''}{message} (see --help)")


def build_parser(names: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Build the ``mlatlas`` argument parser.

    Args:
        names: The command modules to add (see :func:`commands`); ``None`` adds all.
    """
    parser = _OneLineParser(
        prog="mlatlas",
        description="An ML engineer's knowledge atlas: concepts and labs you can run.",
    )
    parser.add_argument("--version", action="version", version=f"mlatlas {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_OneLineParser)
    modules = commands(names)
    if names and not modules:  # a module that is no command: list every command
        modules = commands()
    for command in modules:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        0 on success, 2 on bad input (after printing one line to stderr), 130 after
        Ctrl+C, 143 after SIGTERM (each after one line, with nothing half-written),
        141 when the reader closed the pipe.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_needed(argv))
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return _run(parser, argv)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _run(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    """Parse, run the handler, and turn each way it can end into one line and a status."""
    try:
        args = parser.parse_args(argv)
        if not hasattr(args, "handler"):
            parser.print_help()
            return 0
        status = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handling below
        return status
    except MlatlasError as error:
        print(f"mlatlas: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Terminated:
        print("mlatlas: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("mlatlas: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader closed the pipe (`mlatlas probe --json | head -1`): stop quietly, as
        # Unix tools do. Point stdout at /dev/null so the interpreter's final flush of
        # what is still buffered cannot raise again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
