"""Run a block the way a reader would, in a fresh process, and record what it read.

A Python block runs as ``python -c CODE`` and a shell block as
``bash -eo pipefail -c CODE``, from the repository root, with the environment a
reader has after ``make setup`` (:func:`block_env`). Blocks that share a
markdown-exec ``session`` run in one Python process, one after the other in shared
globals, which is what markdown-exec does inside the build.

Every Python process started along the way (the ``mlatlas`` command a shell block
calls, its workers) reports the files it read through the tracer in
``mlatlas/store/tracer``; :class:`Outcome` carries them back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

TRACER = Path(__file__).parent / "tracer"
"""The folder whose ``sitecustomize.py`` records what each process reads."""

TIMEOUT_S = 600
"""The longest one block (or one session) may run."""

# Runs the blocks of one session in one process and shared globals; writes each
# block's output (and, with "figures", the matplotlib figures it left open, as SVG)
# to the JSON file named by its first argument.
_SESSION_DRIVER = """
import contextlib, io, json, sys, time, traceback
codes, results = json.loads(sys.stdin.read()), []
scope = {"__name__": "__main__"}
for number, code in enumerate(codes):
    buffer, failed, figures, start = io.StringIO(), False, [], time.perf_counter()
    try:
        with contextlib.redirect_stdout(buffer):
            exec(compile(code, f"<block {number + 1}>", "exec"), scope)
    except BaseException:
        traceback.print_exc()
        failed = True
    if sys.argv[2:] == ["figures"] and "matplotlib.pyplot" in sys.modules:
        from matplotlib import pyplot
        from mlatlas.figures import svg_markup
        for n in pyplot.get_fignums():
            figures.append(svg_markup(pyplot.figure(n), salt=f"cell{number}-{n}"))
        pyplot.close("all")
    seconds = time.perf_counter() - start
    results.append({"output": buffer.getvalue(), "figures": figures, "failed": failed, "seconds": seconds})
    with open(sys.argv[1], "w", encoding="utf-8") as handle:
        json.dump(results, handle)
    if failed:
        sys.exit(1)
"""


@dataclass
class Outcome:
    """What running one block gave.

    Attributes:
        output: What the reader would see: standard output (and, for a shell block,
            standard error interleaved, as in a terminal).
        stderr: Standard error of a Python block (shown only when it fails).
        returncode: The exit status (0 for a block of a session that ran through).
        seconds: Wall-clock time of the block (a session's time is split evenly).
        read: Absolute paths of the files the block's processes read.
        modules: Top-level names of the modules they imported.
    """

    output: str
    stderr: str
    returncode: int
    seconds: float
    read: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)


def block_env(trace: Path | None = None) -> dict[str, str]:
    """The environment a reader's shell has after ``make setup``, plus the tracer.

    The running interpreter's ``bin`` comes first on ``PATH`` (so ``mlatlas`` is this
    checkout's), matplotlib draws off-screen, and nothing may reach a model hub.
    With ``trace``, every Python process appends what it read to that file.
    """
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(MPLBACKEND="Agg", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    if trace is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TRACER), env.get("PYTHONPATH")]))
        env["MLATLAS_TRACE"] = str(trace)
    return env


def _traced(trace: Path) -> tuple[set[str], set[str]]:
    read: set[str] = set()
    written: set[str] = set()
    modules: set[str] = set()
    if trace.exists():
        for line in trace.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            read.update(record["read"])
            written.update(record["written"])
            modules.update(record["modules"])
    return read - written, modules


def run(lang: str, codes: list[str], root: Path, timeout: float = TIMEOUT_S) -> list[Outcome]:
    """Run one block, the blocks of one session in order, or a notebook.

    Args:
        lang: ``"python"``, ``"bash"`` or ``"notebook"``.
        codes: The block's code; for a session, every block of it so far, in page
            order; for a notebook, its jupytext script.
        root: The repository root, where the block runs.
        timeout: Seconds before the process is killed.

    Returns:
        One :class:`Outcome` per code; a session that fails stops at the failing block.
        A notebook gives one outcome whose output is the JSON list of its code cells'
        outputs (``output``, ``figures`` as inline SVG, ``seconds``).
    """
    if lang == "notebook":
        from mlatlas.store.notebook import code_cells

        cells, read, modules, stderr, failed = _session(code_cells(codes[0]), root, timeout, figures=True)
        output = json.dumps([{k: c[k] for k in ("output", "figures", "seconds")} for c in cells])
        return [Outcome(output, stderr, int(failed), sum(c["seconds"] for c in cells), read, modules)]
    if len(codes) > 1:
        if lang != "python":
            raise ValueError(f"sessions are Python only, not {lang}")
        cells, read, modules, stderr, _ = _session(codes, root, timeout)
        return [
            Outcome(c["output"], stderr if c["failed"] else "", int(c["failed"]), c["seconds"], read, modules)
            for c in cells
        ]
    with tempfile.TemporaryDirectory(prefix="mlatlas-trace-") as folder:
        trace = Path(folder) / "trace.jsonl"
        env, start = block_env(trace), time.perf_counter()
        if lang == "python":
            done = subprocess.run(
                [sys.executable, "-c", codes[0]], cwd=root, env=env, capture_output=True, text=True, timeout=timeout
            )
        else:
            done = subprocess.run(
                ["bash", "-eo", "pipefail", "-c", codes[0]], cwd=root, env=env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, timeout=timeout,
            )
        read, modules = _traced(trace)
        return [Outcome(done.stdout, done.stderr or "", done.returncode, time.perf_counter() - start, read, modules)]


def _session(codes: list[str], root: Path, timeout: float, figures: bool = False) -> tuple:
    """Run codes one after the other in one process; each one's result, what was read, stderr, failure."""
    with tempfile.TemporaryDirectory(prefix="mlatlas-trace-") as folder:
        trace, outputs = Path(folder) / "trace.jsonl", Path(folder) / "outputs.json"
        driver = [sys.executable, "-c", _SESSION_DRIVER, str(outputs), *(["figures"] if figures else [])]
        done = subprocess.run(
            driver, input=json.dumps(codes), cwd=root, env=block_env(trace), capture_output=True, text=True,
            timeout=timeout,
        )
        read, modules = _traced(trace)
        cells = json.loads(outputs.read_text(encoding="utf-8")) if outputs.exists() else []
    failed = done.returncode != 0
    if failed and not cells:  # the driver itself failed before the first block
        cells = [{"output": done.stdout, "figures": [], "failed": True, "seconds": 0.0}]
    return cells, read, modules, done.stderr, failed
