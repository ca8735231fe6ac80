"""How every command prints a result: a table for people, JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def print_json(payload: Any) -> None:
    """Write ``payload`` to stdout as indented JSON with a trailing newline."""
    json.dump(payload, sys.stdout, indent=2)
    sys.stdout.write("\n")


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
