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
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from mlatlas import __version__
from mlatlas.errors import EXIT_USAGE, MlatlasError


def commands() -> list[ModuleType]:
    """The modules of ``mlatlas.cli`` that add a sub-command, alphabetically."""
    modules = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
    return [module for module in modules if hasattr(module, "register")]


class _OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are a single line, not usage plus error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise MlatlasError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """Build the full ``mlatlas`` argument parser with every sub-command."""
    parser = _OneLineParser(
        prog="mlatlas",
        description="An ML engineer's knowledge atlas: concepts and labs you can run.",
    )
    parser.add_argument("--version", action="version", version=f"mlatlas {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_OneLineParser)
    for command in commands():
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        0 on success, 2 on bad input (after printing one line to stderr).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not hasattr(args, "handler"):
            parser.print_help()
            return 0
        return args.handler(args)
    except MlatlasError as error:
        print(f"mlatlas: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mlatlas: interrupted", file=sys.stderr)
        return 130
