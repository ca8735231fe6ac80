"""Argument types the commands share: numbers, checked as ``argparse`` reads them.

A bad value becomes argparse's own error, which the command line prints as one
line (``mlatlas: error: ... argument --height: must be positive, got -1``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


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


def non_negative_number(text: str) -> float:
    """A finite number, zero or above."""
    value = number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def fraction(text: str) -> float:
    """A number from 0 to 1, such as a share of rows."""
    value = number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def whole_number(text: str) -> int:
    """A whole number, zero or above (a seed)."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def count(text: str) -> int:
    """A whole number, one or above (rows, epochs, faces)."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def count_up_to(limit: int, why: str) -> Callable[[str], int]:
    """A :func:`count` no larger than ``limit``; ``why`` says what the bound protects.

    Example:
        >>> count_up_to(1000, "epochs beyond that take hours")("5000")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be from 1 to 1,000 (epochs beyond that take hours), got 5000
    """

    def parse(text: str) -> int:
        value = count(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"must be from 1 to {limit:,} ({why}), got {text}")
        return value

    return parse
