"""Argument types the commands share: numbers, checked as ``argparse`` reads them.

A bad value becomes argparse's own error, which the command line prints as one
line (``mlatlas: error: ... argument --height: must be positive, got -1``).
"""

from __future__ import annotations

import argparse
import math


def number(text: str) -> float:
    """A finite number, such as ``1e21`` or ``-0.5``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def positive_number(text: str) -> float:
    """A finite number above zero."""
    value = number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value
