"""Shared paths and environment for the test suite."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: pages, snippets and mkdocs.yml are resolved from here."""


def run_env() -> dict[str, str]:
    """The environment a reader's shell would have after ``make setup``.

    The venv's ``bin`` comes first on ``PATH`` (so ``mlatlas`` is this checkout's),
    matplotlib draws off-screen, and nothing may reach a model hub.
    """
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(MPLBACKEND="Agg", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT
