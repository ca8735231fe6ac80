"""The install line a page states is enough to run its blocks, in a fresh venv, from the wheel.

Each page with executed code says which ``pip install`` line makes its blocks run
(:func:`mlatlas.store.page.install_line`, computed from what its blocks imported).
Here the wheel is installed into a new, empty venv with exactly that line (the
wheel's ``file://`` URL in place of the repository's), after the CPU build of torch,
as the README says, and within ``requirements.lock``, and the page's blocks run
there, from a folder outside the checkout that holds only the snippets the page
shows (a shell block may run one), so nothing but the wheel supplies ``mlatlas``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import ROOT, run_env
from mlatlas.store import chains
from mlatlas.store.page import direct_imports, install_line
from pages import EXECUTED, all_blocks, shows_the_suite

pytestmark = pytest.mark.install

PAGES = {
    "foundations/attention.md": "a concept page",
    "labs/extrusion.md": "a lab page",
    "hardware/probe.md": "a page with a CLI block",
}
TORCH = "torch==2.13.0"


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**run_env(), "PIP_CONSTRAINT": str(ROOT / "requirements.lock"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("page", PAGES, ids=list(PAGES.values()))
def test_the_pages_install_line_runs_its_blocks(page: str, dists, executed, tmp_path: Path) -> None:
    blocks = [b for b in all_blocks() if b.page == page and b.lang in EXECUTED and not shows_the_suite(b)]
    entries = [executed.outcomes[b.id][0] for b in blocks]
    imported = set().union(*(direct_imports(e.inputs, e.packages, ROOT) for e in entries))
    line = install_line(imported, dists.wheel.resolve().as_uri())
    venv.create(tmp_path / "venv", with_pip=False, symlinks=True)
    python = tmp_path / "venv/bin/python"
    index = os.environ.get("TORCH_INDEX")
    torch = _pip(python, TORCH, *(["--index-url", index] if index else []))
    assert torch.returncode == 0, torch.stderr[-2000:]
    installed = _pip(python, *shlex.split(line)[2:])
    assert installed.returncode == 0, f"{line}\n{installed.stderr[-3000:]}"

    env = {**run_env(), "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": ""}
    outside = tmp_path / "reader"  # with the page's snippets, which the page shows, but no mlatlas/
    shutil.copytree(ROOT / "snippets", outside / "snippets")
    for chain in chains([b.for_store() for b in blocks]):
        code = "\n".join(b.code for b in chain)  # a session's blocks, one after the other
        command = [str(python), "-c", code] if chain[0].lang != "bash" else ["bash", "-eo", "pipefail", "-c", code]
        done = subprocess.run(command, cwd=outside, env=env, capture_output=True, text=True, timeout=600)
        shown = f"{done.stdout[-1500:]}{done.stderr[-3000:]}"
        assert done.returncode == 0, f"{page}:{chain[0].line} after `{line}`:\n{shown}"
