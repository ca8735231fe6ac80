"""Every numeric option of the quick commands, over the whole float range (issue 17).

For any value hypothesis draws (tiny, huge, negative, zero, non-finite as text), a
command either exits 0 and prints valid, finite JSON, or exits 2 with exactly one
line on stderr and nothing on stdout. The commands run in this process through
:func:`mlatlas.cli.main`, as the ``mlatlas`` entry point runs them.
"""

from __future__ import annotations

import contextlib
import io
import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from mlatlas.cli import main

VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from(["1e308", "1e-308", "-0", "nan", "inf", "4e-324", "x"]),
).map(lambda v: v if isinstance(v, str) else repr(v))

COMMANDS = {
    "scaling optimal": lambda v: ["scaling", "optimal", "--compute", v[0]],
    "scaling loss": lambda v: ["scaling", "loss", "--params", v[0], "--tokens", v[1]],
    "scaling budget": lambda v: ["scaling", "budget", "--loss", v[0]],
    "export-check": lambda v: ["export-check", "--tflops", v[0], "--bits", "16", "--die-area", v[1],
                               "--interconnect", v[2]],  # fmt: skip
    "attention kv-cache": lambda v: ["attention", "kv-cache", "--seq-len", v[0], "--batch", v[1]],
}


def _finite(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


@settings(max_examples=60, deadline=None)
@given(command=st.sampled_from(sorted(COMMANDS)), values=st.lists(VALUES, min_size=3, max_size=3))
def test_a_numeric_option_gives_finite_json_or_one_line_and_exit_2(command: str, values: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([*COMMANDS[command](values), "--json"])
    if status == 0:
        assert _finite(json.loads(out.getvalue())) and err.getvalue() == ""
    else:
        assert status == 2 and out.getvalue() == ""
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mlatlas: error: "), err.getvalue()
