"""How every command prints a result: a table for people, JSON for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from mlatlas.errors import MlatlasError

JSON_ERRORS = "errors still go to stderr as one plain-text line, with exit status 2"
"""What every ``--json`` promises about failures: scripts read stdout, people read stderr."""


def add_json_flag(parser: argparse.ArgumentParser, instead: str = "instead of a table") -> None:
    """Give a command its ``--json`` flag, saying where errors go (stderr, not JSON)."""
    parser.add_argument("--json", action="store_true", help=f"print JSON {instead}; {JSON_ERRORS}")


def print_json(payload: Any) -> None:
    """Write ``payload`` to stdout as indented JSON with a trailing newline.

    JSON has no infinity and no NaN (Python would write a bare ``Infinity``, which
    other parsers reject): a result that is not finite is bad input, refused with one
    line before anything is printed.

    Raises:
        MlatlasError: A number in ``payload`` is infinite or NaN.
    """
    try:
        text = json.dumps(payload, indent=2, allow_nan=False)
    except ValueError:
        raise MlatlasError(
            "the result is not a finite number (an input is too large or too small to compute it); nothing printed"
        ) from None
    sys.stdout.write(text + "\n")


def print_table(title: str, rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> None:
    """Write rows as a rich table to stdout.

    Args:
        title: Caption above the table.
        rows: One mapping per row.
        columns: Row key to column heading, in display order. Numeric columns
            are right-aligned.
    """
    table = Table(title=title, title_justify="left")
    for key, heading in columns.items():
        numeric = bool(rows) and isinstance(rows[0][key], (int, float))
        table.add_column(heading, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(_cell(row[key]) for key in columns))
    # A fixed width keeps output identical in a terminal, a pipe and a docs build.
    Console(width=100).print(table)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class StepBars:
    """Rich progress bars on stderr for a lab's ``progress(step, fraction)`` callback.

    The labs report progress as a step name and the fraction of it done; this draws
    it, on a terminal only, so pipes, logs and the docs build stay clean.

    Args:
        steps: The lab's step names, in order, mapped to the labels shown.
        together: One bar that advances through the steps in turn (and disappears
            when done), instead of one bar per step.
        show: ``False`` draws nothing (work too small to need a bar).
    """

    def __init__(self, steps: Mapping[str, str], *, together: bool = False, show: bool = True) -> None:
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        self.labels, self.order, self.together = dict(steps), list(steps), together
        self.bar = Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=together,
            disable=not (show and console.is_terminal),
        )
        if together:
            self.tasks = {None: self.bar.add_task(self.labels[self.order[0]], total=1.0)}
        else:
            self.tasks = {name: self.bar.add_task(label, total=1.0) for name, label in self.labels.items()}

    def __enter__(self) -> StepBars:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, step: str, fraction: float) -> None:
        if step not in self.labels:
            return
        if self.together:
            done = (self.order.index(step) + fraction) / len(self.order)
            self.bar.update(self.tasks[None], description=self.labels[step], completed=done)
        else:
            self.bar.update(self.tasks[step], completed=fraction)
