"""Tests for the `mlatlas` command line, run as a real subprocess (`python -m mlatlas`)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mlatlas
from mlatlas.attention import kv_cache_bytes, model_shape

ROOT = Path(__file__).resolve().parents[1]


def _mlatlas(*args):
    """Runs `python -m mlatlas ARGS` with this interpreter.

    Args:
        *args: Command-line arguments after the program name.

    Returns:
        The completed process, with text stdout and stderr.
    """
    return subprocess.run(
        [sys.executable, "-m", "mlatlas", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_version_prints_package_version():
    """`--version` prints `mlatlas <__version__>` on stdout and exits 0."""
    result = _mlatlas("--version")
    assert result.returncode == 0, result.stderr
    assert mlatlas.__version__ == "0.1.0"
    assert result.stdout == f"mlatlas {mlatlas.__version__}\n"
    assert result.stderr == ""


def test_help_lists_attention_command():
    """`--help` exits 0 and lists the `attention` sub-command."""
    result = _mlatlas("--help")
    assert result.returncode == 0, result.stderr
    assert "attention" in result.stdout
    assert "usage: mlatlas" in result.stdout


def test_kv_cache_json_for_llama_3_8b():
    """The JSON total for Llama-3-8B at 8192 tokens is 2 x 32 x 8 x 128 x 2 B x 8192."""
    result = _mlatlas("attention", "kv-cache", "--model", "llama-3-8b", "--seq-len", "8192", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert (payload["seq_len"], payload["batch"], payload["dtype"]) == (8192, 1, "bf16")
    [row] = payload["models"]
    assert row["model"] == "llama-3-8b"
    assert row["attention"] == "GQA"
    expected = 32 * 8 * 128 * 2 * 2 * 8192  # layers, KV heads, head dim, K and V, bf16 bytes, tokens
    assert row["total_bytes"] == expected == 2**30
    assert row["total_bytes"] == kv_cache_bytes(model_shape("llama-3-8b"), 8192, 1, "bf16")
    assert row["bytes_per_token"] == expected // 8192
    assert row["total_gib"] == 1.0


def test_kv_cache_json_honours_batch_and_dtype():
    """`--batch` and `--dtype` reach the calculator, for several models at once."""
    result = _mlatlas(
        "attention", "kv-cache", "--model", "opt-13b", "--model", "falcon-7b",
        "--seq-len", "10", "--batch", "3", "--dtype", "fp16", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["models"]
    assert [row["model"] for row in rows] == ["opt-13b", "falcon-7b"]
    for row in rows:
        assert row["total_bytes"] == kv_cache_bytes(model_shape(row["model"]), 10, 3, "fp16")
    assert rows[0]["bytes_per_token"] == 819_200  # vLLM paper, section 3


def test_kv_cache_table_names_the_model():
    """The default table output names the model, its attention type and the settings."""
    result = _mlatlas("attention", "kv-cache", "--model", "llama-3-8b")
    assert result.returncode == 0, result.stderr
    assert "llama-3-8b" in result.stdout
    assert "GQA" in result.stdout
    assert "8192 tokens, bf16" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["attention", "kv-cache", "--model", "nope"], "unknown model 'nope'"),
        (["attention", "kv-cache", "--seq-len", "0"], "must be positive"),
        (["attention", "kv-cache", "--batch", "0"], "must be positive"),
        (["attention", "kv-cache", "--seq-len", "x"], "invalid int value: 'x'"),
        (["attention", "kv-cache", "--dtype", "int3"], "invalid choice: 'int3'"),
        (["nope"], "invalid choice: 'nope'"),
        (["attention", "nope"], "invalid choice: 'nope'"),
        (["attention"], "required"),
    ],
    ids=[
        "unknown-model",
        "zero-seq-len",
        "zero-batch",
        "non-integer-seq-len",
        "unknown-dtype",
        "unknown-command",
        "unknown-attention-command",
        "missing-attention-command",
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(args, fragment):
    """Bad input exits 2 with one `mlatlas: error:` line on stderr and nothing on stdout."""
    result = _mlatlas(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mlatlas: error:")
    assert fragment in lines[0]


# --- hardening: what a careful user tried (issue 17) ---


def test_argparse_errors_name_the_program_once():
    """`mlatlas: error: attention kv-cache: ...`, not `mlatlas: error: mlatlas attention kv-cache: ...`."""
    result = _mlatlas("attention", "kv-cache", "--seq-len", "x")
    assert result.stderr.startswith("mlatlas: error: attention kv-cache: argument --seq-len")
    assert result.stderr.count("mlatlas") == 1
    assert _mlatlas("nope").stderr.startswith("mlatlas: error: argument COMMAND: invalid choice")


@pytest.mark.parametrize(
    "args",
    [
        ["scaling", "loss", "--params", "1e308", "--tokens", "1e308", "--json"],
        ["export-check", "--tflops", "1e308", "--bits", "16", "--die-area", "1e-308", "--json"],
    ],
    ids=["scaling-loss", "export-check"],
)
def test_a_result_that_is_not_finite_is_refused_not_printed_as_infinity(args):
    """JSON has no Infinity: the command says so in one line and prints nothing."""
    result = _mlatlas(*args)
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith("mlatlas: error: the result is not a finite number")
    assert len(result.stderr.splitlines()) == 1


def test_a_closed_pipe_ends_quietly():
    """`mlatlas moe params --json | head -1`: no BrokenPipeError traceback, the status of a killed writer."""
    script = f"set -o pipefail; {sys.executable} -m mlatlas moe params --json | head -c 1 >/dev/null"
    for _ in range(3):  # the race needs the reader to close before the writer flushes: try a few times
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
        assert result.returncode in {0, 141}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["distill", "generate", "--rows", "-1", "--out", "x.csv"], "argument --rows: must be at least 1, got -1"),
        (["distill", "generate", "--rows", "100000000000", "--out", "x.csv"], "must be from 1 to 1,000,000"),
        (["distill", "run", "--generate", "--teacher-epochs", "100000000000000000000"], "must be from 1 to 1,000"),
    ],
    ids=["below-the-minimum", "rows-that-cannot-finish", "epochs-that-cannot-finish"],
)
def test_counts_say_their_real_range(args, message, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mlatlas", *args], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1 and list(tmp_path.iterdir()) == []
